package web_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/srarena/srarena/store"
)

// axePath is axe-core's browser bundle: .ci/run installs the npm package
// into the git-ignored .cache/npm; SRARENA_AXE overrides the path.
func axePath(t *testing.T) string {
	t.Helper()
	p := os.Getenv("SRARENA_AXE")
	if p == "" {
		p = filepath.Join("..", ".cache", "npm", "node_modules", "axe-core", "axe.min.js")
	}
	if _, err := os.Stat(p); err != nil {
		skipOrFailCI(t, errors.New("axe-core not found at "+p+" (npm install --prefix .cache/npm axe-core@4.11.0, or set SRARENA_AXE)"))
	}
	return p
}

func skipOrFailCI(t *testing.T, err error) {
	t.Helper()
	if os.Getenv("CI") == "true" {
		t.Fatal(err)
	}
	t.Skip(err)
}

// TestBrowserPublicPages opens the leaderboard and the analysis pages of a
// seeded challenge in headless Chromium, sorts the board by a column with
// the page's script and without it, checks every page with axe-core (no
// serious or critical violation) and saves screenshots to
// $SRARENA_SCREENSHOTS (default: a temporary directory).
func TestBrowserPublicPages(t *testing.T) {

	a := newApp(t, challengeOpts{})
	a.watch()
	a.rules("ntire2023")
	a.baseline(a.dsID, "29.00", 40, "synthetic")
	if _, err := a.store.SeedSynthetic(context.Background(), a.chID, store.SeedOptions{Teams: 40, Seed: 3}); err != nil {
		t.Fatal(err)
	}

	h := newHeadless(t, 1400, 1000, 60*time.Second)
	run, eval, shot, checkA11y := h.run, h.eval, h.shot, h.checkA11y
	names := func() string {
		return eval("row names", `[...document.querySelectorAll("tbody:not([data-group='0']) [data-testid=name]")].slice(0, 5).map((e) => e.textContent).join(",")`)
	}
	psnrs := func() string {
		return eval("PSNR column", `(() => { const i = [...document.querySelectorAll("thead th")].findIndex((th) => th.dataset.key === "psnr");
			return [...document.querySelectorAll("tbody:not([data-group='0']) tr[data-testid=leader-row]")].map((r) => { const c = r.children[i]; return c.dataset.v ?? c.textContent.trim(); }).join(","); })()`)
	}
	descending := func(csv string) bool {
		var prev string
		for _, v := range strings.Split(csv, ",") {
			if v == "" {
				continue
			}
			if prev != "" && v > prev && len(v) == len(prev) {
				return false
			}
			prev = v
		}
		return true
	}

	// The leaderboard, as ranked.
	run("open the leaderboard", chromedp.Navigate(a.srv.URL+"/c/esr/leaderboard"))
	if got := eval("synthetic note", `document.querySelector("[data-testid=synthetic]") ? "yes" : ""`); got != "yes" {
		t.Error("the seeded board does not say it is synthetic")
	}
	if n := eval("rows", `String(document.querySelectorAll("tr[data-testid=leader-row]").length)`); n != "41" {
		t.Errorf("%s rows, want 41 (40 teams and the baseline)", n)
	}
	ranked := names()
	shot("leaderboard.png")
	checkA11y("leaderboard")

	// Sort by PSNR with the script: in place, no navigation.
	run("sort by PSNR", chromedp.Click(chromedp.CSS(`th[data-key=psnr] a`)))
	if got := eval("aria-sort", `document.querySelector("th[data-key=psnr]").getAttribute("aria-sort") || ""`); got != "descending" {
		t.Errorf("PSNR heading aria-sort %q after a click, want descending", got)
	}
	if names() == ranked || !descending(psnrs()) {
		t.Errorf("the script did not sort by PSNR descending: %s", psnrs())
	}
	if u := eval("address", `location.search`); !strings.Contains(u, "sort=psnr") {
		t.Errorf("address not updated: %q", u)
	}
	shot("leaderboard-sorted-psnr.png")

	// The same order from the server, without the script.
	run("open the sorted board", chromedp.Navigate(a.srv.URL+"/c/esr/leaderboard?sort=psnr&dir=desc"))
	if !descending(psnrs()) {
		t.Errorf("server-side sort by PSNR not descending: %s", psnrs())
	}

	// The challenge's analysis and the NTIRE 2023 reference.
	run("open the analysis", chromedp.Navigate(a.srv.URL+"/c/esr/analysis"))
	if n := eval("charts", `String(document.querySelectorAll("svg.chart[role=img]").length)`); n != "7" { // summary + params, FLOPs (both rules), activations, memory, conv layers
		t.Errorf("%s charts on the analysis page, want 7", n)
	}
	inStats := 0
	for _, r := range a.board().Rows {
		if r.Rank > 0 || r.Baseline {
			inStats++
		}
	}
	if got := eval("point titles", `String(document.querySelectorAll("#chart-0 .pt title").length)`); got != itoa(inStats) {
		t.Errorf("%s points with titles in the first chart, want %d (ranked teams and the baseline)", got, inStats)
	}
	shot("analysis.png")
	checkA11y("analysis")

	run("open the reference", chromedp.Navigate(a.srv.URL+"/analysis/ntire2023"))
	if got := eval("acts row", `[...document.querySelectorAll("[data-testid=coef-row]")].map((r) => r.querySelector("[data-testid=spearman]").textContent).join(" ")`); got != "−0.3896 −0.3966 0.9150 0.3130 0.8611" {
		t.Errorf("reference Spearman column %q", got)
	}
	shot("analysis-ntire2023.png")
	checkA11y("analysis-ntire2023")

	run("open the form", chromedp.Navigate(a.srv.URL+"/analysis"))
	checkA11y("analysis-form")
	shot("analysis-form.png")
	t.Logf("screenshots in %s", h.shots)
}
