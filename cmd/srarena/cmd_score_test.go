package main

import (
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/srarena/srarena/internal/fixtures"
	"github.com/srarena/srarena/scoring"
)

// resize then score, end to end on Set5: `resize` must reproduce the shipped
// LR PNGs (flags after the positionals on purpose), and `score` of the
// mod-cropped HR against itself is a perfect match (PSNR null in JSON).
func TestResizeAndScoreCommands(t *testing.T) {
	set5 := fixtures.Dir(t, "images", "Set5")
	lrDir := filepath.Join(t.TempDir(), "lr")
	if _, errs, code := runCmd(t, "resize", filepath.Join(set5, "HR"), lrDir, "--scale", "4"); code != 0 {
		t.Fatalf("resize: %s", errs)
	}
	names, err := scoring.ListPNGs(lrDir)
	if err != nil || len(names) != 5 {
		t.Fatalf("resize wrote %v (%v)", names, err)
	}
	for _, n := range names {
		got, err := scoring.ReadPNG(filepath.Join(lrDir, n))
		if err != nil {
			t.Fatal(err)
		}
		want, err := scoring.ReadPNG(filepath.Join(set5, "LR_bicubic_X4", n))
		if err != nil {
			t.Fatal(err)
		}
		if p, err := scoring.PSNR(got, want, 0); err != nil || !math.IsInf(p, 1) {
			t.Errorf("%s differs from the shipped LR: PSNR %v, %v", n, p, err)
		}
	}

	srDir := t.TempDir()
	for _, n := range names { // SR named like DIV2K outputs: babyx4.png
		hr, err := scoring.ReadPNG(filepath.Join(set5, "HR", strings.TrimSuffix(n, "x4.png")+".png"))
		if err != nil {
			t.Fatal(err)
		}
		if err := scoring.WritePNG(filepath.Join(srDir, n), scoring.ModCrop(hr, 4)); err != nil {
			t.Fatal(err)
		}
	}
	out, errs, code := runCmd(t, "score", "--sr", srDir, "--hr", filepath.Join(set5, "HR"), "--json")
	if code != 0 {
		t.Fatalf("score: %s", errs)
	}
	var res struct {
		PSNR   *float64 `json:"psnr"`
		SSIM   float64  `json:"ssim"`
		Images []struct {
			Name string   `json:"name"`
			PSNR *float64 `json:"psnr"`
			SSIM float64  `json:"ssim"`
		} `json:"images"`
	}
	if err := json.Unmarshal([]byte(out), &res); err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	if res.PSNR != nil || res.SSIM != 1 || len(res.Images) != 5 || res.Images[0].Name != "babyx4.png" {
		t.Errorf("score JSON: %s", out)
	}
	// Same field set as eval --json, so one script reads both.
	var top map[string]json.RawMessage
	json.Unmarshal([]byte(out), &top)
	for _, k := range []string{"psnr", "ssim", "runtime_ms", "images"} {
		if _, ok := top[k]; !ok {
			t.Errorf("score --json lacks %q: %s", k, out)
		}
	}
	// Text output and --y work too.
	if out, errs, code := runCmd(t, "score", "--y", "--sr", srDir, "--hr", filepath.Join(set5, "HR")); code != 0 || !strings.Contains(out, "inf") {
		t.Errorf("score --y: exit %d %s %s", code, out, errs)
	}
	// A missing SR image is an error, not a silently smaller set.
	os.Remove(filepath.Join(srDir, "babyx4.png"))
	if _, _, code := runCmd(t, "score", "--sr", srDir, "--hr", filepath.Join(set5, "HR")); code != 1 {
		t.Errorf("score with a missing SR image: exit %d, want 1", code)
	}
}
