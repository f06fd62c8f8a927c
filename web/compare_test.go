package web_test

import (
	"bytes"
	"context"
	"fmt"
	"html"
	"net/http"
	"regexp"
	"sort"
	"strings"
	"testing"

	"github.com/srarena/srarena/blob"
	"github.com/srarena/srarena/internal/demo"
	"github.com/srarena/srarena/scoring"
)

// compareFixture makes the challenge's validation set public with real
// images (the demo's CC0 drawings) and returns a function that gives a
// submission stored SR outputs of them (×4 nearest upscaling of the LR, so
// it differs from bicubic), as the worker stores them.
func (a *app) compareFixture() (lrs []*scoring.Image, outputs func(id int64)) {
	a.t.Helper()
	ctx := context.Background()
	blobs, err := blob.NewDir(a.blobDir)
	if err != nil {
		a.t.Fatal(err)
	}
	put := func(img *scoring.Image) string {
		var b bytes.Buffer
		if err := scoring.EncodePNG(&b, img); err != nil {
			a.t.Fatal(err)
		}
		d, err := blob.PutBytes(ctx, blobs, b.Bytes())
		if err != nil {
			a.t.Fatal(err)
		}
		return d
	}
	imgs := demo.Images()
	var names []string
	for n := range imgs {
		names = append(names, n)
	}
	sort.Strings(names)
	names = []string{names[1], names[4]} // the zone plate and the rings: fine detail
	a.exec(`DELETE FROM dataset_images WHERE dataset_id = $1`, a.dsID)
	a.exec(`UPDATE datasets SET public = true, hr_public = true WHERE id = $1`, a.dsID)
	var srs []string
	for _, n := range names {
		lr, err := scoring.ResizeBicubic(imgs[n], 4)
		if err != nil {
			a.t.Fatal(err)
		}
		lrs = append(lrs, lr)
		a.exec(`INSERT INTO dataset_images (dataset_id, name, lr_sha256, hr_sha256) VALUES ($1, $2, $3, $4)`, a.dsID, n, put(lr), put(imgs[n]))
		srs = append(srs, put(nearest4(lr)))
	}
	return lrs, func(id int64) {
		for i, n := range names {
			a.exec(`INSERT INTO sr_outputs (submission_id, dataset_id, image_name, png_sha256, psnr) VALUES ($1, $2, $3, $4, $5)`,
				id, a.dsID, n, srs[i], 25.5+float64(i))
		}
	}
}

func nearest4(lr *scoring.Image) *scoring.Image {
	out := scoring.NewImage(lr.W*4, lr.H*4)
	for y := 0; y < out.H; y++ {
		for x := 0; x < out.W; x++ {
			copy(out.Pix[3*(y*out.W+x):3*(y*out.W+x)+3], lr.Pix[3*((y/4)*lr.W+x/4):])
		}
	}
	return out
}

