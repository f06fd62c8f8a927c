// Package blob is srarena's content-addressed file store: models and dataset
// images are written once under their sha256 and read back by it. The local
// directory implementation suits one machine or a shared filesystem; the
// Store interface is what an S3 implementation would satisfy.
package blob

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
)

// ErrTooLarge is returned by Put when the stream exceeds the size cap. The
// partial file is removed before it returns.
var ErrTooLarge = errors.New("blob: too large")

// ErrNotFound is returned for an unknown digest.
var ErrNotFound = errors.New("blob: not found")

var digestRE = regexp.MustCompile(`^[0-9a-f]{64}$`)

// Dir stores blobs as files DIR/ab/abcdef… (sha256 hex).
type Dir struct{ root string }

// NewDir creates the directory if needed.
func NewDir(root string) (*Dir, error) {
	if err := os.MkdirAll(filepath.Join(root, "tmp"), 0o750); err != nil {
		return nil, fmt.Errorf("blob: %w", err)
	}
	return &Dir{root: root}, nil
}

// Put streams r into the store, hashing as it goes, and refuses more than
// maxBytes (0 = no cap). Nothing is left behind on error: the data goes to a
// temporary file that is renamed into place only once complete.
func (d *Dir) Put(r io.Reader, maxBytes int64) (digest string, n int64, err error) {
	tmp, err := os.CreateTemp(filepath.Join(d.root, "tmp"), "put-*")
	if err != nil {
		return "", 0, fmt.Errorf("blob: %w", err)
	}
	defer func() {
		if err != nil {
			tmp.Close()
			os.Remove(tmp.Name())
		}
	}()
	h := sha256.New()
	src := r
	if maxBytes > 0 {
		src = io.LimitReader(r, maxBytes+1)
	}
	n, err = io.Copy(io.MultiWriter(tmp, h), src)
	if err != nil {
		return "", n, fmt.Errorf("blob: write: %w", err)
	}
	if maxBytes > 0 && n > maxBytes {
		return "", n, ErrTooLarge
	}
	if err = tmp.Sync(); err != nil {
		return "", n, fmt.Errorf("blob: %w", err)
	}
	if err = tmp.Close(); err != nil {
		return "", n, fmt.Errorf("blob: %w", err)
	}
	digest = hex.EncodeToString(h.Sum(nil))
	final := d.path(digest)
	if err = os.MkdirAll(filepath.Dir(final), 0o750); err != nil {
		return "", n, fmt.Errorf("blob: %w", err)
	}
	if err = os.Rename(tmp.Name(), final); err != nil {
		return "", n, fmt.Errorf("blob: %w", err)
	}
	return digest, n, nil
}

// PutBytes stores b.
func (d *Dir) PutBytes(b []byte) (string, error) {
	digest, _, err := d.Put(bytesReader(b), 0)
	return digest, err
}

// Open returns the blob's content. The caller closes it.
func (d *Dir) Open(digest string) (io.ReadCloser, error) {
	if !digestRE.MatchString(digest) {
		return nil, fmt.Errorf("blob: bad digest %q", digest)
	}
	f, err := os.Open(d.path(digest))
	if errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("%w: %s", ErrNotFound, digest)
	}
	return f, err
}

// ReadAll returns the blob's content and checks it against its digest, so a
// corrupted file is never scored.
func (d *Dir) ReadAll(digest string) ([]byte, error) {
	rc, err := d.Open(digest)
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	b, err := io.ReadAll(rc)
	if err != nil {
		return nil, fmt.Errorf("blob: read %s: %w", digest, err)
	}
	if sum := sha256.Sum256(b); hex.EncodeToString(sum[:]) != digest {
		return nil, fmt.Errorf("blob: %s is corrupted on disk", digest)
	}
	return b, nil
}

// Delete removes a blob; deleting a missing blob is not an error.
func (d *Dir) Delete(digest string) error {
	if !digestRE.MatchString(digest) {
		return fmt.Errorf("blob: bad digest %q", digest)
	}
	if err := os.Remove(d.path(digest)); err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("blob: %w", err)
	}
	return nil
}

// Exists reports whether the blob is stored.
func (d *Dir) Exists(digest string) bool {
	if !digestRE.MatchString(digest) {
		return false
	}
	_, err := os.Stat(d.path(digest))
	return err == nil
}

func (d *Dir) path(digest string) string {
	return filepath.Join(d.root, digest[:2], digest)
}
