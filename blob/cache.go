package blob

import (
	"container/list"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sync"
	"time"
)

// Cache is a read-through copy of a remote store on local disk, for
// workers: the hidden images of a dataset are read by every evaluation, so
// each worker fetches them once. Entries are files named by digest; the
// total size stays under a bound by evicting the least recently used. A
// cached file is checked against its digest on every open, and a corrupted
// one is fetched again. Writes and deletes go to the remote store (a
// deleted blob's cached copy is dropped too).
type Cache struct {
	remote Store
	dir    string
	max    int64

	mu    sync.Mutex
	lru   *list.List               // front: most recently used; values are *entry
	index map[string]*list.Element // digest → element
	size  int64
	fetch map[string]*fetching // downloads in progress, so concurrent misses fetch once
}

type entry struct {
	digest string
	size   int64
}

type fetching struct {
	done chan struct{}
	err  error
}

var _ Store = (*Cache)(nil)

// NewCache opens (or creates) the cache directory and indexes what an
// earlier run left there, oldest access first, evicting down to maxBytes.
func NewCache(remote Store, dir string, maxBytes int64) (*Cache, error) {
	if maxBytes <= 0 {
		return nil, fmt.Errorf("blob: cache size must be positive, got %d", maxBytes)
	}
	if err := os.MkdirAll(filepath.Join(dir, "tmp"), 0o750); err != nil {
		return nil, fmt.Errorf("blob: cache: %w", err)
	}
	// Leftovers of an interrupted fetch.
	if tmps, err := os.ReadDir(filepath.Join(dir, "tmp")); err == nil {
		for _, e := range tmps {
			os.Remove(filepath.Join(dir, "tmp", e.Name()))
		}
	}
	c := &Cache{remote: remote, dir: dir, max: maxBytes, lru: list.New(),
		index: map[string]*list.Element{}, fetch: map[string]*fetching{}}
	type found struct {
		entry
		at time.Time
	}
	var all []found
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("blob: cache: %w", err)
	}
	for _, e := range entries {
		if !ValidDigest(e.Name()) {
			continue
		}
		fi, err := e.Info()
		if err != nil || !fi.Mode().IsRegular() {
			continue
		}
		all = append(all, found{entry{e.Name(), fi.Size()}, fi.ModTime()})
	}
	// The modification time records the last use (touched on every hit).
	for len(all) > 0 {
		oldest := 0
		for i := range all {
			if all[i].at.Before(all[oldest].at) {
				oldest = i
			}
		}
		en := all[oldest].entry
		all = append(all[:oldest], all[oldest+1:]...)
		c.index[en.digest] = c.lru.PushFront(&en)
		c.size += en.size
	}
	c.mu.Lock()
	c.evictLocked("")
	c.mu.Unlock()
	return c, nil
}

// Put stores in the remote store; the bytes are cached on first read.
func (c *Cache) Put(ctx context.Context, r io.Reader, maxBytes int64) (string, int64, error) {
	return c.remote.Put(ctx, r, maxBytes)
}

// Stat asks the remote store: the cache may hold a blob deleted there.
func (c *Cache) Stat(ctx context.Context, digest string) (int64, error) {
	return c.remote.Stat(ctx, digest)
}

// List lists the remote store.
func (c *Cache) List(ctx context.Context, fn func(string, int64) error) error {
	return c.remote.List(ctx, fn)
}

// Delete removes the blob remotely and drops the cached copy.
func (c *Cache) Delete(ctx context.Context, digest string) error {
	if err := c.remote.Delete(ctx, digest); err != nil {
		return err
	}
	c.mu.Lock()
	c.dropLocked(digest)
	c.mu.Unlock()
	return nil
}

// Open returns the cached copy, fetching it first on a miss or when the
// cached file does not match its digest.
func (c *Cache) Open(ctx context.Context, digest string) (io.ReadCloser, error) {
	if err := checkDigest(digest); err != nil {
		return nil, err
	}
	for attempt := 0; ; attempt++ {
		if f, ok := c.hit(digest); ok {
			return f, nil
		}
		if attempt == 2 {
			return nil, fmt.Errorf("blob: cache: %s does not match its digest after fetching it again", digest)
		}
		if err := c.fill(ctx, digest); err != nil {
			return nil, err
		}
	}
}

