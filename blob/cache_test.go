package blob

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
)

// countingStore counts the reads that reach the remote store.
type countingStore struct {
	Store
	opens atomic.Int64
}

func (c *countingStore) Open(ctx context.Context, d string) (io.ReadCloser, error) {
	c.opens.Add(1)
	return c.Store.Open(ctx, d)
}

// remotes are the stores a cache can front: a directory standing in for a
// shared filesystem, and the real S3 server.
func remotes(t *testing.T) map[string]func(t *testing.T) Store {
	return map[string]func(t *testing.T) Store{
		"dir": func(t *testing.T) Store {
			d, err := NewDir(t.TempDir())
			if err != nil {
				t.Fatal(err)
			}
			return d
		},
		"s3": func(t *testing.T) Store {
			s, err := NewS3(context.Background(), testS3Config(t))
			if err != nil {
				t.Fatal(err)
			}
			return s
		},
	}
}

func TestCacheHitsEvictsAndRefetches(t *testing.T) {
	ctx := context.Background()
	for name, open := range remotes(t) {
		t.Run(name, func(t *testing.T) {
			remote := &countingStore{Store: open(t)}
			var blobs [][]byte
			var digests []string
			for i := range 4 {
				b := randomBytes(1000, uint64(10+i))
				d, err := PutBytes(ctx, remote, b)
				if err != nil {
					t.Fatal(err)
				}
				blobs, digests = append(blobs, b), append(digests, d)
			}
			dir := t.TempDir()
			c, err := NewCache(remote, dir, 2500) // room for two blobs
			if err != nil {
				t.Fatal(err)
			}
			read := func(i int) {
				t.Helper()
				got, err := ReadAll(ctx, c, digests[i])
				if err != nil || !bytes.Equal(got, blobs[i]) {
					t.Fatalf("blob %d: %v", i, err)
				}
			}
			read(0)
			read(0)
			if n := remote.opens.Load(); n != 1 {
				t.Fatalf("remote reads after a miss and a hit: %d, want 1", n)
			}
			read(1)
			read(0) // 0 is now more recently used than 1
			read(2) // evicts 1, the least recently used
			if !c.Contains(digests[0]) || c.Contains(digests[1]) || !c.Contains(digests[2]) {
				t.Fatalf("after eviction: 0=%v 1=%v 2=%v, want 0 and 2 kept",
					c.Contains(digests[0]), c.Contains(digests[1]), c.Contains(digests[2]))
			}
			if c.Size() > 2500 {
				t.Fatalf("cache holds %d bytes, bound 2500", c.Size())
			}
			if _, err := os.Stat(filepath.Join(dir, digests[1])); !os.IsNotExist(err) {
				t.Fatalf("evicted file still on disk: %v", err)
			}

			// A corrupted entry is noticed by its hash and fetched again.
			before := remote.opens.Load()
			if err := os.WriteFile(filepath.Join(dir, digests[0]), []byte("bit rot"), 0o600); err != nil {
				t.Fatal(err)
			}
			read(0)
			if remote.opens.Load() != before+1 {
				t.Fatal("corrupted entry was not fetched again")
			}
			b, _ := os.ReadFile(filepath.Join(dir, digests[0]))
			if !bytes.Equal(b, blobs[0]) {
				t.Fatal("cache file not repaired")
			}

			// A restart keeps the entries and their order of use.
			c2, err := NewCache(remote, dir, 2500)
			if err != nil {
				t.Fatal(err)
			}
			if !c2.Contains(digests[0]) || !c2.Contains(digests[2]) || c2.Size() != 2000 {
				t.Fatalf("reopened cache lost entries (size %d)", c2.Size())
			}
			// Delete drops the cached copy too.
			if err := c2.Delete(ctx, digests[2]); err != nil {
				t.Fatal(err)
			}
			if c2.Contains(digests[2]) {
				t.Fatal("deleted blob still cached")
			}
			if _, err := ReadAll(ctx, c2, digests[2]); err == nil {
				t.Fatal("deleted blob still readable")
			}
		})
	}
}

// Concurrent misses of one blob fetch it once.
func TestCacheConcurrentMisses(t *testing.T) {
	ctx := context.Background()
	d, _ := NewDir(t.TempDir())
	remote := &countingStore{Store: d}
	data := randomBytes(1<<20, 3)
	digest, err := PutBytes(ctx, remote, data)
	if err != nil {
		t.Fatal(err)
	}
	c, err := NewCache(remote, t.TempDir(), 8<<20)
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for range 8 {
		wg.Go(func() {
			got, err := ReadAll(ctx, c, digest)
			if err == nil && !bytes.Equal(got, data) {
				err = fmt.Errorf("wrong bytes")
			}
			errs <- err
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	if n := remote.opens.Load(); n != 1 {
		t.Fatalf("remote reads: %d, want 1", n)
	}
}

// A remote blob whose bytes do not match its digest is refused, not cached.
func TestCacheRefusesCorruptRemote(t *testing.T) {
	ctx := context.Background()
	d, _ := NewDir(t.TempDir())
	digest, _ := PutBytes(ctx, d, []byte("good"))
	os.WriteFile(d.path(digest), []byte("evil"), 0o600)
	c, err := NewCache(d, t.TempDir(), 1<<20)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ReadAll(ctx, c, digest); err == nil {
		t.Fatal("corrupt remote blob served")
	}
	if c.Contains(digest) || c.Size() != 0 {
		t.Fatal("corrupt remote blob cached")
	}
}
