package handlers

import (
	"context"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/go-chi/chi/v5"

	"github.com/srarena/srarena/blob"
	"github.com/srarena/srarena/domain"
	"github.com/srarena/srarena/ratelimit"
	"github.com/srarena/srarena/templates"
)

// Inspection is the verdict of the static model check.
type Inspection struct {
	Valid    bool
	Problems []string
	Profile  json.RawMessage // JSON of the complexity profile; nil when invalid
}

// InspectFunc checks an uploaded model for a ×scale challenge. Invalid models
// are an Inspection with Valid false; the error is for failures of the check
// itself.
type InspectFunc func(data []byte, scale int) (Inspection, error)

// Blobs is where uploaded models go.
type Blobs interface {
	blob.Store
}

// UploadStore is the part of the store uploads use.
type UploadStore interface {
	DeleteModelIfUnused(ctx context.Context, digest string, del func() error) (bool, error)
}

// Upload accepts model uploads: it streams and checks the file; whether
// and where the team may submit is the domain's (CheckSubmit, Submit).
type Upload struct {
	*Base
	Domain  *domain.Service
	Store   UploadStore
	Blobs   Blobs
	Inspect InspectFunc
	// Rejects counts each user's refused uploads (UploadRejectsPerHour);
	// nil means no limit. In PostgreSQL, across processes. An upload counts
	// from before its body is read, and the count is taken back only if it
	// succeeds (or found the server too busy to try), so parallel uploads
	// cannot all slip under the limit, and an upload that makes the server
	// fail (500) cannot be repeated without limit.
	Rejects *ratelimit.Window
	// Slots bounds concurrent model reads and inspections
	// (UploadInspections); nil means no bound.
	Slots *UploadSlots
	// InFlight bounds each user's uploads in progress
	// (UploadsInFlightPerUser); nil means no bound.
	InFlight *InFlight
}

// NewRejectLimit returns the per-user limit on refused uploads for Upload.
func NewRejectLimit(st ratelimit.Store, perHour int, now func() time.Time) *ratelimit.Window {
	return ratelimit.New(st, "upload_reject", perHour, UploadRejectWindow, now)
}

// maxLabel caps a submission's label, in characters.
const maxLabel = 100

// multipartSlack is what the non-file fields and multipart framing may add to
// the body beyond the model itself.
const multipartSlack = 64 << 10

// Upload errors the parser returns; Create maps them to statuses and words.
var (
	errCSRFFirst   = errors.New("upload: csrf_token must be the first form field")
	errCSRF        = errors.New("upload: wrong csrf token")
	errNoFile      = errors.New("upload: no model file")
	errEmptyFile   = errors.New("upload: empty model file")
	errLabel       = errors.New("upload: label too long")
	errTwoFiles    = errors.New("upload: more than one model file")
	errFieldLarge  = errors.New("upload: form field too large")
	errDataRange   = errors.New("upload: data_range must be 1 or 255")
	errMethod      = errors.New("upload: method name too long")
	errDescription = errors.New("upload: description too long")
	errBadBytes    = errors.New("upload: a form field holds a NUL byte or invalid UTF-8")
)

// parseDataRange accepts exactly the values the form offers.
func parseDataRange(s string) (float32, bool) {
	switch strings.TrimSpace(s) {
	case "1":
		return 1, true
	case "255":
		return 255, true
	}
	return 0, false
}

// uploadForm is what readUpload got from the body.
type uploadForm struct {
	Phase       string
	MethodName  string
	Description string
	Label       string
	DataRange   float32 // 1 unless the form said 255
	Digest      string  // "" when no file was stored
	Size        int64
}

