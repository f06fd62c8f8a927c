package main

import (
	"context"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/srarena/srarena/internal/fixtures"
	"github.com/srarena/srarena/runner/sandbox"
	"github.com/srarena/srarena/scoring"
)

// panelSession is a logged-in browser session on the organizer panel (the
// HTML forms, with their CSRF tokens), as an organizer without a shell uses it.
type panelSession struct {
	t    *testing.T
	base string
	c    *http.Client
}

var csrfField = regexp.MustCompile(`name="csrf_token" value="([^"]+)"`)

func newPanelSession(t *testing.T, base, login, password string) *panelSession {
	jar, _ := cookiejar.New(nil)
	s := &panelSession{t: t, base: base, c: &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error {
		return http.ErrUseLastResponse
	}}}
	if code, body := s.post("/login", "/login", url.Values{"login": {login}, "password": {password}}); code != http.StatusSeeOther {
		t.Fatalf("login %s: %d %.300s", login, code, body)
	}
	return s
}

func (s *panelSession) get(path string) (int, string) {
	s.t.Helper()
	r, err := s.c.Get(s.base + path)
	if err != nil {
		s.t.Fatal(err)
	}
	defer r.Body.Close()
	b, _ := io.ReadAll(r.Body)
	return r.StatusCode, string(b)
}

// post submits a form of the page at from, with that page's CSRF token.
func (s *panelSession) post(from, path string, form url.Values) (int, string) {
	s.t.Helper()
	_, page := s.get(from)
	m := csrfField.FindStringSubmatch(page)
	if m == nil {
		s.t.Fatalf("no csrf token on %s", from)
	}
	form.Set("csrf_token", m[1])
	r, err := s.c.PostForm(s.base+path, form)
	if err != nil {
		s.t.Fatal(err)
	}
	defer r.Body.Close()
	b, _ := io.ReadAll(r.Body)
	return r.StatusCode, string(b)
}

