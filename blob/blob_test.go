package blob

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"testing/iotest"

	"github.com/minio/minio-go/v7"

	"github.com/srarena/srarena/internal/s3test"
)

func TestMain(m *testing.M) { os.Exit(s3test.Main(m.Run)) }

// testS3Config is a fresh bucket of the test server, with the smallest part
// size S3 allows (5 MiB) so multipart uploads happen at test sizes.
func testS3Config(t *testing.T) S3Config {
	url, bucket := s3test.Bucket(t)
	return S3Config{Endpoint: url, Bucket: bucket, Region: "us-east-1", PathStyle: true,
		AccessKey: s3test.AccessKey, SecretKey: s3test.SecretKey, PartSize: 5 << 20}
}

// backend is a store under test and a way to see everything it holds,
// temporaries included, behind its back.
type backend struct {
	store Store
	// leftovers lists every file or object and every multipart upload in
	// progress, whatever its name.
	leftovers func(t *testing.T) []string
	// corrupt overwrites the stored bytes of digest.
	corrupt func(t *testing.T, digest string, b []byte)
}

func backends(t *testing.T) map[string]func(t *testing.T) backend {
	return map[string]func(t *testing.T) backend{
		"dir": func(t *testing.T) backend {
			root := t.TempDir()
			d, err := NewDir(root)
			if err != nil {
				t.Fatal(err)
			}
			return backend{store: d,
				leftovers: func(t *testing.T) []string {
					var files []string
					filepath.WalkDir(root, func(p string, e os.DirEntry, _ error) error {
						if !e.IsDir() {
							files = append(files, p)
						}
						return nil
					})
					return files
				},
				corrupt: func(t *testing.T, digest string, b []byte) {
					if err := os.WriteFile(d.path(digest), b, 0o600); err != nil {
						t.Fatal(err)
					}
				},
			}
		},
		"s3": func(t *testing.T) backend {
			cfg := testS3Config(t)
			s, err := NewS3(context.Background(), cfg)
			if err != nil {
				t.Fatal(err)
			}
			return backend{store: s,
				leftovers: func(t *testing.T) []string { return s3test.Objects(t, cfg.Bucket) },
				corrupt: func(t *testing.T, digest string, b []byte) {
					_, err := s3test.Client(t).PutObject(context.Background(), cfg.Bucket, s.key(digest),
						bytes.NewReader(b), int64(len(b)), minio.PutObjectOptions{})
					if err != nil {
						t.Fatal(err)
					}
				},
			}
		},
	}
}

