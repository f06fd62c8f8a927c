package handlers

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"

	"github.com/go-chi/chi/v5"

	"github.com/srarena/srarena/domain"
	"github.com/srarena/srarena/scoring"
	"github.com/srarena/srarena/templates"
)

// ComparePages is the crop viewer: for an image of a public validation set,
// a crop of the bicubic upscaling of its LR input, of a submission's SR
// output and of the HR image (where the dataset's HR is public), side by
// side. The domain decides who sees which submission (domain.Compare).
//
//	GET /c/{slug}/submissions/{id}/compare?image=N&x=X&y=Y&size=S
//	GET /c/{slug}/submissions/{id}/compare/crop.png?image=N&kind=bicubic|sr|hr|lr&x=X&y=Y&size=S
//
// x, y are the crop's top-left corner and size its side, in pixels of the
// SR output; kind=lr is the whole LR input (the overview). Crops are made
// on the server, so the page works without JavaScript; a little script
// (static/live.js) moves the crop where the overview is clicked.
type ComparePages struct {
	*Base
	Domain *domain.Service
	Blobs  interface {
		Open(ctx context.Context, digest string) (io.ReadCloser, error)
	}
}

// Crop sides, in SR pixels.
const (
	cropDefault = 96
	cropMin     = 16
	cropMax     = 512
	// cropShown is the side a crop is drawn at on the page, CSS pixels.
	cropShown = 256
)

// cropParams are a request's image and crop window, clamped to the image.
type cropParams struct {
	image, x, y, size int
}

func (h *ComparePages) load(r *http.Request) (domain.CompareInfo, error) {
	id, err := idParam(r, "id")
	if err != nil {
		return domain.CompareInfo{}, err
	}
	return h.Domain.Compare(r.Context(), viewer(r), chi.URLParam(r, "slug"), id)
}

// params reads ?image, ?x, ?y, ?size; the SR size of the image is w×h.
// Missing or unreadable values take their defaults (the first image, a
// centred 96-pixel crop); out-of-range ones are clamped.
func params(q url.Values, n int) cropParams {
	atoi := func(k string, def int) int {
		v, err := strconv.Atoi(q.Get(k))
		if err != nil {
			return def
		}
		return v
	}
	p := cropParams{image: atoi("image", 0), size: atoi("size", cropDefault)}
	if p.image < 0 || p.image >= n {
		p.image = 0
	}
	p.size = min(max(p.size, cropMin), cropMax)
	p.x, p.y = atoi("x", -1), atoi("y", -1)
	return p
}

// clamp fits the window into a w×h image; -1 (unset) centres it.
func (p cropParams) clamp(w, h int) cropParams {
	p.size = min(p.size, w, h)
	if p.x < 0 {
		p.x = (w - p.size) / 2
	}
	if p.y < 0 {
		p.y = (h - p.size) / 2
	}
	p.x, p.y = min(max(p.x, 0), w-p.size), min(max(p.y, 0), h-p.size)
	return p
}

func (p cropParams) query(kind string) string {
	q := url.Values{"image": {strconv.Itoa(p.image)}, "x": {strconv.Itoa(p.x)}, "y": {strconv.Itoa(p.y)}, "size": {strconv.Itoa(p.size)}}
	if kind != "" {
		q.Set("kind", kind)
	}
	return q.Encode()
}

// decode reads and decodes a PNG blob.
func (h *ComparePages) decode(ctx context.Context, digest string) (*scoring.Image, error) {
	f, err := h.Blobs.Open(ctx, digest)
	if err != nil {
		return nil, fmt.Errorf("image %s: %w", digest, err)
	}
	defer f.Close()
	return scoring.DecodePNG(io.LimitReader(f, 256<<20))
}