// readUpload streams a multipart upload. The CSRF token must come first (the
// form puts it first), so nothing is stored for a forged request; a nil
// checkCSRF (an API request with a token) expects no CSRF part; the
// "model" part streams into put without being buffered. On error, a stored
// file's digest is still returned so the caller can delete it.
//
// The challenge page's form sends csrf_token, label, data_range, model, in
// that order, so a bad data_range is refused before any byte of the model is
// stored. Other clients may send label and data_range after the file: they
// are still read and checked, and a refusal then deletes the stored file.
func readUpload(mr *multipart.Reader, checkCSRF func(string) bool, put func(io.Reader) (string, int64, error)) (uploadForm, error) {
	f := uploadForm{DataRange: 1}
	first := checkCSRF != nil // a token request has no csrf_token part
	for {
		p, err := mr.NextPart()
		if err == io.EOF {
			break
		}
		if err != nil {
			return f, fmt.Errorf("upload: read form: %w", err)
		}
		name := p.FormName()
		if first {
			first = false
			if name != "csrf_token" {
				return f, errCSRFFirst
			}
			tok, err := readField(p, 256)
			if err != nil {
				return f, err
			}
			if !checkCSRF(tok) {
				return f, errCSRF
			}
			continue
		}
		switch name {
		case "phase":
			s, err := readField(p, 64)
			if err != nil {
				return f, err
			}
			f.Phase = strings.TrimSpace(s)
		case "method_name":
			s, err := readField(p, 4*domain.MaxMethodName)
			if err != nil {
				return f, errMethod
			}
			f.MethodName = s
		case "description":
			s, err := readField(p, 4*domain.MaxDescription)
			if err != nil {
				return f, errDescription
			}
			f.Description = s
		case "label":
			s, err := readField(p, 4*maxLabel)
			if err != nil {
				return f, err
			}
			s = strings.TrimSpace(s)
			if !utf8.ValidString(s) || strings.IndexByte(s, 0) >= 0 {
				return f, errBadBytes
			}
			if utf8.RuneCountInString(s) > maxLabel {
				return f, errLabel
			}
			f.Label = s
		case "data_range":
			s, err := readField(p, 16)
			if err != nil {
				return f, errDataRange
			}
			dr, ok := parseDataRange(s)
			if !ok {
				return f, errDataRange
			}
			f.DataRange = dr
		case "model":
			if f.Digest != "" {
				return f, errTwoFiles
			}
			digest, n, err := put(p)
			if err != nil {
				return f, err
			}
			f.Digest, f.Size = digest, n
		default:
			// Unknown fields are skipped; the body's byte cap bounds them.
			if _, err := io.Copy(io.Discard, p); err != nil {
				return f, fmt.Errorf("upload: read form: %w", err)
			}
		}
	}
	if first {
		return f, errCSRFFirst
	}
	if f.Digest == "" {
		return f, errNoFile
	}
	if f.Size == 0 {
		return f, errEmptyFile
	}
	return f, nil
}

func readField(r io.Reader, max int64) (string, error) {
	b, err := io.ReadAll(io.LimitReader(r, max+1))
	if err != nil {
		return "", fmt.Errorf("upload: read form: %w", err)
	}
	if int64(len(b)) > max {
		return "", errFieldLarge
	}
	return string(b), nil
}

// Refusal is an upload the platform refused, with the status and words
// the participant gets; Problems lists what the model check found. Create
// renders it into the challenge page, the API as JSON.
type Refusal struct {
	Status   int
	Msg      string
	Problems []string
	Cause    error // a domain error, when the domain layer refused
}

func (r *Refusal) Error() string { return fmt.Sprintf("upload refused (%d): %s", r.Status, r.Msg) }

// received is what receive made of an upload, whatever its outcome: the
// form's values for re-rendering, the phase it went to.
type received struct {
	Form   uploadForm
	Target domain.Target
}

