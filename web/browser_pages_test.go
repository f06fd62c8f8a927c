package web_test

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
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
	chromium := ""
	for _, name := range []string{"chromium", "/usr/bin/chromium"} {
		if p, err := exec.LookPath(name); err == nil {
			chromium = p
			break
		}
	}
	if chromium == "" {
		skipOrFailCI(t, errors.New("no chromium in PATH (Debian: apt-get install chromium)"))
	}
	axe, err := os.ReadFile(axePath(t))
	if err != nil {
		t.Fatal(err)
	}
	shots := os.Getenv("SRARENA_SCREENSHOTS")
	if shots == "" {
		shots = t.TempDir()
	} else if err := os.MkdirAll(shots, 0o755); err != nil {
		t.Fatal(err)
	}

	a := newApp(t, challengeOpts{})
	a.watch()
	a.rules("ntire2023")
	a.baseline(a.dsID, "29.00", 40, "synthetic")
	if _, err := a.store.SeedSynthetic(context.Background(), a.chID, store.SeedOptions{Teams: 40, Seed: 3}); err != nil {
		t.Fatal(err)
	}

	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(),
		chromedp.ExecPath(chromium), chromedp.Headless, chromedp.NoSandbox, chromedp.DisableGPU,
		chromedp.NoFirstRun, chromedp.NoDefaultBrowserCheck,
		chromedp.Flag("disable-background-networking", true), chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true), chromedp.Flag("disable-extensions", true),
		chromedp.Flag("disable-dev-shm-usage", true), chromedp.WindowSize(1400, 1000),
		chromedp.UserDataDir(t.TempDir()))
	defer cancelAlloc()
	bctx, cancelBrowser := chromedp.NewContext(actx)
	defer cancelBrowser()
	if err := chromedp.Do(bctx); err != nil {
		t.Fatalf("start %s: %v", chromium, err)
	}
	run := func(what string, steps ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		ctx, cancel := context.WithTimeout(bctx, 60*time.Second)
		defer cancel()
		if err := chromedp.Do(ctx, steps...); err != nil {
			t.Fatalf("%s: %v", what, err)
		}
	}
	eval := func(what, js string) string {
		t.Helper()
		ctx, cancel := context.WithTimeout(bctx, 60*time.Second)
		defer cancel()
		s, err := chromedp.Run(ctx, chromedp.Evaluate[string](js, chromedp.EvalAwaitPromise))
		if err != nil {
			t.Fatalf("%s: %v", what, err)
		}
		return s
	}
	shot := func(name string) {
		t.Helper()
		ctx, cancel := context.WithTimeout(bctx, 60*time.Second)
		defer cancel()
		png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
		if err != nil {
			t.Fatalf("screenshot %s: %v", name, err)
		}
		if err := os.WriteFile(filepath.Join(shots, name), png, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	// checkA11y runs axe-core on the page and fails on serious or critical
	// violations (WCAG 2.x A and AA rules).
	checkA11y := func(page string) {
		t.Helper()
		eval("inject axe-core", string(axe)+`;"ok"`)
		out := eval("axe.run on "+page, `axe.run(document, {runOnly: {type: "tag", values: ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "best-practice"]}})
			.then((r) => r.passes.length === 0 ? "no passes: axe did not run" : JSON.stringify(r.violations.map((v) => ({id: v.id, impact: v.impact, help: v.help, nodes: v.nodes.length,
				first: v.nodes[0] ? v.nodes[0].html.slice(0, 200) : ""}))))`)
		var vs []struct {
			ID, Impact, Help, First string
			Nodes                   int
		}
		if err := json.Unmarshal([]byte(out), &vs); err != nil {
			t.Fatalf("axe result %q: %v", out, err)
		}
		for _, v := range vs {
			msg := v.ID + " (" + v.Impact + "): " + v.Help + "; e.g. " + v.First
			if v.Impact == "serious" || v.Impact == "critical" {
				t.Errorf("%s: axe: %s (%d nodes)", page, msg, v.Nodes)
			} else {
				t.Logf("%s: axe, minor: %s", page, msg)
			}
		}
	}
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
	t.Logf("screenshots in %s", shots)
}