// Show is the viewer's page.
func (h *ComparePages) Show(w http.ResponseWriter, r *http.Request) error {
	ci, err := h.load(r)
	if err != nil {
		return err
	}
	sub := ci.Submission
	base := fmt.Sprintf("/c/%s/submissions/%d/compare", ci.Challenge.Slug, sub.ID)
	v := templates.Compare{Slug: ci.Challenge.Slug, Title: ci.Challenge.Title, ID: sub.ID, Name: ci.Name,
		Phase: cmpOr(ci.Phase.Title, ci.Phase.Name), PhaseName: ci.Phase.Name, Action: base, Shown: cropShown,
		Min: cropMin, Max: cropMax}
	if ci.Organizer || (sub.TeamID != nil && !sub.IsBaseline && ci.Challenge.Team != nil && *sub.TeamID == ci.Challenge.Team.ID) {
		v.SubmissionHref = fmt.Sprintf("/submissions/%d", sub.ID)
	}
	if len(ci.Images) == 0 {
		p := h.Page(r, "Compare · "+ci.Name)
		return Render(r.Context(), w, http.StatusOK, templates.ComparePage(p, v))
	}
	p := params(r.URL.Query(), len(ci.Images))
	im := ci.Images[p.image]
	lr, err := h.decode(r.Context(), im.LRSHA256)
	if err != nil {
		return err
	}
	scale := ci.Challenge.Scale
	p = p.clamp(lr.W*scale, lr.H*scale)
	for i, c := range ci.Images {
		label := c.DatasetName + " / " + c.Name
		if c.PSNR != nil {
			label += " (PSNR " + fmtFloat(*c.PSNR, 2) + " dB)"
		}
		v.Images = append(v.Images, templates.CompareOption{Value: strconv.Itoa(i), Label: label, Selected: i == p.image})
	}
	v.Image, v.X, v.Y, v.Size = p.image, p.x, p.y, p.size
	v.W, v.H = lr.W*scale, lr.H*scale
	v.Overview = base + "/crop.png?" + p.query("lr")
	v.Bicubic = base + "/crop.png?" + p.query("bicubic")
	v.SR = base + "/crop.png?" + p.query("sr")
	if ci.ShowHR(p.image) {
		v.HR = base + "/crop.png?" + p.query("hr")
	}
	if im.PSNR != nil {
		v.PSNR = fmtFloat(*im.PSNR, 2) + " dB"
	}
	v.ImageName = im.DatasetName + " / " + im.Name
	page := h.Page(r, "Compare · "+ci.Name)
	return Render(r.Context(), w, http.StatusOK, templates.ComparePage(page, v))
}

// Crop serves one crop (or the whole LR input) as PNG.
func (h *ComparePages) Crop(w http.ResponseWriter, r *http.Request) error {
	ci, err := h.load(r)
	if err != nil {
		return err
	}
	if len(ci.Images) == 0 {
		return ErrNotFound
	}
	q := r.URL.Query()
	p := params(q, len(ci.Images))
	im := ci.Images[p.image]
	ctx := r.Context()
	lr, err := h.decode(ctx, im.LRSHA256)
	if err != nil {
		return err
	}
	scale := ci.Challenge.Scale
	p = p.clamp(lr.W*scale, lr.H*scale)
	var out *scoring.Image
	switch q.Get("kind") {
	case "lr":
		out = lr
	case "bicubic":
		if out, err = scoring.UpscaleBicubicCrop(lr, scale, p.x, p.y, p.size, p.size); err != nil {
			return err
		}
	case "sr":
		sr, err := h.decode(ctx, im.PNGSHA256)
		if err != nil {
			return err
		}
		out = scoring.Crop(sr, p.x, p.y, p.size, p.size)
	case "hr":
		if !ci.ShowHR(p.image) {
			return ErrNotFound
		}
		hr, err := h.decode(ctx, im.HRSHA256)
		if err != nil {
			return err
		}
		out = scoring.Crop(scoring.ModCrop(hr, scale), p.x, p.y, p.size, p.size)
	default:
		return Errorf(http.StatusBadRequest, "kind must be lr, bicubic, sr or hr.")
	}
	var buf bytes.Buffer
	if err := scoring.EncodePNG(&buf, out); err != nil {
		return err
	}
	w.Header().Set("Content-Type", "image/png")
	// The same address always shows the same pixels, but who may see
	// them can change (a phase hidden again, an entry withdrawn).
	w.Header().Set("Cache-Control", "private, max-age=300")
	_, err = w.Write(buf.Bytes())
	return err
}