func sha(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

func randomBytes(n int, seed uint64) []byte {
	var key [32]byte
	key[0] = byte(seed)
	b := make([]byte, n)
	rand.NewChaCha8(key).Read(b)
	return b
}

// cutReader yields n bytes of data and then fails, as a request body does
// when the client goes away mid-upload.
func cutReader(data []byte, n int) io.Reader {
	return io.MultiReader(bytes.NewReader(data[:n]), iotest.ErrReader(io.ErrUnexpectedEOF))
}

func TestStore(t *testing.T) {
	ctx := context.Background()
	small := []byte("hello model")
	// Larger than two 5 MiB parts: a multipart upload on S3.
	large := randomBytes(11<<20+123, 1)
	for name, open := range backends(t) {
		t.Run(name, func(t *testing.T) {
			b := open(t)
			s := b.store
			for _, data := range [][]byte{small, large} {
				digest, n, err := s.Put(ctx, bytes.NewReader(data), int64(len(data)))
				if err != nil {
					t.Fatal(err)
				}
				if digest != sha(data) || n != int64(len(data)) {
					t.Fatalf("Put = %s %d, want %s %d", digest, n, sha(data), len(data))
				}
				got, err := ReadAll(ctx, s, digest)
				if err != nil || !bytes.Equal(got, data) {
					t.Fatalf("ReadAll: %d bytes, %v", len(got), err)
				}
				if size, err := s.Stat(ctx, digest); err != nil || size != int64(len(data)) {
					t.Fatalf("Stat = %d, %v", size, err)
				}
				// Storing the same bytes again is a no-op with the same digest.
				if again, _, err := s.Put(ctx, bytes.NewReader(data), 0); err != nil || again != digest {
					t.Fatalf("second Put = %s, %v", again, err)
				}
			}
			var listed []string
			if err := s.List(ctx, func(d string, _ int64) error { listed = append(listed, d); return nil }); err != nil {
				t.Fatal(err)
			}
			slices.Sort(listed)
			want := []string{sha(small), sha(large)}
			slices.Sort(want)
			if !slices.Equal(listed, want) {
				t.Fatalf("List = %v, want %v", listed, want)
			}
			// Exactly the two blobs: no temporary object or upload survives.
			if left := b.leftovers(t); len(left) != 2 {
				t.Fatalf("store holds %v, want the 2 blobs only", left)
			}
			if err := s.Delete(ctx, sha(large)); err != nil {
				t.Fatal(err)
			}
			if err := s.Delete(ctx, sha(large)); err != nil {
				t.Fatalf("deleting a missing blob: %v", err)
			}
			if _, err := s.Stat(ctx, sha(large)); !errors.Is(err, ErrNotFound) {
				t.Fatalf("Stat after Delete: %v", err)
			}
			if _, err := s.Open(ctx, sha(large)); !errors.Is(err, ErrNotFound) {
				t.Fatalf("Open after Delete: %v", err)
			}
			if Exists(ctx, s, sha(large)) || !Exists(ctx, s, sha(small)) {
				t.Fatal("Exists disagrees with Delete")
			}
		})
	}
}

// A failed upload leaves nothing at all: no blob, no temporary file or
// object, no multipart upload in progress.
func TestPutLeavesNothingOnFailure(t *testing.T) {
	ctx := context.Background()
	data := randomBytes(12<<20, 2)
	cases := []struct {
		name string
		r    func() io.Reader
		max  int64
		want error
	}{
		{"too large, small", func() io.Reader { return bytes.NewReader(data[:11]) }, 10, ErrTooLarge},
		{"too large, after two parts", func() io.Reader { return bytes.NewReader(data) }, 11 << 20, ErrTooLarge},
		{"cut within the first part", func() io.Reader { return cutReader(data, 1000) }, 0, io.ErrUnexpectedEOF},
		{"cut after the first part", func() io.Reader { return cutReader(data, 7<<20) }, 0, io.ErrUnexpectedEOF},
		{"cut after two parts", func() io.Reader { return cutReader(data, 10<<20+5) }, 0, io.ErrUnexpectedEOF},
		{"broken reader", func() io.Reader {
			return iotest.TimeoutReader(iotest.HalfReader(strings.NewReader(strings.Repeat("x", 64))))
		}, 0, iotest.ErrTimeout},
	}
	for name, open := range backends(t) {
		t.Run(name, func(t *testing.T) {
			b := open(t)
			for _, c := range cases {
				_, _, err := b.store.Put(ctx, c.r(), c.max)
				if !errors.Is(err, c.want) {
					t.Fatalf("%s: err = %v, want %v", c.name, err, c.want)
				}
				if left := b.leftovers(t); len(left) != 0 {
					t.Fatalf("%s: left behind %v", c.name, left)
				}
			}
			// A cancelled context (the request gone) also stores nothing.
			cctx, cancel := context.WithCancel(ctx)
			r := io.MultiReader(bytes.NewReader(data[:6<<20]), readerFunc(func([]byte) (int, error) {
				cancel()
				return 0, cctx.Err()
			}))
			if _, _, err := b.store.Put(cctx, r, 0); err == nil {
				t.Fatal("Put with a cancelled context succeeded")
			}
			if left := b.leftovers(t); len(left) != 0 {
				t.Fatalf("cancelled: left behind %v", left)
			}
		})
	}
}

type readerFunc func([]byte) (int, error)

func (f readerFunc) Read(p []byte) (int, error) { return f(p) }

func TestBadDigestAndCorruption(t *testing.T) {
	ctx := context.Background()
	for name, open := range backends(t) {
		t.Run(name, func(t *testing.T) {
			b := open(t)
			s := b.store
			for _, bad := range []string{"../../etc/passwd", strings.Repeat("A", 64), "", strings.Repeat("a", 63) + "/"} {
				if _, err := s.Open(ctx, bad); err == nil || errors.Is(err, ErrNotFound) {
					t.Fatalf("Open(%q) = %v, want a bad-digest error", bad, err)
				}
				if err := s.Delete(ctx, bad); err == nil {
					t.Fatalf("Delete(%q) accepted", bad)
				}
			}
			if _, err := s.Open(ctx, strings.Repeat("a", 64)); !errors.Is(err, ErrNotFound) {
				t.Fatalf("missing: %v", err)
			}
			digest, err := PutBytes(ctx, s, []byte("abc"))
			if err != nil {
				t.Fatal(err)
			}
			b.corrupt(t, digest, []byte("abd"))
			if _, err := ReadAll(ctx, s, digest); err == nil || !strings.Contains(err.Error(), "corrupted") {
				t.Fatalf("corruption not detected: %v", err)
			}
		})
	}
}

func TestNewS3Config(t *testing.T) {
	ctx := context.Background()
	cfg := testS3Config(t)
	bad := []struct {
		name string
		edit func(c *S3Config)
		want string
	}{
		{"no bucket", func(c *S3Config) { c.Bucket = "" }, "bucket not set"},
		{"endpoint with path", func(c *S3Config) { c.Endpoint += "/x" }, "want http(s)://HOST[:PORT]"},
		{"endpoint scheme", func(c *S3Config) { c.Endpoint = "ftp://h" }, "want http(s)"},
		{"tiny parts", func(c *S3Config) { c.PartSize = 1 << 20 }, "minimum of 5 MiB"},
		{"missing bucket", func(c *S3Config) { c.Bucket = "no-such-bucket-here" }, "does not exist"},
		{"wrong secret", func(c *S3Config) { c.SecretKey = "nope" }, "bucket"},
	}
	for _, c := range bad {
		cc := cfg
		c.edit(&cc)
		if _, err := NewS3(ctx, cc); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: err = %v, want %q", c.name, err, c.want)
		}
	}
	// CreateBucket makes it; a prefix keeps two deployments apart.
	cc := cfg
	cc.Bucket += "-made"
	cc.CreateBucket = true
	cc.Prefix = "/site-a/"
	a, err := NewS3(ctx, cc)
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		c := s3test.Client(t)
		for oi := range c.ListObjects(ctx, cc.Bucket, minio.ListObjectsOptions{Recursive: true}) {
			c.RemoveObject(ctx, cc.Bucket, oi.Key, minio.RemoveObjectOptions{})
		}
		c.RemoveBucket(ctx, cc.Bucket)
	}()
	cc.Prefix = "site-b"
	b, err := NewS3(ctx, cc)
	if err != nil {
		t.Fatal(err)
	}
	d, err := PutBytes(ctx, a, []byte("only in a"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := b.Stat(ctx, d); !errors.Is(err, ErrNotFound) {
		t.Fatalf("prefix b sees a's blob: %v", err)
	}
	if got := s3test.Objects(t, cc.Bucket); !slices.Equal(got, []string{"site-a/sha256/" + d}) {
		t.Fatalf("keys = %v", got)
	}
}

// The S3 client takes credentials from the environment when none are
// configured, as AWS tools do.
func TestS3CredentialsFromEnv(t *testing.T) {
	cfg := testS3Config(t)
	cfg.AccessKey, cfg.SecretKey = "", ""
	t.Setenv("AWS_ACCESS_KEY_ID", s3test.AccessKey)
	t.Setenv("AWS_SECRET_ACCESS_KEY", s3test.SecretKey)
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", filepath.Join(t.TempDir(), "none"))
	s, err := NewS3(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := PutBytes(context.Background(), s, []byte("x")); err != nil {
		t.Fatal(err)
	}
	// And from the shared credentials file with a profile.
	t.Setenv("AWS_ACCESS_KEY_ID", "")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "")
	f := filepath.Join(t.TempDir(), "credentials")
	os.WriteFile(f, []byte("[default]\naws_access_key_id = wrong\naws_secret_access_key = wrong\n\n[arena]\naws_access_key_id = "+
		s3test.AccessKey+"\naws_secret_access_key = "+s3test.SecretKey+"\n"), 0o600)
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", f)
	t.Setenv("AWS_PROFILE", "arena")
	if _, err := NewS3(context.Background(), cfg); err != nil {
		t.Fatalf("profile arena: %v", err)
	}
}
