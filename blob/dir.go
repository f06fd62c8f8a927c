package blob

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
)

// Dir stores blobs as files DIR/ab/abcdef… (sha256 hex); uploads in
// progress live in DIR/tmp.
type Dir struct{ root string }

var _ Store = (*Dir)(nil)

// NewDir creates the directory if needed.
func NewDir(root string) (*Dir, error) {
	if err := os.MkdirAll(filepath.Join(root, "tmp"), 0o750); err != nil {
		return nil, fmt.Errorf("blob: %w", err)
	}
	return &Dir{root: root}, nil
}

// Put streams r into a temporary file that is renamed into place only once
// complete and hashed.
func (d *Dir) Put(ctx context.Context, r io.Reader, maxBytes int64) (digest string, n int64, err error) {
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
	src := &capReader{r: r, max: maxBytes}
	n, err = io.Copy(io.MultiWriter(tmp, h), src)
	if errors.Is(err, ErrTooLarge) {
		return "", n, ErrTooLarge
	}
	if err != nil {
		return "", n, fmt.Errorf("blob: write: %w", err)
	}
	if err = ctx.Err(); err != nil {
		return "", n, err
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

// Open returns the blob's content. The caller closes it.
func (d *Dir) Open(_ context.Context, digest string) (io.ReadCloser, error) {
	if err := checkDigest(digest); err != nil {
		return nil, err
	}
	f, err := os.Open(d.path(digest))
	if errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("%w: %s", ErrNotFound, digest)
	}
	return f, err
}

// Stat returns the blob's size.
func (d *Dir) Stat(_ context.Context, digest string) (int64, error) {
	if err := checkDigest(digest); err != nil {
		return 0, err
	}
	fi, err := os.Stat(d.path(digest))
	if errors.Is(err, os.ErrNotExist) {
		return 0, fmt.Errorf("%w: %s", ErrNotFound, digest)
	}
	if err != nil {
		return 0, fmt.Errorf("blob: %w", err)
	}
	return fi.Size(), nil
}

// Delete removes a blob; deleting a missing blob is not an error.
func (d *Dir) Delete(_ context.Context, digest string) error {
	if err := checkDigest(digest); err != nil {
		return err
	}
	if err := os.Remove(d.path(digest)); err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("blob: %w", err)
	}
	return nil
}

// List walks the fan-out directories; files that are not digests (the tmp
// directory, strays) are skipped.
func (d *Dir) List(ctx context.Context, fn func(digest string, size int64) error) error {
	return filepath.WalkDir(d.root, func(p string, e fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if e.IsDir() {
			if p != d.root && (e.Name() == "tmp" || len(e.Name()) != 2) {
				return filepath.SkipDir
			}
			return ctx.Err()
		}
		name := e.Name()
		if !ValidDigest(name) || filepath.Base(filepath.Dir(p)) != name[:2] {
			return nil
		}
		fi, err := e.Info()
		if err != nil {
			return err
		}
		return fn(name, fi.Size())
	})
}

func (d *Dir) path(digest string) string {
	return filepath.Join(d.root, digest[:2], digest)
}
