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
	"strconv"
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

// TestBrowserUploadAndLiveStatus drives the site in headless Chromium as
// participants would: sign up through the form, register for the demo
// challenge with a team, invite a second member who joins through the link
// in another browser profile, upload a model with the file picker and its
// progress bar, cancel a queued submission, watch the submission page go
// queued → running (image i of N) → finished without a reload
// (static/live.js), choose the team's leaderboard entry, have a broken file
// refused with its reason, and find the team on the leaderboard. It covers
// what the HTTP-level tests cannot: the forms as the browser submits them
// (CSRF field, multipart encoding, Origin and Sec-Fetch headers, cookies)
// and the page's own scripts.
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
	const slug = demo.Slug

	// 1. Sign up through the form.
	b.signup("carol")

	// 2. Register for the challenge with a team, accepting the terms.
	b.navigate("/c/" + slug)
	b.do("open the registration", chromedp.Click(chromedp.CSS(`[data-testid=register-link]`)))
	b.waitFor("the registration form", `document.querySelector("[data-testid=accept-terms]") ? "ok" : ""`)
	b.do("register",
		chromedp.SendKeys(chromedp.CSS(`[data-testid=team-field]`), "Carol's lab"),
		chromedp.Click(chromedp.CSS(`[data-testid=accept-terms]`)),
		chromedp.Click(chromedp.CSS(`[data-testid=register]`)),
	)
	if got := b.waitFor("registered", `(() => {
		const t = document.querySelector("[data-testid=team-name]");
		return t ? t.textContent.trim() : "";
	})()`); got != "Carol's lab" {
		t.Fatalf("after registering the challenge page submits as %q", got)
	}

	// 3. An invitation link, joined by a second participant in another
	// browser profile (its own cookies).
	b.navigate("/c/" + slug + "/team")
	b.do("create an invitation", chromedp.Click(chromedp.CSS(`[data-testid=invite]`)))
	invite := b.waitFor("the invitation link", `(() => {
		const i = document.querySelector("[data-testid=invite-url]");
		return i ? i.value : "";
	})()`)
	_, path, ok := strings.Cut(strings.TrimPrefix(invite, "http://"), "/join/")
	if !ok {
		t.Fatalf("invitation link %q", invite)
	}
	dctx, cancelD := chromedp.NewContext(bctx, chromedp.WithNewBrowserContext())
	defer cancelD()
	d := &browser{t: t, ctx: dctx, base: p.url}
	d.watchExceptions()
	d.signup("dave")
	d.navigate("/join/" + path)
	d.do("accept the invitation",
		chromedp.Click(chromedp.CSS(`[data-testid=accept-terms]`)),
		chromedp.Click(chromedp.CSS(`[data-testid=join]`)),
	)
	if got := d.waitFor("the team's members", `(() => {
		if (!document.querySelector("[data-testid=team-title]")) return "";
		return [...document.querySelectorAll("[data-testid=member]")].map((m) => m.textContent.trim()).join(",");
	})()`); got != "carol,dave" {
		t.Fatalf("team members after dave joined: %q", got)
	}
	d.checkExceptions()

	// 4. Upload with the progress bar. The script sends the form with
	// XMLHttpRequest: the page never unloads (the marker survives) and the
	// progress text is recorded as it changes.
	dir := t.TempDir()
	write := func(name string, data []byte) string {
		f := filepath.Join(dir, name)
		if err := os.WriteFile(f, data, 0o644); err != nil {
			t.Fatal(err)
		}
		return f
	}
	bicubic, err := onnxbuild.Bicubic(4)
	if err != nil {
		t.Fatal(err)
	}
	// A plain conv net that takes a few seconds on the demo images, so the
	// page can be seen running image by image (it polls every 0.5 s while
	// running, every 1 s while queued). Width 128 and 10 layers ran under
	// a second on a 2-vCPU AMD EPYC VM, and the page then missed the
	// running state in 1 of 4 runs: 192 × 24 runs ≈ 2 s there.
	slowModel, err := onnxbuild.ConvNet(4, 192, 24, 1)
	if err != nil {
		t.Fatal(err)
	}
	slow, good := write("slow.onnx", slowModel), write("bicubic.onnx", bicubic)
	upload := func(file, method string) string {
		t.Helper()
		b.navigate("/c/" + slug)
		b.eval("watch the upload", `(() => {
			window.__sameDocument = "yes";
			sessionStorage.setItem("uploadProgress", "");
			const text = document.querySelector("[data-testid=upload-progress-text]");
			new MutationObserver(() => sessionStorage.setItem("uploadProgress",
				sessionStorage.getItem("uploadProgress") + "|" + text.textContent)).observe(text, {childList: true, characterData: true, subtree: true});
			return "ok";
		})()`)
		b.do("fill the upload form",
			chromedp.SetUploadFiles(chromedp.CSS(`input[name=model]`), []string{file}),
			chromedp.SendKeys(chromedp.CSS(`[data-testid=method-name]`), method),
			chromedp.Click(chromedp.CSS(`form[data-upload] button[type=submit]`)),
		)
		loc := b.waitFor("the submission page", `(() => {
			if (/^\/submissions\/\d+$/.test(location.pathname) && document.querySelector("[data-testid=status]")) return location.pathname;
			const e = document.querySelector("[data-testid=upload-error]");
			return e ? "error: " + e.textContent.trim() : "";
		})()`)
		id, ok := strings.CutPrefix(loc, "/submissions/")
		if !ok {
			t.Fatalf("upload of %s did not land on a submission page: %s", file, loc)
		}
		if same := b.eval("the page did not unload", `window.__sameDocument || "reloaded"`); same != "yes" {
			t.Errorf("uploading %s loaded a new page (%s): the script did not send it", file, same)
		}
		if prog := b.eval("upload progress", `sessionStorage.getItem("uploadProgress") || ""`); !strings.Contains(prog, "Upload") {
			t.Errorf("no upload progress shown for %s: %q", file, prog)
		}
		return id
	}
	// The demo's two baselines wait in the queue too (no worker yet).
	queuePos := func() int {
		q := b.eval("queue position", `document.querySelector("[data-testid=queue]").textContent`)
		m := regexp.MustCompile(`^position (\d+) in the queue`).FindStringSubmatch(q)
		if m == nil {
			t.Fatalf("queued submission shows queue %q", q)
		}
		n, _ := strconv.Atoi(m[1])
		return n
	}
	slowID := upload(slow, "plain convs")
	first := queuePos()

	// 5. Cancel a queued submission: its slot comes back.
	cancelID := upload(good, "to be cancelled")
	if second := queuePos(); second != first+1 {
		t.Errorf("second queued submission at position %d, the first at %d", second, first)
	}
	b.do("cancel", chromedp.Click(chromedp.CSS(`[data-testid=cancel]`)))
	if got := b.waitFor("the cancelled status", `(() => {
		const s = document.querySelector("[data-testid=status]");
		const f = document.querySelector("[data-testid=flash]");
		return s && f && s.textContent.trim() !== "queued" ? s.textContent.trim() + ": " + f.textContent.trim() : "";
	})()`); !strings.HasPrefix(got, "cancelled: ") {
		t.Fatalf("submission %s after cancel: %q", cancelID, got)
	}
	goodID := upload(good, "bicubic")

	// 6. Live status. The worker starts only now, so the page opens while
	// the submission is queued and its script has to bring every change:
	// observers record what it shows, and a marker on window proves the page
	// never reloads.
	b.navigate("/submissions/" + slowID)
	if got := b.eval("watch the page", `(() => {
		const root = document.querySelector("[data-poll]");
		const log = document.querySelector("[data-testid=log]");
		const status = document.querySelector("[data-testid=status]");
		const progress = document.querySelector("[data-testid=progress]");
		if (!root || !log || !status || !progress) return "not live: status " + (status ? status.textContent : "missing");
		window.__sameDocument = "yes";
		sessionStorage.setItem("liveLog", "");
		sessionStorage.setItem("liveStatus", status.textContent.trim());
		sessionStorage.setItem("liveProgress", "");
		new MutationObserver((ms) => {
			for (const m of ms) for (const n of m.addedNodes)
				sessionStorage.setItem("liveLog", sessionStorage.getItem("liveLog") + n.textContent);
		}).observe(log, {childList: true});
		new MutationObserver(() => {
			sessionStorage.setItem("liveStatus", sessionStorage.getItem("liveStatus") + " " + status.textContent.trim());
		}).observe(status, {childList: true, characterData: true, subtree: true});
		new MutationObserver(() => {
			sessionStorage.setItem("liveProgress", sessionStorage.getItem("liveProgress") + "|" + progress.textContent.trim());
		}).observe(progress, {childList: true, characterData: true, subtree: true});
		return "watching " + status.textContent.trim();
	})()`); got != "watching queued" {
		t.Fatalf("submission page %s: %s", slowID, got)
	}
	p.startWorker()
	metrics := b.waitFor("the evaluation to finish", `(() => {
		const s = document.querySelector("[data-testid=status]");
		if (!s) return "";
		const st = s.textContent.trim();
		const msg = (document.querySelector("[data-testid=message]") || {}).textContent || "";
		if (st === "failed") return "failed: " + msg;
		const m = document.querySelector("[data-testid=metrics]");
		if (st === "finished" && m && !document.querySelector("[data-poll]")) return m.innerText;
		return "";
	})()`)
	if !regexp.MustCompile(`PSNR\s+\d+\.\d+ dB`).MatchString(metrics) {
		t.Fatalf("submission %s: no PSNR in the results: %q", slowID, metrics)
	}
	if same := b.eval("no reload", `window.__sameDocument || "reloaded"`); same != "yes" {
		t.Errorf("the submission page reloaded to show the results")
	}
	liveLog := b.eval("read the live log", `sessionStorage.getItem("liveLog") || ""`)
	liveStatus := b.eval("read the live status", `sessionStorage.getItem("liveStatus") || ""`)
	liveProgress := b.eval("read the live progress", `sessionStorage.getItem("liveProgress") || ""`)
	t.Logf("status seen live: %s; progress: %s", liveStatus, liveProgress)
	if !strings.Contains(liveLog, "evaluation started") || !strings.Contains(liveLog, "evaluation finished") {
		t.Fatalf("the page did not append the log lines live; appended:\n%s", liveLog)
	}
	if !regexp.MustCompile(`^queued( queued)* running( running)* finished$`).MatchString(liveStatus) {
		t.Errorf("the page's status went %q, want queued → running → finished", liveStatus)
	}
	if !regexp.MustCompile(`image [1-5] of 5`).MatchString(liveProgress) {
		t.Errorf("the page never showed \"image i of 5\" while running: %q", liveProgress)
	}
	shot, err := chromedp.Run(b.ctx, chromedp.FullScreenshot(100)) // 100: PNG
	if err != nil {
		t.Fatal(err)
	}
	if path := os.Getenv("SRARENA_SCREENSHOT"); path != "" {
		if err := os.WriteFile(path, shot, 0o644); err != nil {
			t.Fatal(err)
		}
		t.Logf("screenshot of submission %s: %s", slowID, path)
	}

	// 7. The team chooses its entry (the development phase's rule).
	b.navigate("/submissions/" + goodID)
	b.waitFor("the bicubic run to finish", `(() => {
		const s = document.querySelector("[data-testid=status]");
		if (s && s.textContent.trim() === "failed") return "failed";
		return document.querySelector("[data-testid=select]") ? "ok" : "";
	})()`)
	b.do("choose the entry", chromedp.Click(chromedp.CSS(`[data-testid=select]`)))
	if got := b.waitFor("the entry chosen", `(() => {
		const s = document.querySelector("[data-testid=selected]");
		return s ? s.textContent.trim() : "";
	})()`); !strings.Contains(got, "your team's entry") {
		t.Fatalf("after choosing: %q", got)
	}

	// 8. A file that is not ONNX is refused with its reason and leaves no
	// submission behind.
	before := b.mySubmissions()
	if len(before) != 3 {
		t.Fatalf("team submissions before the bad upload: %v, want 3", before)
	}
	junk := make([]byte, 4096)
	rand.Read(junk)
	bad := write("x.onnx", junk)
	b.navigate("/c/" + slug)
	b.do("upload random bytes",
		chromedp.SetUploadFiles(chromedp.CSS(`input[name=model]`), []string{bad}),
		chromedp.SendKeys(chromedp.CSS(`input[name=label]`), "not a model"),
		chromedp.Click(chromedp.CSS(`form[data-upload] button[type=submit]`)),
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
		t.Fatalf("team submissions after the refused upload: %v, want %v", after, before)
	}

	// 9. The public leaderboard shows the team's chosen entry. Bicubic
	// reproduces the baseline's PSNR, so it passes the gate and ranks first.
	b.navigate("/c/" + slug + "/leaderboard")
	rank := b.waitFor("the team's row", `(() => {
		for (const r of document.querySelectorAll("[data-testid=leader-row]")) {
			const n = r.querySelector("[data-testid=name]");
			const e = r.querySelector("[data-testid=entry]");
			if (n && n.textContent.trim() === "Carol's lab") return "rank=" + r.querySelector("[data-testid=rank]").textContent.trim() + " " + (e ? e.textContent.trim() : "");
		}
		return document.querySelector("[data-testid=rule]") ? "missing" : "";
	})()`)
	if rank != "rank=1 chosen by the team" {
		t.Fatalf("leaderboard row of the team: %s, want rank=1 chosen by the team", rank)
	}
	b.checkExceptions()
}

