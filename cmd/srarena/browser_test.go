package main

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"

	"github.com/srarena/srarena/internal/demo"
	"github.com/srarena/srarena/onnxmodel/onnxbuild"
	"github.com/srarena/srarena/runner/sandbox"
)

// browserWait bounds every wait on the page. The whole test normally takes
// well under a minute; the bound only turns a hang into a clear failure.
const browserWait = 90 * time.Second

// TestBrowserUploadAndLiveStatus drives the site in headless Chromium as a
// participant would: sign up through the form, upload a model with the file
// picker, watch the submission page update itself (static/live.js) until the
// evaluation ends, have a broken file refused, and find the result on the
// leaderboard. It covers what the HTTP-level TestEndToEnd cannot: the
// forms as the browser submits them (CSRF field, multipart encoding, Origin
// and Sec-Fetch headers, cookies) and the page's own polling script.
//
// SRARENA_SCREENSHOT=path also writes the finished submission page there as
// a PNG, to look at by eye.
func TestBrowserUploadAndLiveStatus(t *testing.T) {
	chromium := findChromium(t)
	lib, err := sandbox.FindORT()
	if err != nil {
		skipOrFail(t, err)
	}
	p := startPlatform(t, lib)

	// The browser: no sandbox because tests run as root; no background
	// networking, component updates or sync, because on a closed network
	// Chromium otherwise keeps retrying Google services.
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(),
		chromedp.ExecPath(chromium),
		chromedp.Headless,
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.NoDefaultBrowserCheck,
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-default-apps", true),
		chromedp.Flag("disable-extensions", true),
		chromedp.Flag("disable-breakpad", true),
		chromedp.Flag("disable-domain-reliability", true),
		chromedp.Flag("disable-client-side-phishing-detection", true),
		chromedp.Flag("safebrowsing-disable-auto-update", true),
		chromedp.Flag("metrics-recording-only", true),
		chromedp.Flag("no-pings", true),
		chromedp.Flag("password-store", "basic"),
		chromedp.Flag("use-mock-keychain", true),
		// /dev/shm is small in containers; Chromium crashes when it fills.
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.WindowSize(1280, 900),
		chromedp.UserDataDir(t.TempDir()),
	)
	defer cancelAlloc()
	bctx, cancelBrowser := chromedp.NewContext(actx)
	defer cancelBrowser()
	// The first action starts the browser, which lives as long as the
	// context of that call: it must have no timeout (see chromedp.Run).
	if err := chromedp.Do(bctx); err != nil {
		t.Fatalf("start %s: %v", chromium, err)
	}
	b := &browser{t: t, ctx: bctx, base: p.url}
	b.watchExceptions()

	// 1. Sign up through the form.
	const user = "carol"
	b.navigate("/signup")
	b.do("fill the sign-up form",
		chromedp.SendKeys(chromedp.CSS(`input[name=email]`), user+"@example.org"),
		chromedp.SendKeys(chromedp.CSS(`input[name=username]`), user),
		chromedp.SendKeys(chromedp.CSS(`input[name=password]`), "correct horse battery"),
		chromedp.Click(chromedp.CSS(`form[action="/signup"] button[type=submit]`)),
	)
	if got := b.waitFor("signed in", `(() => {
		const who = document.querySelector("[data-testid=whoami]");
		if (who) return "whoami=" + who.textContent.trim() + (document.querySelector("form[action='/logout'] button") ? " logout" : "");
		const errs = document.querySelector("[data-testid=form-errors], .field-error");
		return errs ? "error: " + errs.textContent.trim() : "";
	})()`); got != "whoami="+user+" logout" {
		t.Fatalf("after sign-up the nav shows %q, want the username and a logout button", got)
	}

	// 2. Upload a model with the file picker.
	dir := t.TempDir()
	bicubic, err := onnxbuild.Bicubic(4)
	if err != nil {
		t.Fatal(err)
	}
	good := filepath.Join(dir, "bicubic.onnx")
	if err := os.WriteFile(good, bicubic, 0o644); err != nil {
		t.Fatal(err)
	}
	b.navigate("/c/" + demo.Slug)
	b.do("fill the upload form",
		chromedp.SetUploadFiles(chromedp.CSS(`input[name=model]`), []string{good}),
		chromedp.SendKeys(chromedp.CSS(`input[name=label]`), "browser bicubic"),
		chromedp.Click(chromedp.CSS(`form[enctype="multipart/form-data"] button[type=submit]`)),
	)
	loc := b.waitFor("the submission page", `(() => {
		if (/^\/submissions\/\d+$/.test(location.pathname)) return location.pathname;
		const e = document.querySelector("[data-testid=upload-error]");
		return e ? "error: " + e.textContent.trim() : "";
	})()`)
	id, ok := strings.CutPrefix(loc, "/submissions/")
	if !ok {
		t.Fatalf("upload did not land on a submission page: %s", loc)
	}

	// 3. Live status. The worker starts only now, so the page is sure to
	// open while the submission is still queued and its script, not a
	// server render, has to bring the log lines and the final status. An
	// observer records what the script appends in sessionStorage, which
	// outlives the reload the script does once the evaluation ends.
	if got := b.eval("watch the log", `(() => {
		const root = document.querySelector("[data-poll]");
		const log = document.querySelector("[data-testid=log]");
		const status = document.querySelector("[data-testid=status]");
		if (!root || !log || !status) return "not live: status " + (status ? status.textContent : "missing");
		sessionStorage.setItem("liveLog", "");
		sessionStorage.setItem("liveStatus", status.textContent.trim());
		new MutationObserver((ms) => {
			for (const m of ms) for (const n of m.addedNodes)
				sessionStorage.setItem("liveLog", sessionStorage.getItem("liveLog") + n.textContent);
		}).observe(log, {childList: true});
		new MutationObserver(() => {
			sessionStorage.setItem("liveStatus", sessionStorage.getItem("liveStatus") + " " + status.textContent.trim());
		}).observe(status, {childList: true, characterData: true, subtree: true});
		return "watching " + status.textContent.trim();
	})()`); !strings.HasPrefix(got, "watching ") {
		t.Fatalf("submission page %s: %s", loc, got)
	}
	p.startWorker()
	metrics := b.waitFor("the evaluation to finish", `(() => {
		const s = document.querySelector("[data-testid=status]");
		if (!s) return "";
		const st = s.textContent.trim();
		const msg = (document.querySelector("[data-testid=message]") || {}).textContent || "";
		if (st === "failed") return "failed: " + msg;
		// Results render only after the script's reload, so metrics
		// without data-poll mean the final page is up.
		const m = document.querySelector("[data-testid=metrics]");
		if (st === "finished" && m && !document.querySelector("[data-poll]")) return m.innerText;
		return "";
	})()`)
	if !regexp.MustCompile(`PSNR\s+\d+\.\d+ dB`).MatchString(metrics) {
		t.Fatalf("submission %s: no PSNR in the results: %q", id, metrics)
	}
	liveLog := b.eval("read the live log", `sessionStorage.getItem("liveLog") || ""`)
	liveStatus := b.eval("read the live status", `sessionStorage.getItem("liveStatus") || ""`)
	t.Logf("status seen live: %s", liveStatus)
	if !strings.Contains(liveLog, "evaluation started") || !strings.Contains(liveLog, "evaluation finished") {
		t.Fatalf("the page did not append the log lines live; appended:\n%s", liveLog)
	}
	if !strings.HasSuffix(liveStatus, "finished") {
		t.Fatalf("the page's status did not turn to finished live: %q", liveStatus)
	}
	shot, err := chromedp.Run(b.ctx, chromedp.FullScreenshot(100)) // 100: PNG
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(t.TempDir(), "submission.png"), shot, 0o644); err != nil {
		t.Fatal(err)
	}
	if path := os.Getenv("SRARENA_SCREENSHOT"); path != "" {
		if err := os.WriteFile(path, shot, 0o644); err != nil {
			t.Fatal(err)
		}
		t.Logf("screenshot of submission %s: %s", id, path)
	}

	// 4. A file that is not ONNX is refused on the challenge page and
	// leaves no submission behind.
	before := b.mySubmissions()
	if len(before) != 1 || before[0] != id {
		t.Fatalf("my submissions before the bad upload: %v, want [%s]", before, id)
	}
	junk := make([]byte, 4096)
	rand.Read(junk)
	bad := filepath.Join(dir, "x.onnx")
	if err := os.WriteFile(bad, junk, 0o644); err != nil {
		t.Fatal(err)
	}
	b.navigate("/c/" + demo.Slug)
	b.do("upload random bytes",
		chromedp.SetUploadFiles(chromedp.CSS(`input[name=model]`), []string{bad}),
		chromedp.SendKeys(chromedp.CSS(`input[name=label]`), "not a model"),
		chromedp.Click(chromedp.CSS(`form[enctype="multipart/form-data"] button[type=submit]`)),
	)
	refusal := b.waitFor("the refusal", `(() => {
		if (/^\/submissions\/\d+$/.test(location.pathname)) return "accepted: " + location.pathname;
		const e = document.querySelector("[data-testid=upload-error]");
		return e ? e.innerText.trim() : "";
	})()`)
	t.Logf("refusal shown: %q", refusal)
	if !strings.Contains(refusal, "refused") || b.eval("count problems", `String(document.querySelectorAll("[data-testid=problem]").length)`) == "0" {
		t.Fatalf("random bytes: want a refusal that lists the problems, page shows %q", refusal)
	}
	if after := b.mySubmissions(); len(after) != len(before) {
		t.Fatalf("my submissions after the refused upload: %v, want %v", after, before)
	}

	// 5. The public leaderboard ranks the result. Bicubic reproduces the
	// baseline's PSNR, so it passes the gate and, alone, ranks first.
	b.navigate("/c/" + demo.Slug + "/leaderboard")
	rank := b.waitFor("the user's row", fmt.Sprintf(`(() => {
		for (const r of document.querySelectorAll("[data-testid=leader-row]")) {
			const n = r.querySelector("[data-testid=name]");
			if (n && n.textContent.trim() === %q) return "rank=" + r.querySelector("[data-testid=rank]").textContent.trim();
		}
		return document.querySelector("[data-testid=rule]") ? "missing" : "";
	})()`, user))
	if rank != "rank=1" {
		t.Fatalf("leaderboard row of %s: %s, want rank=1", user, rank)
	}

	b.checkExceptions()
}

