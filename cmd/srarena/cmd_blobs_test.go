package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/srarena/srarena/blob"
	"github.com/srarena/srarena/internal/s3test"
)

// `srarena blobs migrate` copies DATA_DIR/blobs into the bucket, verifies
// every object and exits 1 naming a blob that cannot be migrated.
func TestBlobsMigrateCommand(t *testing.T) {
	endpoint, bucket := s3test.Bucket(t)
	t.Setenv("AWS_ACCESS_KEY_ID", s3test.AccessKey)
	t.Setenv("AWS_SECRET_ACCESS_KEY", s3test.SecretKey)
	ctx := context.Background()
	data := t.TempDir()
	local, err := blob.NewDir(filepath.Join(data, "blobs"))
	if err != nil {
		t.Fatal(err)
	}
	var digests []string
	for _, b := range []string{"model one", "image two", strings.Repeat("x", 6<<20)} {
		d, err := blob.PutBytes(ctx, local, []byte(b))
		if err != nil {
			t.Fatal(err)
		}
		digests = append(digests, d)
	}
	args := []string{"blobs", "migrate", "--json", "--data-dir", data, "--s3-endpoint", endpoint,
		"--s3-bucket", bucket, "--s3-path-style=true"}
	var out, errb bytes.Buffer
	if code := run(args, &out, &errb); code != 0 {
		t.Fatalf("exit %d: %s %s", code, out.String(), errb.String())
	}
	var rep struct {
		Copied, Verified int
		OK               bool
	}
	if err := json.Unmarshal(out.Bytes(), &rep); err != nil || rep.Copied != 3 || rep.Verified != 3 || !rep.OK {
		t.Fatalf("report %s (%v)", out.String(), err)
	}
	remote, err := blob.NewS3(ctx, blob.S3Config{Endpoint: endpoint, Bucket: bucket, PathStyle: true, Region: "us-east-1"})
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range digests {
		if _, err := blob.ReadAll(ctx, remote, d); err != nil {
			t.Fatalf("%s in S3: %v", d, err)
		}
	}

	// A corrupted local blob: exit 1, the digest named, nothing stored for it.
	if err := os.WriteFile(filepath.Join(data, "blobs", digests[0][:2], digests[0]), []byte("rotten"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := remote.Delete(ctx, digests[0]); err != nil {
		t.Fatal(err)
	}
	out.Reset()
	errb.Reset()
	if code := run(args[:2], &out, &errb); code != 2 {
		t.Fatalf("without a bucket: exit %d, want 2 (usage)", code)
	}
	out.Reset()
	errb.Reset()
	if code := run(args, &out, &errb); code != 1 || !strings.Contains(errb.String(), digests[0]) || !strings.Contains(errb.String(), "corrupted") {
		t.Fatalf("corrupt blob: exit %d, stderr %s", code, errb.String())
	}
	if blob.Exists(ctx, remote, digests[0]) {
		t.Fatal("corrupt blob reached S3")
	}
}
