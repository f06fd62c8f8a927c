package blob

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"testing/iotest"
)

func TestPutOpenRoundTrip(t *testing.T) {
	d, err := NewDir(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	data := []byte("hello model")
	digest, n, err := d.Put(bytes.NewReader(data), 100)
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(data)
	if digest != hex.EncodeToString(sum[:]) || n != int64(len(data)) {
		t.Fatalf("got %s %d", digest, n)
	}
	got, err := d.ReadAll(digest)
	if err != nil || !bytes.Equal(got, data) {
		t.Fatalf("ReadAll = %q, %v", got, err)
	}
	if !d.Exists(digest) {
		t.Fatal("Exists = false")
	}
}

func TestPutLeavesNothingOnFailure(t *testing.T) {
	root := t.TempDir()
	d, err := NewDir(root)
	if err != nil {
		t.Fatal(err)
	}
	cases := map[string]struct {
		r   func() *bytes.Reader
		max int64
		err error
	}{
		"too large": {func() *bytes.Reader { return bytes.NewReader(make([]byte, 11)) }, 10, ErrTooLarge},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			_, _, err := d.Put(c.r(), c.max)
			if !errors.Is(err, c.err) {
				t.Fatalf("err = %v, want %v", err, c.err)
			}
		})
	}
	// A reader that dies halfway (a killed upload).
	_, _, err = d.Put(iotest.TimeoutReader(iotest.HalfReader(strings.NewReader(strings.Repeat("x", 64)))), 0)
	if err == nil {
		t.Fatal("want error from a broken reader")
	}
	var files []string
	filepath.WalkDir(root, func(p string, e os.DirEntry, _ error) error {
		if !e.IsDir() {
			files = append(files, p)
		}
		return nil
	})
	if len(files) != 0 {
		t.Fatalf("left behind: %v", files)
	}
}

func TestBadDigestAndCorruption(t *testing.T) {
	d, _ := NewDir(t.TempDir())
	if _, err := d.Open("../../etc/passwd"); err == nil {
		t.Fatal("path traversal digest accepted")
	}
	if _, err := d.Open(strings.Repeat("a", 64)); !errors.Is(err, ErrNotFound) {
		t.Fatalf("missing: %v", err)
	}
	digest, _ := d.PutBytes([]byte("abc"))
	os.WriteFile(d.path(digest), []byte("abd"), 0o600)
	if _, err := d.ReadAll(digest); err == nil || !strings.Contains(err.Error(), "corrupted") {
		t.Fatalf("corruption not detected: %v", err)
	}
}
