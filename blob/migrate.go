package blob

import (
	"context"
	"errors"
	"fmt"
	"io"
)

// MigrateReport counts what Migrate did.
type MigrateReport struct {
	Copied   int   `json:"copied"`   // blobs copied to the destination
	Present  int   `json:"present"`  // blobs the destination had already
	Bytes    int64 `json:"bytes"`    // bytes copied
	Verified int   `json:"verified"` // destination blobs read back and found to match their digest
	// Failed lists digests that could not be copied or did not verify.
	Failed []string `json:"failed"`
}

// Migrate copies every blob of src into dst and then reads each one back
// from dst, checking its hash: a blob counts as migrated only once the
// destination is known to hold the right bytes. It continues past a failing
// blob and returns an error naming how many failed.
func Migrate(ctx context.Context, src, dst Store, progress func(digest string, err error)) (MigrateReport, error) {
	var rep MigrateReport
	if progress == nil {
		progress = func(string, error) {}
	}
	var digests []string
	if err := src.List(ctx, func(d string, _ int64) error { digests = append(digests, d); return nil }); err != nil {
		return rep, fmt.Errorf("list source: %w", err)
	}
	for _, d := range digests {
		err := migrateOne(ctx, src, dst, d, &rep)
		if err != nil {
			if ctx.Err() != nil {
				return rep, ctx.Err()
			}
			rep.Failed = append(rep.Failed, d)
		} else {
			rep.Verified++
		}
		progress(d, err)
	}
	if len(rep.Failed) > 0 {
		return rep, fmt.Errorf("%d of %d blobs failed to migrate", len(rep.Failed), len(digests))
	}
	return rep, nil
}

func migrateOne(ctx context.Context, src, dst Store, d string, rep *MigrateReport) error {
	srcSize, err := src.Stat(ctx, d)
	if err != nil {
		return err
	}
	dstSize, err := dst.Stat(ctx, d)
	switch {
	case err == nil && dstSize == srcSize:
		rep.Present++
	case err != nil && !errors.Is(err, ErrNotFound):
		return err
	default:
		rc, err := src.Open(ctx, d)
		if err != nil {
			return err
		}
		got, n, err := dst.Put(ctx, rc, 0)
		rc.Close()
		if err != nil {
			return err
		}
		if got != d {
			// The source file is corrupted: its bytes are not the blob.
			// They are stored under their own digest, which nothing uses.
			dst.Delete(ctx, got)
			return fmt.Errorf("source blob %s is corrupted (its bytes hash to %s)", d, got)
		}
		rep.Copied++
		rep.Bytes += n
	}
	// Read back: the destination must serve exactly the digest's bytes.
	rc, err := dst.Open(ctx, d)
	if err != nil {
		return err
	}
	defer rc.Close()
	return verify(rc, d)
}

func verify(r io.Reader, digest string) error {
	h := newHash()
	if _, err := io.Copy(h, r); err != nil {
		return fmt.Errorf("read back %s: %w", digest, err)
	}
	if got := hexSum(h); got != digest {
		return fmt.Errorf("%s reads back as %s", digest, got)
	}
	return nil
}