// browser runs steps in one tab and turns each failure into a test failure
// that says which step failed and what the page showed.
type browser struct {
	t    *testing.T
	ctx  context.Context
	base string

	mu         sync.Mutex
	exceptions []string
}

// watchExceptions records uncaught JavaScript errors: a broken live.js
// would otherwise show only as a timeout.
func (b *browser) watchExceptions() {
	err := chromedp.Listen(b.ctx, func(ev any) {
		if e, ok := ev.(*runtime.EventExceptionThrown); ok {
			msg := e.ExceptionDetails.Text
			if e.ExceptionDetails.Exception != nil {
				msg += " " + e.ExceptionDetails.Exception.Description
			}
			b.mu.Lock()
			b.exceptions = append(b.exceptions, fmt.Sprintf("%s:%d: %s", e.ExceptionDetails.URL, e.ExceptionDetails.LineNumber, msg))
			b.mu.Unlock()
		}
	})
	if err != nil {
		b.t.Fatal(err)
	}
}

func (b *browser) checkExceptions() {
	b.mu.Lock()
	defer b.mu.Unlock()
	if len(b.exceptions) > 0 {
		b.t.Errorf("JavaScript exceptions:\n%s", strings.Join(b.exceptions, "\n"))
	}
}

func (b *browser) do(what string, steps ...chromedp.Action[chromedp.Void]) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, browserWait)
	defer cancel()
	if err := chromedp.Do(ctx, steps...); err != nil {
		b.t.Fatalf("%s: %v\npage: %s", what, err, b.pageText())
	}
}

