package handlers

import (
	"crypto/subtle"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"

	"github.com/go-chi/chi/v5"

	"github.com/srarena/srarena/domain"
)

// MaxDatasetArchive caps an uploaded dataset archive (larger sets go
// through `srarena dataset import`, which sends the same archive).
const MaxDatasetArchive = 4 << 30

// ImportDataset receives a dataset archive. POST /admin/c/{slug}/datasets
// (multipart: csrf_token first, then name, split, public, phase, and the
// archive last). The archive is spooled to a temporary file that is
// removed when the request ends; the domain checks it whole before it
// stores anything.
func (h *AdminPages) ImportDataset(w http.ResponseWriter, r *http.Request) error {
	return h.importDataset(w, r, true)
}

// APIImportDataset is the API's import, for `srarena dataset import`:
// token authentication, no CSRF part, the manifest as JSON.
// POST /api/v1/challenges/{slug}/datasets
func (h *AdminPages) APIImportDataset(w http.ResponseWriter, r *http.Request) error {
	r.Header.Set("Accept", "application/json")
	return h.importDataset(w, r, false)
}

func (h *AdminPages) importDataset(w http.ResponseWriter, r *http.Request, csrf bool) error {
	ctx := r.Context()
	slug := chi.URLParam(r, "slug")
	v := viewer(r)
	if err := h.Domain.CheckOrganizer(ctx, v, slug); err != nil {
		return err
	}
	r.Body = http.MaxBytesReader(w, r.Body, MaxDatasetArchive+1<<20)
	mr, err := r.MultipartReader()
	if err != nil {
		return Errorf(http.StatusBadRequest, "Send the dataset as a multipart/form-data form with a file field named “archive”.")
	}
	want := VisitorFrom(ctx).CSRF
	first := csrf && r.Header.Get("X-CSRF-Token") == ""
	var in domain.DatasetImport
	var tmp *os.File
	var size int64
	defer func() {
		if tmp != nil {
			tmp.Close()
			os.Remove(tmp.Name())
		}
	}()
	for {
		p, err := mr.NextPart()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return Errorf(http.StatusBadRequest, "The form could not be read: %v", err)
		}
		name := p.FormName()
		if first {
			first = false
			tok, _ := readField(p, 256)
			if name != "csrf_token" || want == "" || subtle.ConstantTimeCompare([]byte(tok), []byte(want)) != 1 {
				return &Error{Status: http.StatusForbidden, Msg: "The form was stale or forged (CSRF check failed). Reload the page and try again."}
			}
			continue
		}
		switch name {
		case "name", "split", "public", "hr_public", "phase":
			s, err := readField(p, 256)
			if err != nil {
				return Errorf(http.StatusBadRequest, "The %s field is too long.", name)
			}
			s = strings.TrimSpace(s)
			switch name {
			case "name":
				in.Name = s
			case "split":
				in.Split = s
			case "public":
				in.Public = s == "yes" || s == "true" || s == "1" || s == "on"
			case "hr_public":
				in.HRPublic = s == "yes" || s == "true" || s == "1" || s == "on"
			case "phase":
				in.Phase = s
			}
		case "archive":
			if tmp != nil {
				return Errorf(http.StatusBadRequest, "Send one archive per upload.")
			}
			if tmp, err = os.CreateTemp("", "srarena-dataset-*"); err != nil {
				return fmt.Errorf("dataset spool: %w", err)
			}
			if size, err = io.Copy(tmp, p); err != nil {
				var mbe *http.MaxBytesError
				if errors.As(err, &mbe) {
					return Errorf(http.StatusRequestEntityTooLarge, "The archive is larger than %s; import large sets with `srarena dataset import`.", fmtBytes(MaxDatasetArchive))
				}
				return Errorf(http.StatusBadRequest, "The archive could not be read: %v", err)
			}
		}
	}
	if tmp == nil || size == 0 {
		return h.datasetRefused(w, r, slug, &domain.Error{Kind: domain.KindInvalid, Msg: "Choose a zip or tar archive of PNG images."})
	}
	m, err := h.Domain.ImportDataset(ctx, v, slug, in, tmp, size)
	if err != nil {
		return h.datasetRefused(w, r, slug, err)
	}
	if wantsJSON(r) {
		return WriteJSON(w, http.StatusCreated, m)
	}
	gen := ""
	if len(m.Images) > 0 && m.Images[0].LRGenerated {
		gen = ", LR generated with MATLAB-compatible bicubic"
	}
	SetFlash(w, r, fmt.Sprintf("Dataset %s imported: %d images%s.", in.Name, len(m.Images), gen))
	SeeOther(w, r, "/admin/c/"+slug)
	return nil
}

func wantsJSON(r *http.Request) bool {
	return strings.Contains(r.Header.Get("Accept"), "application/json")
}

func (h *AdminPages) datasetRefused(w http.ResponseWriter, r *http.Request, slug string, err error) error {
	if !fixable(err) {
		return err
	}
	if wantsJSON(r) {
		return &Error{Status: domain.Status(err), Msg: domain.Message(err), Err: err}
	}
	SetFlash(w, r, "!"+domain.Message(err))
	SeeOther(w, r, "/admin/c/"+slug)
	return nil
}

// Manifest serves a dataset's manifest. GET /admin/c/{slug}/datasets/{name}/manifest.json
func (h *AdminPages) Manifest(w http.ResponseWriter, r *http.Request) error {
	m, err := h.Domain.DatasetManifest(r.Context(), viewer(r), chi.URLParam(r, "slug"), chi.URLParam(r, "name"))
	if err != nil {
		return err
	}
	w.Header().Set("Content-Type", "application/json")
	_, err = w.Write(m)
	return err
}