// TestCompareVisibility: the crop viewer of a submission is open to its
// team always, to everyone else only while the submission stands on the
// public board of a public or revealed phase; a hidden phase's submission
// is 404 for others, its team sees the outputs without per-image PSNR; the
// HR crop exists only where the dataset's HR is public; a crop is the
// stored output's pixels.
func TestCompareVisibility(t *testing.T) {
	t.Parallel()
	a := newApp(t, challengeOpts{})
	lrs, outputs := a.compareFixture()
	ann, bob, anon := a.browser(), a.browser(), a.browser()
	ann.signup("ann")
	bob.signup("bob")
	old := a.finished("ann", a.dsID, "25.0", 20, "[]")
	newer := a.finished("ann", a.dsID, "26.0", 30, "[]")
	outputs(old)
	outputs(newer)
	a.exec(`UPDATE phases SET entry_rule = 'last' WHERE challenge_id = $1`, a.chID)
	page := func(id int64) string { return fmt.Sprintf("/c/esr/submissions/%d/compare", id) }
	crop := func(id int64, kind string) string {
		return fmt.Sprintf("/c/esr/submissions/%d/compare/crop.png?image=1&x=8&y=12&size=32&kind=%s", id, kind)
	}

	// Public phase: the team's entry (the newest, rule "last") is open to all.
	for _, b := range []*browser{anon, bob, ann} {
		r := b.get(page(newer))
		if r.status != 200 || !strings.Contains(r.body, "PSNR 26.50 dB") || !strings.Contains(r.body, "kind=hr") {
			t.Errorf("public entry's viewer: %d %.300s", r.status, r.body)
		}
	}
	// Every picture the page shows loads.
	for _, m := range regexp.MustCompile(`(?:src|href)="(/c/esr/submissions/[^"]*crop\.png[^"]*)"`).FindAllStringSubmatch(anon.get(page(newer)).body, -1) {
		u := html.UnescapeString(m[1])
		if r, body := a.raw(u); r.StatusCode != 200 {
			t.Errorf("GET %s: %d %s", u, r.StatusCode, body)
		}
	}
	// The older submission is not on the board: its team only.
	if r := anon.get(page(old)); r.status != 404 {
		t.Errorf("anonymous opens a submission that is not a board entry: %d", r.status)
	}
	if r := bob.get(page(old)); r.status != 404 {
		t.Errorf("another team opens a submission that is not a board entry: %d", r.status)
	}
	if r := ann.get(page(old)); r.status != 200 {
		t.Errorf("the team opens its own older submission: %d", r.status)
	}
	// A crop is the stored output's pixels; bicubic differs from it.
	r, body := a.raw(crop(newer, "sr"))
	if r.StatusCode != 200 || r.Header.Get("Content-Type") != "image/png" {
		t.Fatalf("crop: %d %s", r.StatusCode, r.Header.Get("Content-Type"))
	}
	got, err := scoring.DecodePNG(bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if want := scoring.Crop(nearest4(lrs[1]), 8, 12, 32, 32); !bytes.Equal(got.Pix, want.Pix) {
		t.Error("the SR crop is not the stored output's window")
	}
	_, bic := a.raw(crop(newer, "bicubic"))
	if bytes.Equal(bic, body) {
		t.Error("the bicubic crop equals the output's")
	}
	for _, kind := range []string{"lr", "hr", "bicubic"} {
		if r, _ := a.raw(crop(newer, kind)); r.StatusCode != 200 {
			t.Errorf("crop %s: %d", kind, r.StatusCode)
		}
	}
	if r, _ := a.raw(crop(old, "sr")); r.StatusCode != 404 {
		t.Errorf("anonymous crop of a non-entry: %d", r.StatusCode)
	}
	// The board links its rows to the viewer.
	if b := anon.get("/c/esr/leaderboard"); !strings.Contains(b.body, page(newer)) {
		t.Error("the leaderboard does not link the entry's crop viewer")
	}
	if b := ann.get(fmt.Sprintf("/submissions/%d", newer)); !strings.Contains(b.body, page(newer)) {
		t.Error("the submission page does not link its crop viewer")
	}

	// HR not public: no HR crop, for anyone but organizers.
	a.exec(`UPDATE datasets SET hr_public = false WHERE id = $1`, a.dsID)
	if r := anon.get(page(newer)); r.status != 200 || strings.Contains(r.body, "kind=hr") || !strings.Contains(r.body, "not public") {
		t.Errorf("viewer with a private HR: %d %.300s", r.status, r.body)
	}
	if r, _ := a.raw(crop(newer, "hr")); r.StatusCode != 404 {
		t.Errorf("HR crop of a private HR: %d", r.StatusCode)
	}

	// A hidden phase before its reveal: 404 for everyone but the team,
	// which sees its outputs without the per-image PSNR.
	a.exec(`UPDATE phases SET visibility = 'hidden', revealed_at = NULL WHERE challenge_id = $1`, a.chID)
	for name, b := range map[string]*browser{"anonymous": anon, "other team": bob} {
		if r := b.get(page(newer)); r.status != 404 || strings.Contains(r.body, "26.50") {
			t.Errorf("%s opens a hidden phase's viewer: %d", name, r.status)
		}
	}
	if r, _ := a.raw(crop(newer, "sr")); r.StatusCode != 404 {
		t.Errorf("anonymous crop in a hidden phase: %d", r.StatusCode)
	}
	if r := ann.get(page(newer)); r.status != 200 || strings.Contains(r.body, "PSNR 26.50") || !strings.Contains(r.body, "kind=sr") {
		t.Errorf("the team's viewer in a hidden phase: %d %.300s", r.status, r.body)
	}
	// Revealed: public again.
	a.exec(`UPDATE phases SET revealed_at = now() - interval '1 minute' WHERE challenge_id = $1`, a.chID)
	if r := anon.get(page(newer)); r.status != 200 {
		t.Errorf("anonymous after the reveal: %d", r.status)
	}
	// Unknown ids, another challenge's slug, junk.
	for _, p := range []string{"/c/esr/submissions/999999/compare", "/c/nope/submissions/1/compare", "/c/esr/submissions/x/compare"} {
		if r := anon.get(p); r.status != http.StatusNotFound {
			t.Errorf("GET %s: %d, want 404", p, r.status)
		}
	}
}