// Contains reports whether digest is cached (for tests and metrics).
func (c *Cache) Contains(digest string) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	_, ok := c.index[digest]
	return ok
}

// Size is the bytes cached now.
func (c *Cache) Size() int64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.size
}

// hit opens and verifies a cached entry; a corrupted or vanished one is
// dropped so the caller fetches it again.
func (c *Cache) hit(digest string) (*os.File, bool) {
	c.mu.Lock()
	el, ok := c.index[digest]
	if ok {
		c.lru.MoveToFront(el)
	}
	c.mu.Unlock()
	if !ok {
		return nil, false
	}
	p := filepath.Join(c.dir, digest)
	f, err := os.Open(p)
	if err == nil {
		h := sha256.New()
		if _, err = io.Copy(h, f); err == nil && hex.EncodeToString(h.Sum(nil)) == digest {
			if _, err = f.Seek(0, io.SeekStart); err == nil {
				now := time.Now()
				os.Chtimes(p, now, now)
				return f, true
			}
		}
		f.Close()
	}
	c.mu.Lock()
	c.dropLocked(digest)
	c.mu.Unlock()
	return nil, false
}

// fill downloads digest into the cache; concurrent callers for one digest
// share a download.
func (c *Cache) fill(ctx context.Context, digest string) error {
	c.mu.Lock()
	if f, ok := c.fetch[digest]; ok {
		c.mu.Unlock()
		select {
		case <-f.done:
			return f.err
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	f := &fetching{done: make(chan struct{})}
	c.fetch[digest] = f
	c.mu.Unlock()

	f.err = c.download(ctx, digest)
	c.mu.Lock()
	delete(c.fetch, digest)
	c.mu.Unlock()
	close(f.done)
	return f.err
}

func (c *Cache) download(ctx context.Context, digest string) (err error) {
	rc, err := c.remote.Open(ctx, digest)
	if err != nil {
		return err
	}
	defer rc.Close()
	tmp, err := os.CreateTemp(filepath.Join(c.dir, "tmp"), "fetch-*")
	if err != nil {
		return fmt.Errorf("blob: cache: %w", err)
	}
	defer func() {
		if err != nil {
			tmp.Close()
			os.Remove(tmp.Name())
		}
	}()
	h := sha256.New()
	n, err := io.Copy(io.MultiWriter(tmp, h), rc)
	if err != nil {
		return fmt.Errorf("blob: fetch %s: %w", digest, err)
	}
	if got := hex.EncodeToString(h.Sum(nil)); got != digest {
		return fmt.Errorf("blob: %s is corrupted in the remote store (its bytes hash to %s)", digest, got)
	}
	if err = tmp.Close(); err != nil {
		return fmt.Errorf("blob: cache: %w", err)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if err = os.Rename(tmp.Name(), filepath.Join(c.dir, digest)); err != nil {
		return fmt.Errorf("blob: cache: %w", err)
	}
	if el, ok := c.index[digest]; ok {
		c.size -= el.Value.(*entry).size
		c.lru.Remove(el)
	}
	c.index[digest] = c.lru.PushFront(&entry{digest, n})
	c.size += n
	c.evictLocked(digest)
	return nil
}

// evictLocked removes least recently used entries until the cache fits,
// never keep (just fetched: a blob larger than the bound is still served
// once, then evicted by the next fill).
func (c *Cache) evictLocked(keep string) {
	for c.size > c.max {
		el := c.lru.Back()
		if el == nil {
			return
		}
		en := el.Value.(*entry)
		if en.digest == keep {
			if el = el.Prev(); el == nil {
				return
			}
			en = el.Value.(*entry)
		}
		c.dropLocked(en.digest)
	}
}

func (c *Cache) dropLocked(digest string) {
	el, ok := c.index[digest]
	if !ok {
		return
	}
	c.size -= el.Value.(*entry).size
	c.lru.Remove(el)
	delete(c.index, digest)
	// An open file stays readable after its name is removed.
	if err := os.Remove(filepath.Join(c.dir, digest)); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return
	}
}
