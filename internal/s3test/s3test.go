// Package s3test gives tests a real S3-compatible object store: SeaweedFS
// (`weed server -s3`, Apache-2.0), built from the Go module proxy by `make
// weed` into .cache/tools (tools/weed is its own module, so srarena's go.mod
// never sees SeaweedFS's dependencies). Never an in-memory fake.
//
// `make test` starts one server for the whole run (s3testd) and hands its
// URL to every test binary in SRARENA_TEST_S3_URL; a plain `go test` starts
// one per test binary on first use. Every Config call gets a fresh bucket,
// so tests never see each other's objects. Without the weed binary, tests
// skip, or fail under CI=true.
//
// Packages using it wrap their tests so the server is stopped at the end:
//
//	func TestMain(m *testing.M) { os.Exit(s3test.Main(m.Run)) }
package s3test

import (
	"context"
	"fmt"
	"os"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"
)

// EnvURL names the shared server's URL, set by s3testd.
const EnvURL = "SRARENA_TEST_S3_URL"

var (
	once     sync.Once
	setupErr error
	server   *Server
	baseURL  string
	counter  atomic.Int64
)

func setup() {
	if u := os.Getenv(EnvURL); u != "" {
		baseURL = u
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	server, setupErr = Start(ctx)
	if setupErr == nil {
		baseURL = server.URL
	}
}

// Bucket creates a fresh bucket, removed at the end of the test, and
// returns the server's URL and the bucket's name. The server takes
// AccessKey and SecretKey, and path-style addressing.
func Bucket(tb testing.TB) (endpoint, bucket string) {
	tb.Helper()
	once.Do(setup)
	if setupErr != nil {
		fail(tb, setupErr)
	}
	bucket = fmt.Sprintf("t-%d-%d", os.Getpid(), counter.Add(1))
	c, err := clientFor(baseURL)
	if err != nil {
		tb.Fatal(err)
	}
	ctx := context.Background()
	if err := c.MakeBucket(ctx, bucket, minio.MakeBucketOptions{}); err != nil {
		tb.Fatalf("s3test: create bucket: %v", err)
	}
	tb.Cleanup(func() { removeBucket(c, bucket) })
	return baseURL, bucket
}

// Client returns a raw S3 client of the test server, to look behind a
// store's back (list keys, incomplete uploads).
func Client(tb testing.TB) *minio.Client {
	tb.Helper()
	once.Do(setup)
	if setupErr != nil {
		fail(tb, setupErr)
	}
	c, err := clientFor(baseURL)
	if err != nil {
		tb.Fatal(err)
	}
	return c
}

// Objects lists every key in the bucket, and every multipart upload still
// in progress (as "upload:KEY").
func Objects(tb testing.TB, bucket string) []string {
	tb.Helper()
	c := Client(tb)
	ctx := context.Background()
	var out []string
	for oi := range c.ListObjects(ctx, bucket, minio.ListObjectsOptions{Recursive: true}) {
		if oi.Err != nil {
			tb.Fatalf("s3test: list: %v", oi.Err)
		}
		out = append(out, oi.Key)
	}
	for u := range c.ListIncompleteUploads(ctx, bucket, "", true) {
		if u.Err != nil {
			tb.Fatalf("s3test: list uploads: %v", u.Err)
		}
		out = append(out, "upload:"+u.Key)
	}
	return out
}

func removeBucket(c *minio.Client, bucket string) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for oi := range c.ListObjects(ctx, bucket, minio.ListObjectsOptions{Recursive: true}) {
		if oi.Err == nil {
			c.RemoveObject(ctx, bucket, oi.Key, minio.RemoveObjectOptions{})
		}
	}
	c.RemoveBucket(ctx, bucket)
}

func fail(tb testing.TB, err error) {
	tb.Helper()
	if os.Getenv("CI") == "true" {
		tb.Fatalf("s3test: %v (required under CI=true)", err)
	}
	tb.Skipf("s3test: %v; skipping", err)
}

// Main runs the tests (run is m.Run, or pgtest's Main around it) and stops
// the server, if this binary started one.
func Main(run func() int) int {
	code := run()
	if server != nil {
		server.Stop()
	}
	return code
}
