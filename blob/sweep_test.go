package blob

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"
)

func TestSweepTemporaries(t *testing.T) {
	d, err := NewDir(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	tmp := filepath.Join(d.root, "tmp")
	old := time.Now().Add(-2 * TempMaxAge)
	for name, mtime := range map[string]time.Time{"put-old": old, "put-new": time.Now(), "other-old": old} {
		p := filepath.Join(tmp, name)
		if err := os.WriteFile(p, []byte("x"), 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.Chtimes(p, mtime, mtime); err != nil {
			t.Fatal(err)
		}
	}
	digest, err := PutBytes(context.Background(), d, []byte("kept"))
	if err != nil {
		t.Fatal(err)
	}
	n, err := d.SweepTemporaries(TempMaxAge)
	if err != nil || n != 1 {
		t.Fatalf("SweepTemporaries = %d, %v; want 1 removed", n, err)
	}
	for name, want := range map[string]bool{"put-old": false, "put-new": true, "other-old": true} {
		_, err := os.Stat(filepath.Join(tmp, name))
		if (err == nil) != want {
			t.Errorf("%s exists = %v, want %v", name, err == nil, want)
		}
	}
	if !Exists(context.Background(), d, digest) {
		t.Error("a stored blob was swept")
	}
}