// signup creates an account through the form and checks the nav shows it.
func (b *browser) signup(user string) {
	b.t.Helper()
	b.navigate("/signup")
	b.do("fill the sign-up form",
		chromedp.SendKeys(chromedp.CSS(`input[name=email]`), user+"@example.org"),
		chromedp.SendKeys(chromedp.CSS(`input[name=username]`), user),
		chromedp.SendKeys(chromedp.CSS(`input[name=password]`), "correct horse battery"),
		chromedp.Click(chromedp.CSS(`form[action="/signup"] button[type=submit]`)),
	)
	// Sign-up does not log in (it does not tell a taken name from a new
	// account): it lands on the login form.
	b.waitFor("the login page", `location.pathname === "/login" ? "yes" : ""`)
	b.do("log in",
		chromedp.SendKeys(chromedp.CSS(`form[action="/login"] input[name=login]`), user),
		chromedp.SendKeys(chromedp.CSS(`form[action="/login"] input[name=password]`), "correct horse battery"),
		chromedp.Click(chromedp.CSS(`form[action="/login"] button[type=submit]`)),
	)
	if got := b.waitFor("signed in", `(() => {
		const who = document.querySelector("[data-testid=whoami]");
		if (who) return "whoami=" + who.textContent.trim() + (document.querySelector("form[action='/logout'] button") ? " logout" : "");
		const errs = document.querySelector("[data-testid=form-errors], .field-error");
		return errs ? "error: " + errs.textContent.trim() : "";
	})()`); got != "whoami="+user+" logout" {
		b.t.Fatalf("after sign-up the nav shows %q, want the username and a logout button", got)
	}
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
