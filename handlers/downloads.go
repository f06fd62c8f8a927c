package handlers

import (
	"archive/zip"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"path"
	"regexp"
	"strings"
	"time"

	"github.com/go-chi/chi/v5"

	"github.com/srarena/srarena/domain"
	"github.com/srarena/srarena/templates"
)

// DatasetBlobs is where dataset images are read from.
type DatasetBlobs interface {
	Open(ctx context.Context, digest string) (io.ReadCloser, error)
}

// Downloads serves a dataset's images as a zip archive, streamed: a
// participant may take the LR images of a public validation set, an
// organizer any set's LR and HR images (domain.DatasetDownload decides).
type Downloads struct {
	*Base
	Domain *domain.Service
	Blobs  DatasetBlobs
}

// LR serves the LR images. GET /c/{slug}/datasets/{name}/lr.zip and
// GET /api/v1/challenges/{slug}/datasets/{name}/lr.zip
func (h *Downloads) LR(w http.ResponseWriter, r *http.Request) error {
	return h.serve(w, r, domain.DownloadLR)
}

// HR serves the HR images (organizers only). GET /c/{slug}/datasets/{name}/hr.zip
// and GET /api/v1/challenges/{slug}/datasets/{name}/hr.zip
func (h *Downloads) HR(w http.ResponseWriter, r *http.Request) error {
	return h.serve(w, r, domain.DownloadHR)
}

var unsafeFileChars = regexp.MustCompile(`[^A-Za-z0-9_.-]+`)

// zipEpoch is every entry's modification time, so one dataset always
// zips to the same bytes.
var zipEpoch = time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC)

func (h *Downloads) serve(w http.ResponseWriter, r *http.Request, kind string) error {
	ctx := r.Context()
	files, err := h.Domain.DatasetDownload(ctx, viewer(r), chi.URLParam(r, "slug"), chi.URLParam(r, "name"), kind)
	if err != nil {
		return err
	}
	// Open the first image before answering, so a missing blob is still
	// an error page and not a broken archive.
	var first io.ReadCloser
	if len(files.Files) > 0 {
		if first, err = h.Blobs.Open(ctx, files.Files[0].Digest); err != nil {
			return fmt.Errorf("dataset %s: image %s: %w", files.Dataset.Name, files.Files[0].Name, err)
		}
	}
	dir := unsafeFileChars.ReplaceAllString(files.Dataset.Name, "_")
	sub := strings.ToUpper(kind)
	name := unsafeFileChars.ReplaceAllString(files.Challenge, "_") + "-" + dir + "-" + kind + ".zip"
	w.Header().Set("Content-Type", "application/zip")
	w.Header().Set("Content-Disposition", `attachment; filename="`+name+`"`)
	// Hidden data must not sit in a shared cache.
	w.Header().Set("Cache-Control", "private, no-store")
	zw := zip.NewWriter(w)
	for i, f := range files.Files {
		rc := first
		if i > 0 {
			if rc, err = h.Blobs.Open(ctx, f.Digest); err != nil {
				h.abort(ctx, files, f, err)
			}
		}
		// PNGs are compressed already: stored, not deflated, costs no CPU.
		ew, err := zw.CreateHeader(&zip.FileHeader{Name: dir + "/" + sub + "/" + path.Base(f.Name) + ".png", Method: zip.Store, Modified: zipEpoch})
		if err == nil {
			_, err = io.Copy(ew, rc)
		}
		rc.Close()
		if err != nil {
			h.abort(ctx, files, f, err)
		}
	}
	if err := zw.Close(); err != nil {
		h.abort(ctx, files, domain.DatasetFile{Name: "(end)"}, err)
	}
	return nil
}

// abort ends a download that failed after the archive began: the status
// is sent, so the connection is cut (the client sees a broken download
// rather than a short archive that looks whole) and the cause logged.
func (h *Downloads) abort(ctx context.Context, files domain.DatasetFiles, f domain.DatasetFile, err error) {
	if ctx.Err() == nil {
		h.Log.ErrorContext(ctx, "dataset download failed", "challenge", files.Challenge, "dataset", files.Dataset.Name,
			"kind", files.Kind, "image", f.Name, "error", err)
	}
	panic(http.ErrAbortHandler)
}

// downloadViews are the dataset archives the viewer may take, as links
// for the challenge page.
func downloadViews(ctx context.Context, d *domain.Service, vw domain.Viewer, ci domain.ChallengeInfo) ([]templates.DownloadView, error) {
	links, err := d.Downloads(ctx, vw, ci)
	if err != nil {
		return nil, err
	}
	var out []templates.DownloadView
	for _, l := range links {
		v := templates.DownloadView{Href: "/c/" + ci.Slug + "/datasets/" + url.PathEscape(l.Dataset.Name) + "/" + l.Kind + ".zip",
			Text: fmt.Sprintf("%s (%s split), %s images (zip)", l.Dataset.Name, l.Dataset.Split, strings.ToUpper(l.Kind))}
		switch {
		case l.Kind == domain.DownloadHR:
			v.Note = "organizers only: ground truth, never shown to participants"
		case !domain.ParticipantDownload(l.Dataset):
			v.Note = "organizers only: hidden from participants"
		default:
			v.Note = "public: every registered participant may download it"
		}
		out = append(out, v)
	}
	return out, nil
}