// receive is the upload pipeline that the page (Create) and the API share:
// the refused-upload limit, the domain's checks before the body is read,
// at most a few uploads per user, the streamed body into the blob store,
// the form's checks, an inspection slot, the model check, and the domain's
// Submit. A refusal is a *Refusal (nothing stored, nothing charged); other
// errors are the server's. checkCSRF is nil for token requests, which
// carry no CSRF token.
func (h *Upload) receive(w http.ResponseWriter, r *http.Request, vw domain.Viewer, slug string, checkCSRF func(string) bool) (int64, received, error) {
	ctx := r.Context()
	var got received
	userKey := strconv.FormatInt(vw.UserID, 10)
	// Once the body is read, the upload counts as a refused one unless it
	// succeeds or finds every inspection slot busy. A server failure (500)
	// counts too: otherwise a model that makes the check fail could be sent
	// again and again.
	var counted *ratelimit.Event
	uncount := func() {
		if counted != nil {
			if err := h.Rejects.Remove(context.WithoutCancel(ctx), *counted); err != nil {
				h.Log.ErrorContext(ctx, "upload: take back reject count", "error", err)
			}
			counted = nil
		}
	}
	refuse := func(status int, msg string, problems []string) error {
		// The client may still be sending; tell it not to reuse the
		// connection rather than read the rest of a big body.
		w.Header().Set("Connection", "close")
		return &Refusal{Status: status, Msg: msg, Problems: problems}
	}
	refuseDomain := func(err error) error {
		if domain.KindOf(err) == domain.KindInternal {
			return err
		}
		w.Header().Set("Connection", "close")
		return &Refusal{Status: domain.Status(err), Msg: domain.Message(err), Cause: err}
	}
	blocked, wait, err := h.Rejects.Blocked(ctx, userKey)
	if err != nil {
		return 0, got, err
	}
	if blocked {
		return 0, got, refuse(http.StatusTooManyRequests, fmt.Sprintf(
			"Too many refused uploads in the last hour (%d); try again in %d minutes. Check your model locally before uploading again.",
			h.Rejects.Limit, minutesLeft(wait)), nil)
	}
	target, err := h.Domain.CheckSubmit(ctx, vw, slug, r.URL.Query().Get("phase"))
	got.Target = target
	if err != nil {
		return 0, got, refuseDomain(err)
	}
	c := target.Challenge

	// At most a few uploads per user at once, counted before the body is
	// read; and this one counts against the reject limit from now on.
	leave, ok, err := h.InFlight.admit(ctx, userKey)
	if err != nil {
		return 0, got, err
	}
	if !ok {
		return 0, got, refuse(http.StatusTooManyRequests, fmt.Sprintf(
			"You have %d uploads in progress already; wait for them to finish, then upload again.", h.InFlight.limit), nil)
	}
	defer leave()
	ev, err := h.Rejects.Add(ctx, userKey)
	if err != nil {
		return 0, got, err
	}
	counted = &ev

	r.Body = http.MaxBytesReader(w, r.Body, c.MaxUploadBytes+multipartSlack)
	mr, err := r.MultipartReader()
	if err != nil {
		return 0, got, refuse(http.StatusBadRequest, "The upload must be sent as a multipart/form-data form with a file field named “model”.", nil)
	}
	f, err := readUpload(mr, checkCSRF,
		func(r io.Reader) (string, int64, error) { return h.Blobs.Put(ctx, r, c.MaxUploadBytes) })
	got.Form = f
	if err != nil {
		h.discard(ctx, f.Digest)
		var mbe *http.MaxBytesError
		switch {
		case errors.Is(err, errCSRF), errors.Is(err, errCSRFFirst):
			return 0, got, &Error{Status: http.StatusForbidden, Msg: "The form was stale or forged (CSRF check failed). Reload the page and try again.", Err: err}
		case errors.Is(err, blob.ErrTooLarge), errors.As(err, &mbe):
			return 0, got, refuse(http.StatusRequestEntityTooLarge,
				fmt.Sprintf("The file is larger than this challenge's limit of %s.", fmtBytes(c.MaxUploadBytes)), nil)
		case errors.Is(err, errNoFile):
			return 0, got, refuse(http.StatusUnprocessableEntity, "Choose an ONNX model file to upload.", nil)
		case errors.Is(err, errEmptyFile):
			return 0, got, refuse(http.StatusUnprocessableEntity, "The file is empty (0 bytes). Choose the exported .onnx model.", nil)
		case errors.Is(err, errDataRange):
			return 0, got, refuse(http.StatusUnprocessableEntity,
				"Choose the pixel range your model expects and produces: [0,1] (value 1) or [0,255] (value 255).", nil)
		case errors.Is(err, errLabel):
			return 0, got, refuse(http.StatusUnprocessableEntity, fmt.Sprintf("The label is longer than %d characters.", maxLabel), nil)
		case errors.Is(err, errBadBytes):
			return 0, got, refuse(http.StatusBadRequest, "The label holds a NUL byte or invalid UTF-8; remove it and upload again.", nil)
		case errors.Is(err, errMethod):
			return 0, got, refuse(http.StatusUnprocessableEntity, fmt.Sprintf("The method name is longer than %d characters.", domain.MaxMethodName), nil)
		case errors.Is(err, errDescription):
			return 0, got, refuse(http.StatusUnprocessableEntity, fmt.Sprintf("The description is longer than %d characters.", domain.MaxDescription), nil)
		case errors.Is(err, errTwoFiles), errors.Is(err, errFieldLarge):
			return 0, got, refuse(http.StatusBadRequest, "The form is malformed: "+strings.TrimPrefix(err.Error(), "upload: ")+".", nil)
		default:
			return 0, got, refuse(http.StatusBadRequest, "The upload was cut off or malformed; please try again.", nil)
		}
	}
	if f.Phase != "" && f.Phase != target.Phase.Name {
		if target, err = h.Domain.CheckSubmit(ctx, vw, slug, f.Phase); err != nil {
			h.discard(ctx, f.Digest)
			return 0, got, refuseDomain(err)
		}
		got.Target = target
	}
	if _, _, _, err := domain.ValidateText(f.Label, f.MethodName, f.Description); err != nil {
		h.discard(ctx, f.Digest)
		return 0, got, refuseDomain(err)
	}

	// The model is read into memory and parsed: only a few at once. The
	// slot is held until the bytes are no longer needed (the submission's
	// transaction may store them again).
	release, err := h.Slots.acquire(ctx)
	if err != nil {
		h.discard(ctx, f.Digest)
		uncount()
		return 0, got, refuse(http.StatusServiceUnavailable,
			"The server is busy checking other uploads: server busy, retry in a minute. Nothing was stored and this does not count against your limits.", nil)
	}
	defer release()
	data, err := blob.ReadAll(ctx, h.Blobs, f.Digest)
	if err != nil {
		h.discard(ctx, f.Digest)
		return 0, got, err
	}
	ins, err := h.Inspect(data, c.Scale)
	if err != nil {
		h.discard(ctx, f.Digest)
		return 0, got, fmt.Errorf("inspect model: %w", err)
	}
	if !ins.Valid {
		h.discard(ctx, f.Digest)
		return 0, got, refuse(http.StatusUnprocessableEntity,
			fmt.Sprintf("The model was refused before evaluation (×%d challenge). Fix these problems and upload again:", c.Scale),
			ins.Problems)
	}

	id, err := h.Domain.Submit(ctx, vw, target, domain.Upload{
		ModelSHA256: f.Digest, ModelBytes: f.Size, Profile: ins.Profile, Model: data, DataRange: f.DataRange,
		Label: f.Label, MethodName: f.MethodName, Description: f.Description,
	})
	if err != nil {
		h.discard(ctx, f.Digest)
		return 0, got, refuseDomain(err)
	}
	uncount()
	return id, got, nil
}

