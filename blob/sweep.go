package blob

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// TempMaxAge is how old an upload temporary must be before SweepTemporaries
// removes it: far longer than any upload of the largest allowed model.
const TempMaxAge = 6 * time.Hour

// SweepTemporaries removes the upload temporaries (tmp/put-*) older than
// maxAge: what a process killed in the middle of Put left behind. It
// returns how many it removed.
func (d *Dir) SweepTemporaries(maxAge time.Duration) (int, error) {
	dir := filepath.Join(d.root, "tmp")
	ents, err := os.ReadDir(dir)
	if err != nil {
		return 0, err
	}
	n := 0
	var errs []error
	for _, e := range ents {
		if !strings.HasPrefix(e.Name(), "put-") {
			continue
		}
		info, err := e.Info()
		if err != nil || !info.Mode().IsRegular() || time.Since(info.ModTime()) < maxAge {
			continue
		}
		if err := os.Remove(filepath.Join(dir, e.Name())); err != nil && !errors.Is(err, os.ErrNotExist) {
			errs = append(errs, err)
			continue
		}
		n++
	}
	return n, errors.Join(errs...)
}