// TestNTIRE2024EndToEnd is issue #8's "done when": a site admin creates an
// NTIRE 2024-style challenge from its template, imports Set5 from the
// fixtures as its hidden set (LR generated on the server), adds a
// baseline; two participant teams submit fixture models; the worker
// evaluates them; the organizer re-runs one, disqualifies one team,
// reveals, freezes, and exports a CSV whose ranks and scores equal
// `srarena rank --rules ntire2024` on the same numbers. All through the
// real platform: the panel's forms, the organizer API through the CLI,
// the participants' CLI, a real worker with ONNX Runtime in the sandbox.
func TestNTIRE2024EndToEnd(t *testing.T) {
	lib, err := sandbox.FindORT()
	if err != nil {
		skipOrFail(t, err)
	}
	t.Setenv("XDG_CONFIG_HOME", t.TempDir())
	p := startPlatform(t, lib)
	p.startWorker()
	ctx := context.Background()
	const password = "a long enough password"
	tokenOf := func(name string, admin bool) string {
		args := []string{"user", "add", name, "--email", name + "@example.org", "--password-stdin", "--database-url", p.dbURL}
		if admin {
			args = append(args, "--admin")
		}
		if code, _, errOut := cli(t, password+"\n", args...); code != 0 {
			t.Fatalf("user add %s: %d %s", name, code, errOut)
		}
		code, out, errOut := cli(t, "", "token", "create", "--user", name, "--name", "e2e", "--database-url", p.dbURL)
		if code != 0 {
			t.Fatalf("token create: %d %s", code, errOut)
		}
		return strings.TrimSpace(out)
	}
	rootTok, annTok, bobTok := tokenOf("root", true), tokenOf("ann", false), tokenOf("bob", false)
	login := func(tok string) {
		t.Helper()
		if code, _, errOut := cli(t, "", "login", "--server", p.url, "--token", tok); code != 0 {
			t.Fatalf("login: %s", errOut)
		}
	}
	// Generous: five evaluations and two re-timings of Set5 on a shared
	// 2-core machine.
	deadline := time.Now().Add(15 * time.Minute)
	waitFor := func(what, sql string, want int) {
		t.Helper()
		for count(t, p, sql) != want {
			if time.Now().After(deadline) {
				var state string
				p.pool.QueryRow(ctx, `SELECT coalesce(string_agg(status || ' ' || message, '; '), '') FROM final_timings`).Scan(&state)
				t.Fatalf("timed out waiting for %s (final timings: %s)", what, state)
			}
			time.Sleep(300 * time.Millisecond)
		}
	}

	// 1. The challenge, from the NTIRE 2024 template, in the panel. Its
	// final (hidden) phase opens now so that the test need not wait 60 days.
	root := newPanelSession(t, p.url, "root", password)
	now := time.Now().UTC()
	const slug = "ntire24"
	code, body := root.post("/admin/new", "/admin/new", url.Values{"template": {"ntire2024"}, "slug": {slug},
		"title": {"NTIRE 2024 ESR (e2e)"}, "scale": {"4"}, "max_upload_mb": {"16"}, "team_size": {"3"},
		"registration": {"open"}, "queue": {"eval_cpu"},
		"final_opens": {now.Add(-time.Minute).Format("2006-01-02T15:04")}, "final_closes": {now.Add(7 * 24 * time.Hour).Format("2006-01-02T15:04")}})
	if code != http.StatusSeeOther {
		t.Fatalf("create from template: %d %.500s", code, body)
	}
	if n := count(t, p, `SELECT count(*) FROM phases ph JOIN challenges c ON c.id = ph.challenge_id
		WHERE c.slug = 'ntire24' AND c.template = 'ntire2024' AND ph.name = 'final' AND ph.visibility = 'hidden' AND ph.opens_at <= now()`); n != 1 {
		t.Fatal("the template did not make an open, hidden final phase")
	}

	// 2. Set5 as the hidden sets of the final phase, LR generated: once as
	// its (non-public) validation split and once as its test split, since
	// NTIRE 2024's gates and score read psnr_val and psnr_test and its
	// runtime is the mean over both (the worker evaluates every dataset of
	// the phase). Their HR and LR are served to nobody; the images are
	// stored once (content-addressed).
	login(rootTok)
	hrDir := fixtures.Dir(t, "images", "Set5", "HR")
	for _, split := range []string{"validation", "test"} {
		code, out, errOut := cli(t, "", "dataset", "import", slug, "--split", split, "--hr", hrDir, "--phase", "final", "--name", "Set5-"+split)
		if code != 0 || !strings.Contains(out, "5 of 5 images (×4, LR generated") {
			t.Fatalf("dataset import (%s): %d %s %s", split, code, out, errOut)
		}
	}
	if n := count(t, p, `SELECT count(*) FROM datasets WHERE name LIKE 'Set5-%' AND NOT public`); n != 2 {
		t.Fatal("Set5 is not hidden in both splits")
	}

	// 3. The baseline (RLFN, NTIRE 2024's) on the final phase.
	models := fixtures.Dir(t, "models", "trained")
	if code, out, errOut := cli(t, "", "baseline", "add", slug, filepath.Join(models, "rlfn_ntire_x4.onnx"), "--phase", "final", "--label", "RLFN baseline"); code != 0 {
		t.Fatalf("baseline add: %d %s %s", code, out, errOut)
	}

	// 4. Two teams submit fixture models; the worker evaluates them.
	submit := func(tok, team, model string) int64 {
		t.Helper()
		login(tok)
		if code, out, errOut := cli(t, "", "register", slug, "--accept-terms", "--team", team); code != 0 {
			t.Fatalf("register %s: %d %s %s", team, code, out, errOut)
		}
		code, out, errOut := cli(t, "", "submit", slug, filepath.Join(models, model), "--phase", "final", "--method", model, "--wait",
			"--poll", "500ms", "--timeout", "5m")
		if code != 0 {
			t.Fatalf("submit %s: %d %s %s", team, code, out, errOut)
		}
		m := regexp.MustCompile(`#(\d+)`).FindStringSubmatch(out + errOut)
		if m == nil {
			t.Fatalf("no submission id in %q", out)
		}
		id, _ := strconv.ParseInt(m[1], 10, 64)
		return id
	}
	annID := submit(annTok, "Team Ann", "imdn_x4.onnx")
	bobID := submit(bobTok, "Team Bob", "rfdn_aim2020_x4.onnx")
	waitFor("three evaluations", `SELECT count(*) FROM submissions s JOIN challenges c ON c.id = s.challenge_id
		JOIN results r ON r.submission_id = s.id WHERE c.slug = 'ntire24' AND s.status = 'finished'`, 3)
	// Hidden until revealed: the public board of the final phase shows no score.
	var annPSNR float64
	p.pool.QueryRow(ctx, `SELECT psnr FROM results WHERE submission_id = $1`, annID).Scan(&annPSNR)
	psnrText := strconv.FormatFloat(annPSNR, 'f', 2, 64)
	anon := &panelSession{t: t, base: p.url, c: http.DefaultClient}
	if _, board := anon.get("/c/" + slug + "/leaderboard?phase=final"); strings.Contains(board, psnrText) {
		t.Fatal("the hidden phase's board shows a score before the reveal")
	}

	// 5. The organizer re-runs Ann's submission; the worker evaluates it again.
	login(rootTok)
	if code, out, errOut := cli(t, "", "rerun", strconv.FormatInt(annID, 10)); code != 0 {
		t.Fatalf("rerun: %d %s %s", code, out, errOut)
	}
	// The re-run request and the status reset commit together: "finished"
	// with the request logged is the new evaluation's end.
	waitFor("the re-run", `SELECT count(*) FROM submissions s WHERE id = `+strconv.FormatInt(annID, 10)+
		` AND status = 'finished' AND EXISTS (SELECT 1 FROM submission_logs l WHERE l.submission_id = s.id AND l.line = 're-run requested by root')`, 1)

	// 6. Team Bob is disqualified with a reason its members see.
	var bobTeam int64
	p.pool.QueryRow(ctx, `SELECT team_id FROM submissions WHERE id = $1`, bobID).Scan(&bobTeam)
	if code, body := root.post("/admin/c/"+slug, "/admin/c/"+slug+"/teams/"+strconv.FormatInt(bobTeam, 10)+"/disqualify",
		url.Values{"reason": {"model copied from another team"}}); code != http.StatusSeeOther {
		t.Fatalf("disqualify: %d %.300s", code, body)
	}

	// 7. Reveal, then freeze.
	if code, body := root.post("/admin/c/"+slug, "/admin/c/"+slug+"/phases/final/reveal", url.Values{}); code != http.StatusSeeOther {
		t.Fatalf("reveal: %d %.300s", code, body)
	}
	if code, body := root.post("/admin/c/"+slug, "/admin/c/"+slug+"/phases/final/freeze", url.Values{}); code != http.StatusSeeOther {
		t.Fatalf("freeze: %d %.300s", code, body)
	}
	if _, board := anon.get("/c/" + slug + "/leaderboard?phase=final"); !strings.Contains(board, psnrText) || strings.Contains(board, "Team Bob") {
		t.Errorf("after the reveal the board must show Team Ann's score and not the disqualified Team Bob")
	}

	// 8. The export, ranked again by `srarena rank --rules ntire2024`.
	code, csvOut, errOut := cli(t, "", "export", slug, "--phase", "final", "--csv")
	if code != 0 {
		t.Fatalf("export: %d %s", code, errOut)
	}
	tab, err := scoring.ReadResultsCSV(strings.NewReader(csvOut))
	if err != nil {
		t.Fatal(err)
	}
	if len(tab.Rows) != 2 || strings.Contains(csvOut, "Team Bob") || !strings.Contains(csvOut, "Team Ann") || !strings.Contains(csvOut, "RLFN baseline") {
		t.Fatalf("export rows (baseline and Team Ann, Team Bob disqualified):\n%s", csvOut)
	}
	// NTIRE 2024's main track: its rank and its exponential score.
	for _, col := range []string{"main_rank", "main_score"} {
		if tab.Col(col) < 0 {
			t.Errorf("the export has no %s column: %v", col, tab.Header)
		}
	}
	// Both splits were measured, so NTIRE 2024's gates pass and Team Ann
	// is ranked with a score; the byte-for-byte check below proves the
	// rank and score equal `srarena rank`'s.
	for _, col := range []string{"psnr_val", "psnr_test", "main_rank", "main_score", "unranked_reason"} {
		if tab.Col(col) < 0 {
			t.Fatalf("the export has no %s column: %v", col, tab.Header)
		}
	}
	annRanked := false
	for _, r := range tab.Rows {
		if r[0] != "Team Ann" {
			continue
		}
		annRanked = r[tab.Col("unranked_reason")] == "" && r[tab.Col("main_rank")] != "" && r[tab.Col("main_score")] != "" &&
			r[tab.Col("psnr_val")] != "" && r[tab.Col("psnr_test")] != ""
	}
	if !annRanked {
		t.Errorf("Team Ann is not ranked with a score on both splits:\n%s", csvOut)
	}
	if _, board := anon.get("/c/" + slug + "/leaderboard.json?phase=final"); !regexp.MustCompile(`"rank":1,"name":"Team Ann"`).MatchString(board) {
		t.Errorf("the revealed board does not rank Team Ann first: %.1500s", board)
	}
	path := filepath.Join(t.TempDir(), "export.csv")
	os.WriteFile(path, []byte(csvOut), 0o644)
	code, ranked, errOut := cli(t, "", "rank", "--rules", "ntire2024", "--csv", path)
	if code != 0 || ranked != csvOut {
		t.Errorf("srarena rank --rules ntire2024 on the export differs: %d %s\n%s\nvs export\n%s", code, errOut, ranked, csvOut)
	}
	// The frozen version is the same table.
	if code, frozen := root.get("/admin/c/" + slug + "/phases/final/frozen/1.csv"); code != 200 || frozen != csvOut {
		t.Errorf("frozen v1 (%d) differs from the export:\n%s", code, frozen)
	}

	// 9. Final runtimes: re-time the top 1 (and the baseline) with more
	// repeats on the official hardware class; the worker measures them as
	// separate records, and the export uses them, says so, and still ranks
	// as `srarena rank` does.
	api := func(method, path, body string) (int, string, http.Header) {
		t.Helper()
		req, _ := http.NewRequest(method, p.url+"/api/v1"+path, strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+rootTok)
		req.Header.Set("Content-Type", "application/json")
		r, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer r.Body.Close()
		b, _ := io.ReadAll(r.Body)
		return r.StatusCode, string(b), r.Header
	}
	attempts := count(t, p, `SELECT sum(attempts)::int FROM submissions`)
	if st, body, _ := api("POST", "/challenges/"+slug+"/phases/final/retime", `{"top": 1, "repeats": 3}`); st != http.StatusAccepted {
		t.Fatalf("retime: %d %s", st, body)
	}
	waitFor("the final re-timings", `SELECT count(*) FROM final_timings WHERE status = 'finished' AND repeats = 3 AND runtime_ms > 0`, 2)
	if count(t, p, `SELECT sum(attempts)::int FROM submissions`) != attempts {
		t.Error("the re-timing changed the submissions' attempts")
	}
	st, finalCSV, hdr := api("GET", "/challenges/"+slug+"/results?phase=final&format=csv", "")
	if st != 200 || !strings.Contains(hdr.Get("X-Runtime-Note"), "Final runtimes re-measured on ") || !strings.Contains(hdr.Get("X-Runtime-Note"), "with 3 repeats") {
		t.Fatalf("export after re-timing: %d, note %q", st, hdr.Get("X-Runtime-Note"))
	}
	var annFinal float64
	p.pool.QueryRow(ctx, `SELECT runtime_ms FROM final_timings WHERE submission_id = $1`, annID).Scan(&annFinal)
	ftab, err := scoring.ReadResultsCSV(strings.NewReader(finalCSV))
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, row := range ftab.Rows {
		if row[ftab.Col("submission_id")] == strconv.FormatInt(annID, 10) {
			found = row[ftab.Col("ave_time_ms")] == strconv.FormatFloat(annFinal, 'f', -1, 64)
		}
	}
	if !found {
		t.Errorf("the export does not carry Team Ann's final runtime %v:\n%s", annFinal, finalCSV)
	}
	os.WriteFile(path, []byte(finalCSV), 0o644)
	if code, ranked, errOut := cli(t, "", "rank", "--rules", "ntire2024", "--csv", path); code != 0 || ranked != finalCSV {
		t.Errorf("srarena rank on the re-timed export differs: %d %s\n%s\nvs\n%s", code, errOut, ranked, finalCSV)
	}
	if code, body := root.post("/admin/c/"+slug, "/admin/c/"+slug+"/phases/final/freeze", url.Values{}); code != http.StatusSeeOther {
		t.Fatalf("freeze v2: %d %.300s", code, body)
	}
	if n := count(t, p, `SELECT count(*) FROM frozen_rankings WHERE version = 2 AND note LIKE 'Final runtimes re-measured%'`); n != 1 {
		t.Error("the second frozen version does not say its runtimes are final re-timings")
	}
	// The operations view shows the real worker: its heartbeat row, the
	// ONNX Runtime version its sandbox reported, the evaluations it ran.
	if code, ops := root.get("/admin/ops"); code != 200 || !strings.Contains(ops, "1.30") || !strings.Contains(ops, `data-dead="false"`) {
		t.Errorf("operations view: %d\n%.3000s", code, ops)
	}
	if n := count(t, p, `SELECT count(*) FROM workers WHERE queue = 'eval_cpu' AND done >= 6 AND ort_version LIKE '1.30%'`); n != 1 {
		t.Errorf("the worker's row does not count its evaluations and re-timings, or lacks the ONNX Runtime version")
	}
	if n := count(t, p, `SELECT count(*) FROM audit_events a JOIN challenges c ON c.id = a.challenge_id WHERE c.slug = 'ntire24'
		AND a.action IN ('challenge.create', 'dataset.import', 'baseline.add', 'submission.rerun', 'team.disqualify', 'phase.reveal', 'phase.freeze', 'phase.retime')`); n != 10 {
		t.Errorf("audit events: %d, want 10 (one per organizer action: two dataset imports)", n)
	}
}