// Create stores an uploaded model, checks it, and queues its evaluation in
// the phase named by the form's "phase" field (the current phase without
// it), on behalf of the visitor's team.
// POST /c/{slug}/submissions (multipart/form-data: csrf_token, phase,
// method_name, description, label, data_range, model)
//
// A refused upload re-renders the challenge page with the reason and leaves
// neither a submission row nor a stored file. Checks that need no body
// (registration, team, window, quota, dataset) come first, so a large file
// is not read only to be refused; the phase is taken from ?phase= for
// these, the form field after the body is read.
func (h *Upload) Create(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	vis := VisitorFrom(ctx)
	if vis.User == nil {
		return Errorf(http.StatusUnauthorized, "Log in to submit.")
	}
	vw := viewer(r)
	slug := chi.URLParam(r, "slug")
	v, err := challengeView(ctx, h.Domain, vw, slug, r.URL.Query().Get("phase"))
	if err != nil {
		return err
	}
	id, got, err := h.receive(w, r, vw, slug, func(tok string) bool {
		return vis.CSRF != "" && subtle.ConstantTimeCompare([]byte(tok), []byte(vis.CSRF)) == 1
	})
	var ref *Refusal
	if errors.As(err, &ref) {
		if k := domain.KindOf(ref.Cause); k == domain.KindQuota || k == domain.KindWindow {
			// The page's quota line must agree with the refusal.
			if nv, verr := challengeView(ctx, h.Domain, vw, slug, got.Target.Phase.Name); verr == nil {
				v = nv
			}
		}
		f := got.Form
		v.Upload.Label, v.Upload.MethodName, v.Upload.Description = f.Label, f.MethodName, f.Description
		if f.Digest != "" {
			v.Upload.DataRange = dataRangeValue(f.DataRange)
		}
		v.Upload.Error, v.Upload.Problems = ref.Msg, ref.Problems
		return Render(ctx, w, ref.Status, templates.ChallengePage(h.Page(r, v.Title), v))
	}
	if err != nil {
		return err
	}
	SetFlash(w, r, "Model uploaded and queued for evaluation.")
	SeeOther(w, r, "/submissions/"+strconv.FormatInt(id, 10))
	return nil
}

func dataRangeValue(dr float32) string {
	if dr == 255 {
		return "255"
	}
	return "1"
}

// discard deletes a refused upload's blob unless a submission stores the
// same bytes. The check and the delete run under the digest's advisory lock,
// which CreateSubmission also takes, so a submission of the same bytes
// either committed before the check (and the blob stays) or inserts after
// the delete and stores the bytes again itself.
func (h *Upload) discard(ctx context.Context, digest string) {
	if digest == "" {
		return
	}
	_, err := h.Store.DeleteModelIfUnused(context.WithoutCancel(ctx), digest, func() error { return h.Blobs.Delete(context.WithoutCancel(ctx), digest) })
	if err != nil {
		h.Log.ErrorContext(ctx, "upload: discard refused blob", "digest", digest, "error", err)
	}
}