// navigate opens path and waits for its load event.
func (b *browser) navigate(path string) {
	b.t.Helper()
	b.do("open "+path, chromedp.Navigate(b.base+path))
}

func (b *browser) eval(what, js string) string {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, browserWait)
	defer cancel()
	s, err := chromedp.Run(ctx, chromedp.Evaluate[string](js))
	if err != nil {
		b.t.Fatalf("%s: %v\npage: %s", what, err, b.pageText())
	}
	return s
}

// waitFor evaluates js, an expression that yields a string, until it is not
// empty, and returns it. Errors count as "not yet": while a form submits or
// the page reloads itself the evaluation can hit a document on its way out.
func (b *browser) waitFor(what, js string) string {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, browserWait)
	defer cancel()
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	var lastErr error
	for {
		ectx, ecancel := context.WithTimeout(ctx, 5*time.Second)
		s, err := chromedp.Run(ectx, chromedp.Evaluate[string](js))
		ecancel()
		if err == nil && s != "" {
			return s
		}
		if err != nil {
			lastErr = err
		}
		select {
		case <-ctx.Done():
			b.t.Fatalf("waiting %v for %s (last error: %v)\npage: %s", browserWait, what, lastErr, b.pageText())
		case <-tick.C:
		}
	}
}

// mySubmissions opens the user's submission list and returns its ids.
func (b *browser) mySubmissions() []string {
	b.t.Helper()
	b.navigate("/c/" + demo.Slug + "/submissions")
	list := b.waitFor("my submissions", `(() => {
		if (!document.querySelector("h1")) return "";
		const ids = [...document.querySelectorAll("[data-testid=my-submissions] tbody tr td:first-child")].map((td) => td.textContent.trim());
		return "ids:" + ids.join(",");
	})()`)
	ids := strings.TrimPrefix(list, "ids:")
	if ids == "" {
		return nil
	}
	return strings.Split(ids, ",")
}

// pageText is the visible text of the page, for failure messages.
func (b *browser) pageText() string {
	ctx, cancel := context.WithTimeout(b.ctx, 5*time.Second)
	defer cancel()
	s, err := chromedp.Run(ctx, chromedp.Evaluate[string](`location.href + "\n" + (document.body ? document.body.innerText : "")`))
	if err != nil {
		return "(unreadable: " + err.Error() + ")"
	}
	const max = 3000
	if len(s) > max {
		s = s[:max] + "…"
	}
	return s
}

// findChromium returns the browser to drive. Without one the test skips,
// except in CI, which installs it (.ci/run) and must not pass by skipping.
func findChromium(t *testing.T) string {
	t.Helper()
	for _, name := range []string{"chromium", "/usr/bin/chromium"} {
		if path, err := exec.LookPath(name); err == nil {
			return path
		}
	}
	skipOrFail(t, errors.New("no chromium in PATH (Debian: apt-get install chromium)"))
	return ""
}

func skipOrFail(t *testing.T, err error) {
	t.Helper()
	if os.Getenv("CI") == "true" {
		t.Fatal(err)
	}
	t.Skip(err)
}
