package main

import (
	"archive/zip"
	"context"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/srarena/srarena/internal/fixtures"
	"github.com/srarena/srarena/onnxmodel/onnxbuild"
	"github.com/srarena/srarena/runner/sandbox"
)

// TestBrowserAdminPanel drives the organizer panel in headless Chromium: a
// site admin creates an NTIRE 2024 challenge with two phases from its
// template, imports Set5 as the final phase's hidden set through the file
// picker (LR generated), adds a baseline, re-runs it once the worker has
// evaluated it, reveals the final phase, re-times its top entry, and opens
// the operations view, the worker list and River's UI.
// SRARENA_SCREENSHOTS=DIR (or SRARENA_ADMIN_SCREENS) writes a screenshot of
// each panel page there as admin-NN-page.png (docs/screenshots has them).
func TestBrowserAdminPanel(t *testing.T) {
	chromium := findChromium(t)
	lib, err := sandbox.FindORT()
	if err != nil {
		skipOrFail(t, err)
	}
	p := startPlatform(t, lib)
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(),
		chromedp.ExecPath(chromium), chromedp.Headless, chromedp.NoSandbox, chromedp.DisableGPU,
		chromedp.NoFirstRun, chromedp.NoDefaultBrowserCheck,
		chromedp.Flag("disable-background-networking", true), chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true), chromedp.Flag("disable-extensions", true),
		chromedp.Flag("disable-dev-shm-usage", true), chromedp.WindowSize(1280, 900),
		chromedp.UserDataDir(t.TempDir()))
	defer cancelAlloc()
	bctx, cancelBrowser := chromedp.NewContext(actx)
	defer cancelBrowser()
	if err := chromedp.Do(bctx); err != nil {
		t.Fatalf("start %s: %v", chromium, err)
	}
	b := &browser{t: t, ctx: bctx, base: p.url}
	b.watchExceptions()
	shots := os.Getenv("SRARENA_ADMIN_SCREENS")
	if shots == "" {
		shots = os.Getenv("SRARENA_SCREENSHOTS")
	}
	shot := func(name string) {
		if shots == "" {
			return
		}
		png, err := chromedp.Run(b.ctx, chromedp.FullScreenshot(100))
		if err != nil {
			t.Fatal(err)
		}
		os.MkdirAll(shots, 0o755)
		if err := os.WriteFile(filepath.Join(shots, "admin-"+name+".png"), png, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	flash := func(what, want string) {
		t.Helper()
		// The previous page's flash may still show while the form posts:
		// wait for this one (or an error).
		got := b.waitFor(what, `(() => { const f = document.querySelector("[data-testid=flash]");
			if (!f) return "";
			const s = f.textContent.trim();
			return s.includes(`+strconv.Quote(want)+`) || f.classList.contains("error") ? s : ""; })()`)
		if !strings.Contains(got, want) {
			t.Fatalf("%s: the page says %q, want %q", what, got, want)
		}
	}

	b.signup("root")
	if _, err := p.pool.Exec(context.Background(), `UPDATE users SET is_admin = true WHERE username = 'root'`); err != nil {
		t.Fatal(err)
	}
	b.navigate("/admin")
	b.waitFor("the panel", `document.querySelector("[data-testid=new-challenge]") ? "ok" : ""`)
	shot("01-home")

	// 1. A challenge from the NTIRE 2024 template.
	b.navigate("/admin/new")
	b.do("fill the new challenge form",
		chromedp.SetValue(chromedp.CSS(`select[name=template]`), "ntire2024"),
		chromedp.SendKeys(chromedp.CSS(`input[name=slug]`), "esr24"),
		chromedp.SendKeys(chromedp.CSS(`input[name=title]`), "ESR 2024 replay"),
		chromedp.SendKeys(chromedp.CSS(`textarea[name=description]`), "Efficient ×4 SR, NTIRE 2024 rules."),
	)
	shot("02-new")
	b.do("create", chromedp.Click(chromedp.CSS(`[data-testid=create]`)))
	flash("creating the challenge", "Challenge created")
	if got := b.eval("phases", `[...document.querySelectorAll("section[data-testid^=phase-]")].map(s => s.dataset.testid).join(",")`); got != "phase-development,phase-final" {
		t.Fatalf("phases on the panel: %q", got)
	}

	// 2. Set5 HR as the final phase's hidden test set.
	archive := filepath.Join(t.TempDir(), "set5.zip")
	f, _ := os.Create(archive)
	zw := zip.NewWriter(f)
	hrDir := fixtures.Dir(t, "images", "Set5", "HR")
	for _, n := range []string{"baby", "bird", "butterfly", "head", "woman"} {
		data, err := os.ReadFile(filepath.Join(hrDir, n+".png"))
		if err != nil {
			t.Fatal(err)
		}
		w, _ := zw.Create("Set5/HR/" + n + ".png")
		w.Write(data)
	}
	zw.Close()
	f.Close()
	b.do("import the dataset",
		chromedp.SendKeys(chromedp.CSS(`[data-testid=dataset-name]`), "Set5"),
		chromedp.SetValue(chromedp.CSS(`[data-testid=dataset-split]`), "test"),
		chromedp.SetValue(chromedp.CSS(`[data-testid=dataset-phase]`), "final"),
		chromedp.SetUploadFiles(chromedp.CSS(`[data-testid=dataset-archive]`), []string{archive}),
		chromedp.Click(chromedp.CSS(`[data-testid=import-dataset]`)),
	)
	flash("importing Set5", "Dataset Set5 imported: 5 images, LR generated")
	shot("03-challenge")

	// 3. A baseline of the final phase.
	model, err := onnxbuild.ESPCN(4, 1)
	if err != nil {
		t.Fatal(err)
	}
	modelPath := filepath.Join(t.TempDir(), "espcn.onnx")
	os.WriteFile(modelPath, model, 0o644)
	b.do("add a baseline",
		chromedp.SetValue(chromedp.CSS(`[data-testid=baseline-phase]`), "final"),
		chromedp.SendKeys(chromedp.CSS(`[data-testid=baseline-label]`), "ESPCN baseline"),
		chromedp.SetUploadFiles(chromedp.CSS(`[data-testid=baseline-model]`), []string{modelPath}),
		chromedp.Click(chromedp.CSS(`[data-testid=add-baseline]`)),
	)
	flash("adding the baseline", "Baseline queued")

	// 4. The worker evaluates it; then a re-run from the submission table.
	p.startWorker()
	deadline := time.Now().Add(3 * time.Minute)
	var id string
	for {
		var n int64
		err := p.pool.QueryRow(context.Background(), `SELECT id FROM submissions WHERE label = 'ESPCN baseline' AND status = 'finished'`).Scan(&n)
		if err == nil {
			id = itoa64(n)
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the baseline was not evaluated")
		}
		time.Sleep(300 * time.Millisecond)
	}
	b.navigate("/admin/c/esr24/submissions?phase=final")
	b.waitFor("the re-run button", `document.querySelector("[data-testid=rerun-`+id+`]") ? "ok" : ""`)
	shot("04-submissions")
	b.do("re-run", chromedp.Click(chromedp.CSS(`[data-testid=rerun-`+id+`]`)))
	flash("re-running", "queued again")

	// 5. Reveal the final phase now.
	b.navigate("/admin/c/esr24")
	b.do("reveal", chromedp.Click(chromedp.CSS(`[data-testid=reveal-final]`)))
	flash("revealing", "Reveal time set")
	if got := b.waitFor("the audit log", `[...document.querySelectorAll("[data-testid=audit-row] td:nth-child(3)")].map(td => td.textContent).join(",")`); got != "phase.reveal,submission.rerun,baseline.add,dataset.import,challenge.create" {
		t.Errorf("audit log: %q", got)
	}
	shot("05-after-reveal")

	// 6. Once the re-run has finished, the submission page lists the
	// worker's first run as an earlier run; the organizer overrides the
	// PSNR with a reason from the page's form, and the page marks it.
	for {
		var status, message string
		var runs int
		p.pool.QueryRow(context.Background(), `SELECT status, message, (SELECT count(*) FROM result_history h WHERE h.submission_id = s.id)::int
			FROM submissions s WHERE id = $1`, id).Scan(&status, &message, &runs)
		if status == "finished" && runs == 1 {
			break
		}
		if status == "failed" || time.Now().After(deadline) {
			var logText string
			p.pool.QueryRow(context.Background(), `SELECT coalesce(string_agg(line, E'\n' ORDER BY id), '') FROM submission_logs WHERE submission_id = $1`, id).Scan(&logText)
			t.Fatalf("the re-run did not finish: %s (%s), %d archived runs; log:\n%s", status, message, runs, logText)
		}
		time.Sleep(300 * time.Millisecond)
	}
	b.navigate("/submissions/" + id)
	if got := b.waitFor("earlier runs", `[...document.querySelectorAll("[data-testid=run] td:first-child")].map(td => td.textContent.trim()).join(",")`); got != "1" {
		t.Errorf("earlier runs listed: %q", got)
	}
	b.do("override the PSNR",
		chromedp.Click(chromedp.CSS(`[data-testid=override-panel] summary`)),
		chromedp.SetValue(chromedp.CSS(`[data-testid=override-metric]`), "psnr"),
		chromedp.SendKeys(chromedp.CSS(`[data-testid=override-value]`), "27.5"),
		chromedp.SendKeys(chromedp.CSS(`[data-testid=override-reason]`), "HR image 3 was corrupt"),
		chromedp.Click(chromedp.CSS(`[data-testid=override-save]`)),
	)
	flash("overriding", "Score overridden")
	if got := b.eval("override note", `document.querySelector("p[data-testid=override]")?.textContent ?? ""`); !strings.Contains(got, "overridden by organizers: psnr set to 27.5: HR image 3 was corrupt") {
		t.Errorf("override note: %q", got)
	}
	shot("06-submission-override-runs")

	// 7. The settings file, exported from the panel and imported as a new
	// challenge through the import page's file picker.
	b.navigate("/admin/c/esr24")
	ectx, ecancel := context.WithTimeout(b.ctx, browserWait)
	exported, err := chromedp.Run(ectx, chromedp.Evaluate[string](`fetch(document.querySelector("[data-testid=export-settings]").href).then(r => r.text())`,
		chromedp.EvalAwaitPromise))
	ecancel()
	if err != nil || !strings.Contains(exported, `"format": "srarena-challenge"`) {
		t.Fatalf("export: %v %.300s", err, exported)
	}
	file := filepath.Join(t.TempDir(), "esr24.challenge.v1.json")
	os.WriteFile(file, []byte(exported), 0o644)
	b.navigate("/admin")
	b.do("open the import page", chromedp.Click(chromedp.CSS(`[data-testid=import-link]`)))
	b.waitFor("the import form", `document.querySelector("[data-testid=import-form]") ? "ok" : ""`)
	b.do("import",
		chromedp.SendKeys(chromedp.CSS(`[data-testid=import-slug]`), "esr25"),
		chromedp.SetUploadFiles(chromedp.CSS(`[data-testid=import-file]`), []string{file}),
	)
	shot("07-import")
	b.do("submit the import", chromedp.Click(chromedp.CSS(`[data-testid=import]`)))
	flash("importing the challenge", "Challenge imported")
	if got := b.eval("address", `location.pathname`); got != "/admin/c/esr25" {
		t.Errorf("after the import: %s", got)
	}

	// 8. Ban an account from the bans page; the site audit log shows it.
	if _, err := p.pool.Exec(context.Background(), `INSERT INTO users (email, username, password_hash) VALUES ('mallory@example.org', 'mallory', 'x')`); err != nil {
		t.Fatal(err)
	}
	b.navigate("/admin/users")
	b.do("ban",
		chromedp.SendKeys(chromedp.CSS(`[data-testid=ban-form] input[name=username]`), "mallory"),
		chromedp.SendKeys(chromedp.CSS(`[data-testid=ban-form] input[name=reason]`), "probing the hidden test set"),
		chromedp.Click(chromedp.CSS(`[data-testid=ban]`)),
	)
	flash("banning", "Account banned")
	if got := b.eval("site audit", `[...document.querySelectorAll("[data-testid=site-audit-row] td:nth-child(3)")].map(td => td.textContent).join(",")`); got != "user.ban" {
		t.Errorf("site audit log: %q", got)
	}
	shot("08-bans")

	// 9. Final runtimes: a participant's entry (through the CLI), then
	// re-time the top entry and the baseline with more repeats; the panel
	// shows the records and the ranking's note.
	b.navigate("/admin/c/esr24")
	b.do("open the final phase now",
		chromedp.SetValue(chromedp.CSS(`[data-testid=phase-final] input[name=opens]`), time.Now().UTC().Add(-time.Minute).Format("2006-01-02T15:04")),
		chromedp.Click(chromedp.CSS(`[data-testid=save-phase-final]`)),
	)
	flash("opening the final phase", "Phase saved.")
	t.Setenv("XDG_CONFIG_HOME", t.TempDir())
	if code, _, errOut := cli(t, "a long enough password\n", "user", "add", "ann", "--email", "ann@example.org", "--password-stdin", "--database-url", p.dbURL); code != 0 {
		t.Fatalf("user add: %s", errOut)
	}
	code, tok, errOut := cli(t, "", "token", "create", "--user", "ann", "--name", "cli", "--database-url", p.dbURL)
	if code != 0 {
		t.Fatalf("token create: %s", errOut)
	}
	if code, _, errOut := cli(t, "", "login", "--server", p.url, "--token", strings.TrimSpace(tok)); code != 0 {
		t.Fatalf("login: %s", errOut)
	}
	if code, out, errOut := cli(t, "", "register", "esr24", "--accept-terms", "--team", "Team Ann"); code != 0 {
		t.Fatalf("register: %s %s", out, errOut)
	}
	if code, out, errOut := cli(t, "", "submit", "esr24", modelPath, "--phase", "final", "--wait", "--poll", "500ms", "--timeout", "3m"); code != 0 {
		t.Fatalf("submit: %s %s", out, errOut)
	}
	b.navigate("/admin/c/esr24")
	b.do("re-time",
		chromedp.SetValue(chromedp.CSS(`[data-testid=phase-final] input[name=top]`), "1"),
		chromedp.SetValue(chromedp.CSS(`[data-testid=phase-final] input[name=repeats]`), "3"),
		chromedp.Click(chromedp.CSS(`[data-testid=retime-final]`)),
	)
	flash("re-timing", "Re-timing 2 submissions of the final phase on eval_cpu")
	for {
		var n int
		p.pool.QueryRow(context.Background(), `SELECT count(*) FROM final_timings WHERE status = 'finished'`).Scan(&n)
		if n == 2 {
			break
		}
		if time.Now().After(deadline.Add(2 * time.Minute)) {
			var states string
			p.pool.QueryRow(context.Background(), `SELECT coalesce(string_agg(submission_id || ' ' || status || ': ' || message, '; '), 'none')
				FROM final_timings`).Scan(&states)
			t.Fatalf("the re-timing did not finish: %s", states)
		}
		time.Sleep(300 * time.Millisecond)
	}
	b.navigate("/admin/c/esr24")
	if got := b.waitFor("the final note", `(document.querySelector("[data-testid=final-note]") || {}).textContent || ""`); !strings.Contains(got, "Final runtimes re-measured on") {
		t.Errorf("final note: %q", got)
	}
	shot("09-final-timings")

	// 10. Operations: the queue, this worker's heartbeat, River's job list.
	b.navigate("/admin/ops")
	if got := b.waitFor("the worker row", `(document.querySelector("[data-testid=ops-worker]") || {}).textContent || ""`); !strings.Contains(got, "eval_cpu") {
		t.Errorf("ops worker row: %q", got)
	}
	shot("10-ops")
	b.navigate("/admin/workers")
	b.waitFor("the worker list", `document.querySelector("[data-testid=worker]") ? "ok" : ""`)
	shot("11-workers")
	b.checkExceptions()

	// River's own UI (its single-page app under our CSP).
	b.navigate("/admin/river/jobs?state=completed")
	if got := b.waitFor("River's job list", `document.body.innerText.includes("evaluate") ? "ok" : ""`); got != "ok" {
		t.Errorf("River UI: %q", got)
	}
	shot("12-river")
}

func itoa64(n int64) string { return strconv.FormatInt(n, 10) }
