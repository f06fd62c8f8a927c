package web_test

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// headless is one headless Chromium for a page test: starting it, running
// steps and scripts with a deadline each, screenshots and the axe-core
// check. Every browser test of this package drives the browser the same
// way, so they share it.
type headless struct {
	t       *testing.T
	ctx     context.Context
	timeout time.Duration
	// shots is $SRARENA_SCREENSHOTS, or a temporary directory.
	shots string
}

// newHeadless starts Chromium with a w×h window; each step gets timeout.
// Without Chromium the test skips, or fails under CI=true.
func newHeadless(t *testing.T, w, h int, timeout time.Duration) *headless {
	t.Helper()
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
	shots := os.Getenv("SRARENA_SCREENSHOTS")
	if shots == "" {
		shots = t.TempDir()
	} else if err := os.MkdirAll(shots, 0o755); err != nil {
		t.Fatal(err)
	}
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(),
		chromedp.ExecPath(chromium), chromedp.Headless, chromedp.NoSandbox, chromedp.DisableGPU,
		chromedp.NoFirstRun, chromedp.NoDefaultBrowserCheck,
		chromedp.Flag("disable-background-networking", true), chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true), chromedp.Flag("disable-extensions", true),
		chromedp.Flag("disable-dev-shm-usage", true), chromedp.WindowSize(w, h),
		chromedp.UserDataDir(t.TempDir()))
	t.Cleanup(cancelAlloc)
	bctx, cancelBrowser := chromedp.NewContext(actx)
	t.Cleanup(cancelBrowser)
	// Start the browser on bctx itself, not on a step's deadline, which
	// would end the browser with the step.
	if err := chromedp.Do(bctx); err != nil {
		t.Fatalf("start %s: %v", chromium, err)
	}
	return &headless{t: t, ctx: bctx, timeout: timeout, shots: shots}
}

// run runs steps, failing the test with what on error.
func (h *headless) run(what string, steps ...chromedp.Action[chromedp.Void]) {
	h.t.Helper()
	ctx, cancel := context.WithTimeout(h.ctx, h.timeout)
	defer cancel()
	if err := chromedp.Do(ctx, steps...); err != nil {
		h.t.Fatalf("%s: %v", what, err)
	}
}

// eval evaluates js (awaiting a promise) and returns its string value.
func (h *headless) eval(what, js string) string {
	h.t.Helper()
	ctx, cancel := context.WithTimeout(h.ctx, h.timeout)
	defer cancel()
	s, err := chromedp.Run(ctx, chromedp.Evaluate[string](js, chromedp.EvalAwaitPromise))
	if err != nil {
		h.t.Fatalf("%s: %v", what, err)
	}
	return s
}

// shot saves a full-page screenshot as name in the screenshot directory.
func (h *headless) shot(name string) {
	h.t.Helper()
	ctx, cancel := context.WithTimeout(h.ctx, h.timeout)
	defer cancel()
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		h.t.Fatalf("screenshot %s: %v", name, err)
	}
	if err := os.WriteFile(filepath.Join(h.shots, name), png, 0o644); err != nil {
		h.t.Fatal(err)
	}
}

// checkA11y runs axe-core on the current page and fails on serious or
// critical violations (WCAG 2.x A and AA rules and best practices); minor
// ones are logged.
func (h *headless) checkA11y(page string) {
	h.t.Helper()
	axe, err := os.ReadFile(axePath(h.t))
	if err != nil {
		h.t.Fatal(err)
	}
	h.eval("inject axe-core", string(axe)+`;"ok"`)
	out := h.eval("axe.run on "+page, `axe.run(document, {runOnly: {type: "tag", values: ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "best-practice"]}})
		.then((r) => r.passes.length === 0 ? "no passes: axe did not run" : JSON.stringify(r.violations.map((v) => ({id: v.id, impact: v.impact, help: v.help, nodes: v.nodes.length,
			first: v.nodes[0] ? v.nodes[0].html.slice(0, 200) : ""}))))`)
	var vs []struct {
		ID, Impact, Help, First string
		Nodes                   int
	}
	if err := json.Unmarshal([]byte(out), &vs); err != nil {
		h.t.Fatalf("axe result %q: %v", out, err)
	}
	for _, v := range vs {
		msg := v.ID + " (" + v.Impact + "): " + v.Help + "; e.g. " + v.First
		if v.Impact == "serious" || v.Impact == "critical" {
			h.t.Errorf("%s: axe: %s (%d nodes)", page, msg, v.Nodes)
		} else {
			h.t.Logf("%s: axe, minor: %s", page, msg)
		}
	}
}
