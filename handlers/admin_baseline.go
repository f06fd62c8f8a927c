package handlers

import (
	"context"
	"crypto/subtle"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"

	"github.com/go-chi/chi/v5"

	"github.com/srarena/srarena/blob"
	"github.com/srarena/srarena/domain"
)

// BaselineModels is what baseline uploads need besides the domain: the
// blob store, the model check, and the store's safe delete of a refused
// model's blob.
type BaselineModels struct {
	Blobs   Blobs
	Inspect InspectFunc
	Store   UploadStore
}

// maxBaselineBytes caps a baseline model upload.
const maxBaselineBytes = 512 << 20

// AddBaseline receives a baseline model. POST /admin/c/{slug}/baselines
// (multipart: csrf_token first, phase, label, model).
func (h *AdminPages) AddBaseline(w http.ResponseWriter, r *http.Request) error {
	return h.addBaseline(w, r, true)
}

// APIAddBaseline is the API's, for `srarena baseline add`.
// POST /api/v1/challenges/{slug}/baselines
func (h *AdminPages) APIAddBaseline(w http.ResponseWriter, r *http.Request) error {
	r.Header.Set("Accept", "application/json")
	return h.addBaseline(w, r, false)
}

func (h *AdminPages) addBaseline(w http.ResponseWriter, r *http.Request, csrf bool) error {
	ctx := r.Context()
	slug := chi.URLParam(r, "slug")
	v := viewer(r)
	if err := h.Domain.CheckOrganizer(ctx, v, slug); err != nil {
		return err
	}
	ci, err := h.Domain.Challenge(ctx, v, slug)
	if err != nil {
		return err
	}
	r.Body = http.MaxBytesReader(w, r.Body, maxBaselineBytes+1<<20)
	mr, err := r.MultipartReader()
	if err != nil {
		return Errorf(http.StatusBadRequest, "Send the baseline as a multipart/form-data form with a file field named “model”.")
	}
	want := VisitorFrom(ctx).CSRF
	first := csrf && r.Header.Get("X-CSRF-Token") == ""
	var b domain.Baseline
	for {
		p, err := mr.NextPart()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			h.dropModel(ctx, b.ModelSHA256)
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
		case "phase", "label":
			s, err := readField(p, 512)
			if err != nil {
				h.dropModel(ctx, b.ModelSHA256)
				return Errorf(http.StatusBadRequest, "The %s field is too long.", name)
			}
			if name == "phase" {
				b.Phase = strings.TrimSpace(s)
			} else {
				b.Label = s
			}
		case "model":
			if b.ModelSHA256 != "" {
				h.dropModel(ctx, b.ModelSHA256)
				return Errorf(http.StatusBadRequest, "Send one model per upload.")
			}
			if b.ModelSHA256, b.ModelBytes, err = h.Models.Blobs.Put(ctx, p, maxBaselineBytes); err != nil {
				return Errorf(http.StatusRequestEntityTooLarge, "The model could not be stored: %v", err)
			}
		}
	}
	refused := func(err error) error {
		h.dropModel(ctx, b.ModelSHA256)
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
	if b.ModelSHA256 == "" || b.ModelBytes == 0 {
		return refused(&domain.Error{Kind: domain.KindInvalid, Msg: "Choose an ONNX model file."})
	}
	data, err := blob.ReadAll(ctx, h.Models.Blobs, b.ModelSHA256)
	if err != nil {
		h.dropModel(ctx, b.ModelSHA256)
		return err
	}
	ins, err := h.Models.Inspect(data, ci.Scale)
	if err != nil {
		h.dropModel(ctx, b.ModelSHA256)
		return err
	}
	if !ins.Valid {
		return refused(&domain.Error{Kind: domain.KindInvalid, Msg: "The baseline model was refused: " + strings.Join(ins.Problems, "; ")})
	}
	b.Profile = ins.Profile
	id, err := h.Domain.AddBaseline(ctx, v, slug, b)
	if err != nil {
		return refused(err)
	}
	if wantsJSON(r) {
		return WriteJSON(w, http.StatusCreated, map[string]any{"id": id, "status": "queued", "phase": b.Phase, "label": b.Label})
	}
	SetFlash(w, r, fmt.Sprintf("Baseline queued for evaluation as submission %d.", id))
	SeeOther(w, r, "/admin/c/"+slug)
	return nil
}

// dropModel deletes a refused baseline's blob unless a submission uses
// the same model.
func (h *AdminPages) dropModel(ctx context.Context, digest string) {
	if digest == "" {
		return
	}
	ctx = context.WithoutCancel(ctx)
	if _, err := h.Models.Store.DeleteModelIfUnused(ctx, digest, func() error { return h.Models.Blobs.Delete(ctx, digest) }); err != nil {
		h.Log.Warn("dropping a refused baseline model", "digest", digest, "err", err)
	}
}
