// Package blob is srarena's content-addressed file store: models, dataset
// images and other files are written once under their sha256 and read back
// by it. Two implementations satisfy Store: Dir, a local directory (one
// machine, or a shared filesystem), and S3, any S3-compatible object store
// (the web servers and workers of a fleet share nothing else but the
// database). Cache puts a bounded local copy in front of a remote store.
package blob

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"regexp"
)

// ErrTooLarge is returned by Put when the stream exceeds the size cap.
// Nothing is stored.
var ErrTooLarge = errors.New("blob: too large")

// ErrNotFound is returned for an unknown digest.
var ErrNotFound = errors.New("blob: not found")

// Store is a content-addressed blob store. Put never leaves a partial blob
// behind: on any error (a cut stream, the cap exceeded, the store failing)
// nothing is visible under any digest.
type Store interface {
	// Put streams r into the store, hashing as it goes, refuses more than
	// maxBytes (0: no cap) and returns the sha256 hex digest.
	Put(ctx context.Context, r io.Reader, maxBytes int64) (digest string, n int64, err error)
	// Open returns the blob's content (ErrNotFound if absent); the caller
	// closes it. The bytes are not verified: use ReadAll for that.
	Open(ctx context.Context, digest string) (io.ReadCloser, error)
	// Stat returns the blob's size, or ErrNotFound.
	Stat(ctx context.Context, digest string) (int64, error)
	// Delete removes a blob; deleting a missing blob is not an error.
	Delete(ctx context.Context, digest string) error
	// List calls fn for every stored blob, in no particular order.
	List(ctx context.Context, fn func(digest string, size int64) error) error
}

var digestRE = regexp.MustCompile(`^[0-9a-f]{64}$`)

// ValidDigest reports whether s is a lowercase sha256 hex digest, the only
// names a store accepts (so no digest can be a path or a key outside it).
func ValidDigest(s string) bool { return digestRE.MatchString(s) }

func checkDigest(digest string) error {
	if !ValidDigest(digest) {
		return fmt.Errorf("blob: bad digest %q", digest)
	}
	return nil
}

// PutBytes stores b and returns its digest.
func PutBytes(ctx context.Context, s Store, b []byte) (string, error) {
	digest, _, err := s.Put(ctx, bytes.NewReader(b), 0)
	return digest, err
}

// ReadAll returns the blob's content and checks it against its digest, so a
// corrupted blob is never scored.
func ReadAll(ctx context.Context, s Store, digest string) ([]byte, error) {
	rc, err := s.Open(ctx, digest)
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	b, err := io.ReadAll(rc)
	if err != nil {
		return nil, fmt.Errorf("blob: read %s: %w", digest, err)
	}
	if sum := sha256.Sum256(b); hex.EncodeToString(sum[:]) != digest {
		return nil, fmt.Errorf("blob: %s is corrupted in the store", digest)
	}
	return b, nil
}

// Exists reports whether the blob is stored. An error of the store counts
// as absent: callers use it to decide whether to store the bytes again,
// which is always safe.
func Exists(ctx context.Context, s Store, digest string) bool {
	_, err := s.Stat(ctx, digest)
	return err == nil
}

// capReader counts what it passes and fails once more than max bytes came
// through, so a store stops (and discards) an oversized stream early.
type capReader struct {
	r   io.Reader
	n   int64
	max int64 // 0: no cap
}

func (c *capReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	if c.max > 0 && c.n > c.max {
		return n, ErrTooLarge
	}
	return n, err
}

func newHash() hash.Hash { return sha256.New() }

func hexSum(h hash.Hash) string { return hex.EncodeToString(h.Sum(nil)) }
