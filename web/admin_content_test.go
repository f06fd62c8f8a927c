package web_test

import (
	"archive/zip"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/csv"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/srarena/srarena/blob"
	"github.com/srarena/srarena/scoring"
	"github.com/srarena/srarena/store"
)

// contentFixture is the esr challenge with a site admin (root), its
// organizer (otto), an organizer of another challenge (olga) and two
// participants (ann, bob), each with one finished submission.
type contentFixture struct {
	a                          *app
	root, otto, olga, ann, bob *browser
	annSub, bobSub             string
}

func newContentFixture(t *testing.T) *contentFixture {
	t.Helper()
	a := newApp(t, challengeOpts{})
	f := &contentFixture{a: a, root: a.browser(), otto: a.browser(), olga: a.browser(), ann: a.browser(), bob: a.browser()}
	f.root.signupOnly("root")
	a.makeAdmin("root")
	f.otto.signupOnly("otto")
	f.olga.signupOnly("olga")
	f.ann.signup("ann")
	f.bob.signup("bob")
	if r := f.root.post("/admin/new", url.Values{"csrf_token": {f.root.csrf("/admin/new")}, "template": {"aim2020"}, "slug": {"other"},
		"title": {"Other"}, "scale": {"4"}, "max_upload_mb": {"8"}, "team_size": {"2"}, "registration": {"open"}, "queue": {"eval_cpu"}}); r.status != http.StatusSeeOther {
		t.Fatalf("create other: %d %s", r.status, r.body)
	}
	for _, g := range [][2]string{{"esr", "otto"}, {"other", "olga"}} {
		if r := f.root.post("/admin/c/"+g[0]+"/organizers", url.Values{"csrf_token": {f.root.csrf("/admin/c/" + g[0])}, "username": {g[1]}}); r.status != http.StatusSeeOther {
			t.Fatalf("grant %v: %d %s", g, r.status, r.body)
		}
	}
	for i, b := range []*browser{f.ann, f.bob} {
		r := b.upload(b.csrf("/c/esr"), "m.onnx", espcn(t))
		if r.status != http.StatusSeeOther {
			t.Fatalf("upload: %d %s", r.status, r.body)
		}
		id := strings.TrimPrefix(r.loc, "/submissions/")
		a.exec(`UPDATE submissions SET status = 'finished', started_at = now(), finished_at = now() WHERE id = $1`, mustInt(id))
		// ann: 30 dB in 10 ms; bob: 31 dB in 9 ms (bob ranks first).
		a.exec(`INSERT INTO results (submission_id, psnr, ssim, runtime_ms, device) VALUES ($1, $2, 0.9, $3, 'cpu')`,
			mustInt(id), 30.0+float64(i), 10.0-float64(i))
		a.exec(`INSERT INTO submission_logs (submission_id, line) VALUES ($1, $2)`, mustInt(id), "image 1/1 0801: PSNR "+strconv.Itoa(30+i)+".25 dB")
		if i == 0 {
			f.annSub = id
		} else {
			f.bobSub = id
		}
	}
	return f
}

func (f *contentFixture) rowOf(t *testing.T, name string) map[string]any {
	t.Helper()
	var b struct {
		Rows []map[string]any `json:"rows"`
	}
	r := f.ann.get("/c/esr/leaderboard.json")
	if err := json.Unmarshal([]byte(r.body), &b); err != nil {
		t.Fatalf("board: %v %s", err, r.body)
	}
	for _, row := range b.Rows {
		if row["name"] == name {
			return row
		}
	}
	t.Fatalf("no row %s in %s", name, r.body)
	return nil
}

// TestScoreOverride: an organizer sets ann's runtime by hand with a reason;
// the measured value stays in results, the board ranks with the override
// and says so (JSON, HTML, ann's submission page), the export carries the
// marker column and still re-ranks to itself, every step is audited, and
// reverting restores the measured ranking. A missing reason, a bad metric,
// a participant and an organizer of another challenge change nothing.
func TestScoreOverride(t *testing.T) {
	t.Parallel()
	f := newContentFixture(t)
	a := f.a
	if got := f.rowOf(t, "bob")["rank"]; got != 1.0 {
		t.Fatalf("before: bob's rank %v, want 1", got)
	}
	audits := a.count(`SELECT count(*) FROM audit_events`)
	path := "/admin/submissions/" + f.annSub + "/override"
	// Refused: no reason, a metric that cannot be set, not a number; and
	// everyone but the organizers.
	for _, form := range []url.Values{
		{"metric": {"runtime_ms"}, "value": {"5"}, "reason": {""}},
		{"metric": {"params"}, "value": {"5"}, "reason": {"x"}},
		{"metric": {"runtime_ms"}, "value": {"fast"}, "reason": {"x"}},
		{"metric": {"psnr"}, "value": {"NaN"}, "reason": {"x"}},
	} {
		form.Set("csrf_token", f.otto.csrf("/submissions/"+f.annSub))
		if r := f.otto.post(path, form); r.status != http.StatusSeeOther {
			t.Errorf("refused override %v: %d", form, r.status)
		}
	}
	for _, b := range []*browser{f.ann, f.bob, f.olga} {
		r := b.post(path, url.Values{"csrf_token": {b.csrf("/c/esr")}, "metric": {"runtime_ms"}, "value": {"1"}, "reason": {"mine"}})
		if r.status != http.StatusNotFound {
			t.Errorf("override by a non-organizer: %d, want 404", r.status)
		}
	}
	tokAnn := f.ann.createToken("a")
	if st, body, _ := a.api("POST", "/submissions/"+f.annSub+"/override", tokAnn, `{"metric":"runtime_ms","value":1,"reason":"mine"}`); st != http.StatusNotFound {
		t.Errorf("API override by the participant: %d %s", st, body)
	}
	if n := a.count(`SELECT count(*) FROM score_overrides`); n != 0 || a.count(`SELECT count(*) FROM audit_events`) != audits {
		t.Fatalf("refused overrides wrote %d overrides", n)
	}

	// The organizer overrides ann's runtime.
	r := f.otto.post(path, url.Values{"csrf_token": {f.otto.csrf("/submissions/" + f.annSub)}, "metric": {"runtime_ms"}, "value": {"5"},
		"reason": {"re-timed on the official GPU"}})
	if r.status != http.StatusSeeOther || r.loc != "/submissions/"+f.annSub {
		t.Fatalf("override: %d %q %s", r.status, r.loc, r.body)
	}
	if n := a.count(`SELECT count(*) FROM results WHERE submission_id = $1 AND runtime_ms = 10`, mustInt(f.annSub)); n != 1 {
		t.Error("the measured runtime was overwritten")
	}
	row := f.rowOf(t, "ann")
	if row["rank"] != 1.0 || row["runtime_ms"] != 5.0 || !strings.Contains(fmt.Sprint(row["override"]), "overridden by organizers: runtime_ms set to 5: re-timed on the official GPU") {
		t.Errorf("board row after the override: %v", row)
	}
	if _, ok := f.rowOf(t, "bob")["override"]; ok {
		t.Error("bob's row is marked as overridden")
	}
	if b := f.bob.get("/c/esr/leaderboard").body; !strings.Contains(b, `data-testid="override"`) || !strings.Contains(b, "re-timed on the official GPU") {
		t.Error("the HTML board does not mark the override")
	}
	if c := f.bob.get("/c/esr/leaderboard.csv").body; !strings.Contains(c, ",override") || !strings.Contains(c, "overridden by organizers: runtime_ms set to 5") {
		t.Errorf("leaderboard.csv without the marker column: %s", c)
	}
	if p := f.ann.get("/submissions/" + f.annSub).body; !strings.Contains(p, "overridden by organizers") || strings.Contains(p, `data-testid="override-panel"`) {
		t.Error("ann's submission page: no override note, or the organizers' form")
	}
	if p := f.otto.get("/submissions/" + f.annSub).body; !strings.Contains(p, `data-testid="override-panel"`) {
		t.Error("the organizer's submission page has no override form")
	}
	// The export: the marker column, ranks as scoring computes them.
	exp := f.otto.get("/admin/c/esr/phases/main/results.csv")
	tab, err := scoring.ReadResultsCSV(strings.NewReader(exp.body))
	if err != nil {
		t.Fatal(err)
	}
	oc := tab.Col("override")
	if oc < 0 || len(tab.Rows) != 2 {
		t.Fatalf("export: %s", exp.body)
	}
	for _, row := range tab.Rows {
		want := row[tab.Col("team")] == "ann"
		if got := strings.HasPrefix(row[oc], "overridden by organizers"); got != want {
			t.Errorf("export row %v: marker %v, want %v", row, got, want)
		}
		if want && (row[tab.Col("ave_time_ms")] != "5" || row[tab.Col("time_rank")] != "1") {
			t.Errorf("ann's export row: %v", row)
		}
	}
	rules, _ := scoring.Preset("aim2020")
	again, _, err := scoring.RankResults(tab, rules, nil)
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	again.WriteCSV(&buf)
	if buf.String() != exp.body {
		t.Errorf("ranking the export again changes it:\n%s\nvs\n%s", buf.String(), exp.body)
	}
	if j := f.otto.get("/admin/c/esr/phases/main/results.json").body; !strings.Contains(j, `"override":"overridden by organizers`) {
		t.Errorf("JSON export without the marker: %s", j)
	}
	// A second override of the same metric replaces the first (revoked).
	tokOtto := f.otto.createToken("o")
	if st, body, _ := a.api("POST", "/submissions/"+f.annSub+"/override", tokOtto, `{"metric":"runtime_ms","value":4.5,"reason":"second re-timing"}`); st != 200 {
		t.Fatalf("API override: %d %s", st, body)
	}
	if n := a.count(`SELECT count(*) FROM score_overrides WHERE revoked_at IS NULL AND value = 4.5`); n != 1 ||
		a.count(`SELECT count(*) FROM score_overrides WHERE revoked_at IS NOT NULL AND value = 5 AND revoked_by = 'otto'`) != 1 {
		t.Error("the second override did not replace the first")
	}
	if n := a.count(`SELECT count(*) FROM audit_events e JOIN challenges c ON c.id = e.challenge_id
		WHERE c.slug = 'esr' AND e.action = 'score.override' AND e.actor = 'otto' AND e.reason <> ''
		  AND (e.after->>'measured')::float = 10`); n != 2 {
		t.Errorf("score.override audit rows: %d, want 2", n)
	}
	// Revert: the measured value counts again; the record stays.
	r = f.otto.post(path+"/revert", url.Values{"csrf_token": {f.otto.csrf("/submissions/" + f.annSub)}, "metric": {"runtime_ms"}})
	if r.status != http.StatusSeeOther {
		t.Fatalf("revert: %d %s", r.status, r.body)
	}
	if row := f.rowOf(t, "ann"); row["rank"] != 2.0 || row["runtime_ms"] != 10.0 || row["override"] != nil {
		t.Errorf("after the revert: %v", row)
	}
	if a.count(`SELECT count(*) FROM score_overrides`) != 2 || a.count(`SELECT count(*) FROM score_overrides WHERE revoked_at IS NULL`) != 0 {
		t.Error("the revert deleted records or left one active")
	}
	if a.count(`SELECT count(*) FROM audit_events WHERE action = 'score.revert' AND actor = 'otto'`) != 1 {
		t.Error("no score.revert audit row")
	}
	// A site admin may override too; reverting nothing is refused.
	if st, body, _ := a.api("POST", "/submissions/"+f.annSub+"/override/revert", tokOtto, `{"metric":"psnr"}`); st != http.StatusConflict {
		t.Errorf("revert without an override: %d %s", st, body)
	}
	tokRoot := f.root.createToken("r")
	if st, body, _ := a.api("POST", "/submissions/"+f.bobSub+"/override", tokRoot, `{"metric":"psnr","value":28.5,"reason":"HR file fixed"}`); st != 200 {
		t.Errorf("site admin's override: %d %s", st, body)
	}
	tokOlga := f.olga.createToken("g")
	if st, _, _ := a.api("POST", "/submissions/"+f.bobSub+"/override/revert", tokOlga, `{"metric":"psnr"}`); st != http.StatusNotFound {
		t.Errorf("revert by an organizer of another challenge: %d", st)
	}
}

// TestBans: a banned account's session and token stop working at once; it
// cannot log in (it sees the reason, with its right password only), use the
// API or upload; the ban and the unban are audited; organizers who are not
// site admins cannot ban; a site admin cannot be banned. Unbanning lets the
// account back in with its old token.
func TestBans(t *testing.T) {
	t.Parallel()
	f := newContentFixture(t)
	a := f.a
	tokAnn := f.ann.createToken("a")
	tokOtto := f.otto.createToken("o")
	tokRoot := f.root.createToken("r")
	if r := f.ann.get("/account"); r.status != 200 {
		t.Fatalf("ann's session: %d", r.status)
	}
	// Not a site admin: 404 everywhere.
	for _, b := range []*browser{f.otto, f.olga, f.ann} {
		if r := b.get("/admin/users"); r.status != http.StatusNotFound {
			t.Errorf("GET /admin/users by a non-admin: %d", r.status)
		}
		if r := b.post("/admin/users/ban", url.Values{"csrf_token": {b.csrf("/c/esr")}, "username": {"bob"}, "reason": {"x"}}); r.status != http.StatusNotFound {
			t.Errorf("POST ban by a non-admin: %d", r.status)
		}
	}
	if st, _, _ := a.api("POST", "/users/bob/ban", tokOtto, `{"reason":"x"}`); st != http.StatusNotFound {
		t.Errorf("API ban by an organizer: %d", st)
	}
	// Refusals: no reason, an unknown account, a site admin.
	tok := f.root.csrf("/admin/users")
	for _, form := range []url.Values{{"username": {"ann"}, "reason": {" "}}, {"username": {"nobody"}, "reason": {"x"}}, {"username": {"root"}, "reason": {"x"}}} {
		form.Set("csrf_token", tok)
		if r := f.root.post("/admin/users/ban", form); r.status < 400 {
			t.Errorf("refused ban %v: %d", form, r.status)
		}
	}
	if n := a.count(`SELECT count(*) FROM users WHERE banned_at IS NOT NULL`); n != 0 {
		t.Fatalf("refused bans banned %d accounts", n)
	}

	r := f.root.post("/admin/users/ban", url.Values{"csrf_token": {tok}, "username": {"ann"}, "reason": {"shared an account with another team"}})
	if r.status != http.StatusSeeOther {
		t.Fatalf("ban: %d %s", r.status, r.body)
	}
	if r := f.root.get("/admin/users"); !strings.Contains(r.body, "shared an account with another team") || !strings.Contains(r.body, `data-testid="site-audit-row"`) {
		t.Error("the bans page does not list ann, or has no audit log")
	}
	if r := f.ann.get("/account"); r.status != http.StatusSeeOther || !strings.HasPrefix(r.loc, "/login") {
		t.Errorf("ann's old session after the ban: %d %q", r.status, r.loc)
	}
	if st, body, _ := a.api("GET", "/me", tokAnn, ""); st != http.StatusUnauthorized || !strings.Contains(body, "banned by the site admins: shared an account") {
		t.Errorf("ann's token after the ban: %d %s", st, body)
	}
	before := a.count(`SELECT count(*) FROM submissions`)
	if st, _ := a.apiUpload(tokAnn, "main", espcn(t)); st != http.StatusUnauthorized {
		t.Errorf("upload with a banned token: %d", st)
	}
	if a.count(`SELECT count(*) FROM submissions`) != before {
		t.Error("a banned account uploaded")
	}
	fresh := a.browser()
	login := func(pw string) resp {
		return fresh.post("/login", url.Values{"csrf_token": {fresh.csrf("/login")}, "login": {"ann"}, "password": {pw}})
	}
	if r := login("correct horse battery"); r.status != http.StatusForbidden || !strings.Contains(r.body, "shared an account with another team") {
		t.Errorf("banned login: %d (reason shown?)", r.status)
	}
	if r := login("wrong password!"); r.status != http.StatusUnauthorized || strings.Contains(r.body, "shared an account") {
		t.Errorf("banned login with a wrong password: %d (must not show the reason)", r.status)
	}
	if r := fresh.get("/account"); r.status != http.StatusSeeOther {
		t.Error("the refused login started a session")
	}
	if n := a.count(`SELECT count(*) FROM audit_events WHERE action = 'user.ban' AND actor = 'root' AND challenge_id IS NULL
		AND target = 'user ann' AND reason = 'shared an account with another team'`); n != 1 {
		t.Errorf("user.ban audit rows: %d", n)
	}
	if r := f.root.post("/admin/users/ban", url.Values{"csrf_token": {tok}, "username": {"ann"}, "reason": {"again"}}); r.status != http.StatusConflict {
		t.Errorf("banning twice: %d", r.status)
	}
	// Unban over the API: the old token works again, login works.
	if st, _, _ := a.api("POST", "/users/ann/unban", tokOtto, ""); st != http.StatusNotFound {
		t.Errorf("API unban by an organizer: %d", st)
	}
	if st, body, _ := a.api("POST", "/users/ann/unban", tokRoot, ""); st != 200 {
		t.Fatalf("unban: %d %s", st, body)
	}
	if st, _, _ := a.api("GET", "/me", tokAnn, ""); st != 200 {
		t.Errorf("ann's token after the unban: %d", st)
	}
	if r := login("correct horse battery"); r.status != http.StatusSeeOther {
		t.Errorf("login after the unban: %d %s", r.status, r.body)
	}
	if a.count(`SELECT count(*) FROM audit_events WHERE action = 'user.unban' AND actor = 'root'`) != 1 {
		t.Error("no user.unban audit row")
	}
	if st, body, _ := a.api("POST", "/users/bob/ban", tokRoot, `{"reason":"test data probing"}`); st != 200 {
		t.Errorf("API ban: %d %s", st, body)
	}
	if r := f.bob.get("/c/esr/register"); r.status != http.StatusSeeOther {
		t.Errorf("banned bob reaches the registration form: %d", r.status)
	}
}

// TestRerunHistory: a re-run archives the replaced run (result, status,
// log, who asked, run number) instead of overwriting it silently; the
// submission page lists earlier runs for the team and the organizers; the
// export has the current result only.
func TestRerunHistory(t *testing.T) {
	t.Parallel()
	f := newContentFixture(t)
	a := f.a
	id := mustInt(f.annSub)
	// What the run measured per dataset goes into the history with it.
	a.exec(`INSERT INTO result_datasets (submission_id, dataset_id, split, images, psnr, runtime_ms)
		SELECT s.id, s.dataset_id, d.split, 1, 30, 10 FROM submissions s JOIN datasets d ON d.id = s.dataset_id
		WHERE s.id = $1`, id)
	tok := f.otto.csrf("/admin/c/esr/submissions")
	if r := f.otto.post("/admin/submissions/"+f.annSub+"/rerun", url.Values{"csrf_token": {tok}}); r.status != http.StatusSeeOther {
		t.Fatalf("rerun: %d %s", r.status, r.body)
	}
	if n := a.count(`SELECT count(*) FROM result_history WHERE submission_id = $1 AND run = 1
		AND jsonb_array_length(result->'datasets') = 1 AND (result->'datasets'->0->>'psnr')::float = 30`, id); n != 1 {
		t.Errorf("archived run 1 without its per-dataset result: %d rows", n)
	}
	if n := a.count(`SELECT count(*) FROM result_history WHERE submission_id = $1 AND run = 1 AND status = 'finished'
		AND (result->>'psnr')::float = 30 AND (result->>'runtime_ms')::float = 10 AND log LIKE '%PSNR 30.25 dB%'
		AND rerun_by = 'otto' AND rerun_by_id IS NOT NULL AND finished_at IS NOT NULL`, id); n != 1 {
		t.Fatalf("archived run 1: %d rows", n)
	}
	if n := a.count(`SELECT count(*) FROM submission_logs WHERE submission_id = $1 AND line LIKE '%PSNR 30.25%'`, id); n != 0 {
		t.Error("the old run's log stayed in the current log")
	}
	// The re-run finishes with a new result.
	a.exec(`UPDATE results SET psnr = 30.75, runtime_ms = 8 WHERE submission_id = $1`, id)
	a.exec(`UPDATE submissions SET status = 'finished', finished_at = now() WHERE id = $1`, id)
	for _, b := range []*browser{f.ann, f.otto} {
		p := b.get("/submissions/" + f.annSub)
		if p.status != 200 || !strings.Contains(p.body, `data-testid="runs"`) || !strings.Contains(p.body, "psnr: 30<") || !strings.Contains(p.body, "otto") {
			t.Errorf("submission page's earlier runs: %d %s", p.status, p.body)
		}
	}
	for _, b := range []*browser{f.bob, f.olga} {
		if p := b.get("/submissions/" + f.annSub); p.status != http.StatusNotFound || strings.Contains(p.body, "30.25") {
			t.Errorf("another team or another challenge's organizer sees ann's runs: %d", p.status)
		}
	}
	if p := f.root.get("/submissions/" + f.annSub); !strings.Contains(p.body, `data-testid="runs"`) {
		t.Error("the site admin does not see the earlier runs")
	}
	// In a hidden phase, the team sees its earlier runs' statuses, not
	// their scores or logs; the organizers see everything.
	a.exec(`UPDATE phases SET visibility = 'hidden' WHERE challenge_id = $1`, a.chID)
	if p := f.ann.get("/submissions/" + f.annSub).body; !strings.Contains(p, `data-testid="run"`) || strings.Contains(p, "psnr: 30<") || strings.Contains(p, "30.25 dB") {
		t.Errorf("hidden phase: the team sees an earlier run's score: %s", p)
	}
	if p := f.otto.get("/submissions/" + f.annSub).body; !strings.Contains(p, "psnr: 30<") {
		t.Error("hidden phase: the organizer does not see the earlier run's score")
	}
	a.exec(`UPDATE phases SET visibility = 'public' WHERE challenge_id = $1`, a.chID)
	exp := f.otto.get("/admin/c/esr/phases/main/results.csv").body
	if strings.Count(exp, "\nann,") != 1 || !strings.Contains(exp, "30.75") || strings.Contains(exp, ",30,") {
		t.Errorf("export after the re-run: %s", exp)
	}
	// A second re-run is run 2; the audit says which run was archived.
	f.otto.post("/admin/submissions/"+f.annSub+"/rerun", url.Values{"csrf_token": {tok}})
	if n := a.count(`SELECT count(*) FROM result_history WHERE submission_id = $1 AND run = 2 AND (result->>'psnr')::float = 30.75`, id); n != 1 {
		t.Errorf("archived run 2: %d rows", n)
	}
	if n := a.count(`SELECT count(*) FROM audit_events WHERE action = 'submission.rerun' AND (before->>'archived_run')::int = 2 AND (after->>'run')::int = 3`); n != 1 {
		t.Errorf("rerun audit with run numbers: %d", n)
	}
	// A phase-wide re-run archives each one too.
	if r := f.otto.post("/admin/c/esr/phases/main/rerun", url.Values{"csrf_token": {tok}, "which": {"all"}}); r.status != http.StatusSeeOther {
		t.Fatalf("phase rerun: %d", r.status)
	}
	if n := a.count(`SELECT count(*) FROM result_history WHERE submission_id = $1`, mustInt(f.bobSub)); n != 1 {
		t.Errorf("bob's archived runs after the phase re-run: %d", n)
	}
}

// putBlobs stores data in the app's blob directory and returns the digests.
func (a *app) putBlobs(data ...string) []string {
	a.t.Helper()
	bs, err := blob.NewDir(a.blobDir)
	if err != nil {
		a.t.Fatal(err)
	}
	var out []string
	for _, d := range data {
		dg, _, err := bs.Put(context.Background(), strings.NewReader(d), 0)
		if err != nil {
			a.t.Fatal(err)
		}
		out = append(out, dg)
	}
	return out
}

// TestChallengeTransfer: a challenge made over the API from a template,
// with a Markdown description, a revealed phase and a dataset, exports to a
// file; imported into another server (a fresh database whose blob store
// has the same images) and exported again, the file is the same but for
// the slug. Bad files are refused and leave nothing; datasets whose images
// are missing are reported; the panel imports an uploaded file; only site
// admins create or import, only organizers export.
func TestChallengeTransfer(t *testing.T) {
	t.Parallel()
	f := newContentFixture(t)
	a := f.a
	tokRoot, tokOtto, tokAnn, tokOlga := f.root.createToken("r"), f.otto.createToken("o"), f.ann.createToken("a"), f.olga.createToken("g")
	create := `{"template":"ntire2024","slug":"esr24","title":"ESR 2024","description":"# Efficient SR\n\nSee [NTIRE](https://cvlai.net/ntire/2024/).","registration":"approval"}`
	for _, tk := range []string{tokAnn, tokOtto, tokOlga} {
		if st, _, _ := a.api("POST", "/challenges", tk, create); st != http.StatusNotFound {
			t.Errorf("create by a non-admin: %d", st)
		}
	}
	st, body, _ := a.api("POST", "/challenges", tokRoot, create)
	if st != http.StatusCreated || !strings.Contains(body, `"slug":"esr24"`) || !strings.Contains(body, `"name":"final"`) {
		t.Fatalf("API create: %d %s", st, body)
	}
	if st, _, _ := a.api("POST", "/challenges", tokRoot, create); st != http.StatusConflict {
		t.Errorf("second create: %d", st)
	}
	if n := a.count(`SELECT count(*) FROM audit_events WHERE action = 'challenge.create' AND after->>'template' = 'ntire2024'`); n != 1 {
		t.Errorf("challenge.create audit: %d", n)
	}
	ctx := context.Background()
	digests := a.putBlobs("lr-0801", "hr-0801", "lr-0802", "hr-0802")
	err := a.store.InTx(ctx, func(tx pgx.Tx) error {
		var cid, pid int64
		if err := tx.QueryRow(ctx, `SELECT c.id, p.id FROM challenges c JOIN phases p ON p.challenge_id = c.id WHERE c.slug = 'esr24' AND p.name = 'final'`).Scan(&cid, &pid); err != nil {
			return err
		}
		ds, err := store.CreateDataset(ctx, tx, cid, "Set5-test", "test", []store.DatasetImage{
			{Name: "0801", LRSHA256: digests[0], HRSHA256: digests[1]}, {Name: "0802", LRSHA256: digests[2], HRSHA256: digests[3]}})
		if err != nil {
			return err
		}
		if err := store.SetDatasetManifest(ctx, tx, ds, false, []byte(`{"images": 2, "generated_lr": true}`)); err != nil {
			return err
		}
		return store.AddPhaseDataset(ctx, tx, pid, ds, true)
	})
	if err != nil {
		t.Fatal(err)
	}
	a.exec(`UPDATE phases SET revealed_at = '2027-01-01T00:00:00Z', runtime_basis = 'ratio', runtime_reference_ms = 12.5,
	    timing_protocol = 'official', ort_threads = 1 WHERE name = 'final' AND challenge_id = (SELECT id FROM challenges WHERE slug = 'esr24')`)

	// Export: organizers of the challenge only.
	if st, _, _ := a.api("GET", "/challenges/esr24/settings-export", tokOtto, ""); st != http.StatusNotFound {
		t.Errorf("export by an organizer of another challenge: %d", st)
	}
	for _, b := range []*browser{f.ann, f.olga} {
		if r := b.get("/admin/c/esr/export.json"); r.status != http.StatusNotFound {
			t.Errorf("panel export by a non-organizer: %d", r.status)
		}
	}
	if st, _, _ := a.api("GET", "/challenges/esr/settings-export", tokAnn, ""); st != http.StatusNotFound {
		t.Errorf("export by a participant: %d", st)
	}
	st, file1, hdr := a.api("GET", "/challenges/esr24/settings-export", tokRoot, "")
	if st != 200 || !strings.Contains(hdr.Get("Content-Disposition"), "esr24.challenge.v1.json") {
		t.Fatalf("export: %d %s", st, file1)
	}
	if p := f.root.get("/admin/c/esr24/export.json"); p.body != file1 {
		t.Error("the panel's export differs from the API's")
	}
	for _, want := range []string{`"format": "srarena-challenge"`, `"version": 1`, `"template": "ntire2024"`, `"name": "Set5-test"`,
		`"lr_sha256": "` + digests[0], `"revealed_at": "2027-01-01T00:00:00Z"`, `# Efficient SR`, `"registration": "approval"`,
		`"runtime_basis": "ratio"`, `"runtime_reference_ms": 12.5`, `"timing_protocol": "official"`, `"threads": 1`} {
		if !strings.Contains(file1, want) {
			t.Errorf("export lacks %s:\n%s", want, file1)
		}
	}
	for _, leak := range []string{"ann", "bob", "otto", `"id"`} {
		if strings.Contains(file1, leak) {
			t.Errorf("the export carries %s", leak)
		}
	}

	// Another server: a fresh database; its blob store has the images.
	b2 := newApp(t, challengeOpts{})
	root2 := b2.browser()
	root2.signupOnly("root2")
	b2.makeAdmin("root2")
	tok2 := root2.createToken("r2")
	b2.putBlobs("lr-0801", "hr-0801", "lr-0802", "hr-0802")
	challenges := b2.count(`SELECT count(*) FROM challenges`)
	for name, bad := range map[string]string{
		"other format":  strings.Replace(file1, `"srarena-challenge"`, `"codabench"`, 1),
		"newer version": strings.Replace(file1, `"version": 1`, `"version": 2`, 1),
		"unknown field": strings.Replace(file1, `"template"`, `"participants": [], "template"`, 1),
		"unknown dataset": strings.Replace(file1, `"Set5-test"
      ]`, `"Set14"
      ]`, 1),
		"bad rules":   strings.Replace(file1, `"name": "ntire2024"`, `"name": 7`, 1),
		"bad digest":  strings.Replace(file1, digests[0], "../../etc/passwd", 1),
		"bad threads": strings.Replace(file1, `"threads": 1`, `"threads": 0`, 1),
		"bad basis":   strings.Replace(file1, `"runtime_basis": "ratio"`, `"runtime_basis": "fastest"`, 1),
		"not json":    "{",
	} {
		if bad == file1 {
			t.Fatalf("%s: the replacement did not apply", name)
		}
		if st, body, _ := b2.api("POST", "/challenges/import?slug=bad", tok2, bad); st < 400 || st >= 500 || !strings.Contains(body, `"error"`) {
			t.Errorf("import of a file with %s: %d %s", name, st, body)
		}
	}
	if n := b2.count(`SELECT count(*) FROM challenges`); n != challenges || b2.count(`SELECT count(*) FROM audit_events`) != 0 {
		t.Fatalf("refused imports left %d challenges", n-challenges)
	}
	st, body, _ = b2.api("POST", "/challenges/import?slug=copy24", tok2, file1)
	if st != http.StatusCreated || !strings.Contains(body, `"datasets":["Set5-test"]`) || !strings.Contains(body, `"missing":[]`) {
		t.Fatalf("import: %d %s", st, body)
	}
	st, file2, _ := b2.api("GET", "/challenges/copy24/settings-export", tok2, "")
	if st != 200 {
		t.Fatalf("export of the copy: %d %s", st, file2)
	}
	if want := strings.Replace(file1, `"slug": "esr24"`, `"slug": "copy24"`, 1); file2 != want {
		t.Errorf("export → import → export is not the same file:\n%s\nvs\n%s", file2, want)
	}
	if st, _, _ := b2.api("POST", "/challenges/import?slug=copy24", tok2, file1); st != http.StatusConflict {
		t.Errorf("import under a taken slug: %d", st)
	}
	if n := b2.count(`SELECT count(*) FROM audit_events WHERE action = 'challenge.import' AND actor = 'root2'`); n != 1 {
		t.Errorf("challenge.import audit rows: %d", n)
	}
	// A dataset whose images this server lacks is reported, not linked.
	_, old, _ := a.api("GET", "/challenges/esr/settings-export", tokRoot, "")
	st, body, _ = b2.api("POST", "/challenges/import?slug=esr-old", tok2, old)
	if st != http.StatusCreated || !strings.Contains(body, `"missing":["DIV2K-val"]`) {
		t.Errorf("import with missing images: %d %s", st, body)
	}
	// Only site admins import.
	if st, _, _ := a.api("POST", "/challenges/import?slug=x1", tokOtto, file1); st != http.StatusNotFound {
		t.Errorf("import by an organizer: %d", st)
	}
	// The panel: a multipart upload with the form's token.
	upload := func(br *browser, csrf, slug, content string) resp {
		var buf bytes.Buffer
		mw := multipart.NewWriter(&buf)
		mw.WriteField("csrf_token", csrf)
		mw.WriteField("slug", slug)
		fw, _ := mw.CreateFormFile("file", "esr24.challenge.v1.json")
		io.WriteString(fw, content)
		mw.Close()
		req, _ := http.NewRequest("POST", br.a.srv.URL+"/admin/import", &buf)
		req.Header.Set("Content-Type", mw.FormDataContentType())
		return br.do(req)
	}
	if r := upload(f.root, f.root.csrf("/admin/import"), "panel24", file1); r.status != http.StatusSeeOther || r.loc != "/admin/c/panel24" {
		t.Errorf("panel import: %d %q %s", r.status, r.loc, r.body)
	}
	if r := upload(f.root, "forged", "panel25", file1); r.status != http.StatusForbidden {
		t.Errorf("panel import without the CSRF token: %d", r.status)
	}
	if r := upload(f.root, f.root.csrf("/admin/import"), "panel26", `{"format":"x"}`); r.status != http.StatusUnprocessableEntity || !strings.Contains(r.body, "format") {
		t.Errorf("panel import of a bad file: %d", r.status)
	}
	for _, b := range []*browser{f.otto, f.ann} {
		if r := b.get("/admin/import"); r.status != http.StatusNotFound {
			t.Errorf("import form for a non-admin: %d", r.status)
		}
		if r := upload(b, b.csrf("/c/esr"), "panel27", file1); r.status != http.StatusNotFound {
			t.Errorf("panel import by a non-admin: %d", r.status)
		}
	}
	if a.count(`SELECT count(*) FROM challenges WHERE slug IN ('panel25', 'panel26', 'panel27', 'x1')`) != 0 {
		t.Error("a refused import created a challenge")
	}
}

// TestModelsZip: an organizer downloads a phase's models as one streamed
// zip named team_ID.onnx with manifest.csv, every entry's sha256 as the
// manifest says; participants and organizers of another challenge get 404;
// the download is audited; a corrupted stored model cuts the download.
func TestModelsZip(t *testing.T) {
	t.Parallel()
	f := newContentFixture(t)
	a := f.a
	tokOtto, tokAnn, tokOlga := f.otto.createToken("o"), f.ann.createToken("a"), f.olga.createToken("g")
	for _, b := range []*browser{f.ann, f.olga} {
		if r := b.get("/admin/c/esr/phases/main/models.zip"); r.status != http.StatusNotFound || len(r.body) > 2000 {
			t.Errorf("panel zip for a non-organizer: %d", r.status)
		}
	}
	for _, tk := range []string{tokAnn, tokOlga} {
		if st, _, _ := a.api("GET", "/challenges/esr/phases/main/models.zip", tk, ""); st != http.StatusNotFound {
			t.Errorf("API zip for a non-organizer: %d", st)
		}
	}
	if st, _, _ := a.api("GET", "/challenges/esr/phases/main/models.zip", "", ""); st != http.StatusUnauthorized {
		t.Errorf("API zip anonymously: %d", st)
	}
	if a.count(`SELECT count(*) FROM audit_events WHERE action = 'models.download'`) != 0 {
		t.Fatal("refused downloads were audited as downloads")
	}
	check := func(body []byte) {
		t.Helper()
		zr, err := zip.NewReader(bytes.NewReader(body), int64(len(body)))
		if err != nil {
			t.Fatalf("zip: %v", err)
		}
		sums := map[string]string{}
		var manifest [][]string
		for _, zf := range zr.File {
			rc, err := zf.Open()
			if err != nil {
				t.Fatal(err)
			}
			b, err := io.ReadAll(rc)
			rc.Close()
			if err != nil {
				t.Fatal(err)
			}
			if zf.Name == "manifest.csv" {
				manifest, _ = csv.NewReader(bytes.NewReader(b)).ReadAll()
				continue
			}
			s := sha256.Sum256(b)
			sums[zf.Name] = hex.EncodeToString(s[:])
		}
		want := map[string]bool{"ann_" + f.annSub + ".onnx": true, "bob_" + f.bobSub + ".onnx": true}
		if len(sums) != 2 || !want[zr.File[0].Name] || !want[zr.File[1].Name] || len(manifest) != 3 {
			t.Fatalf("zip entries %v, manifest %v", sums, manifest)
		}
		for _, row := range manifest[1:] {
			if sums[row[0]] != row[9] || a.count(`SELECT count(*) FROM submissions WHERE id = $1 AND model_sha256 = $2`, mustInt(row[1]), row[9]) != 1 {
				t.Errorf("manifest row %v: entry sha256 %s", row, sums[row[0]])
			}
		}
	}
	r := f.otto.get("/admin/c/esr/phases/main/models.zip")
	if r.status != 200 {
		t.Fatalf("panel zip: %d %s", r.status, r.body)
	}
	check([]byte(r.body))
	st, body, hdr := a.api("GET", "/challenges/esr/phases/main/models.zip", tokOtto, "")
	if st != 200 || hdr.Get("Content-Type") != "application/zip" {
		t.Fatalf("API zip: %d %s", st, hdr.Get("Content-Type"))
	}
	check([]byte(body))
	if n := a.count(`SELECT count(*) FROM audit_events WHERE action = 'models.download' AND actor = 'otto' AND (after->>'models')::int = 2`); n != 2 {
		t.Errorf("models.download audit rows: %d", n)
	}
	if r := f.root.get("/admin/c/esr/phases/main/models.zip"); r.status != 200 {
		t.Errorf("site admin's zip: %d", r.status)
	}
	// A stored model whose bytes changed: the download breaks instead of
	// handing out a zip with a wrong model.
	var digest string
	a.pool.QueryRow(context.Background(), `SELECT model_sha256 FROM submissions WHERE id = $1`, mustInt(f.bobSub)).Scan(&digest)
	p := filepath.Join(a.blobDir, digest[:2], digest)
	if err := os.Chmod(p, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte("not the model"), 0o644); err != nil {
		t.Fatal(err)
	}
	req, _ := http.NewRequest("GET", a.srv.URL+"/api/v1/challenges/esr/phases/main/models.zip", nil)
	req.Header.Set("Authorization", "Bearer "+tokOtto)
	res, err := http.DefaultClient.Do(req)
	if err == nil {
		b, rerr := io.ReadAll(res.Body)
		res.Body.Close()
		if rerr == nil {
			if _, zerr := zip.NewReader(bytes.NewReader(b), int64(len(b))); zerr == nil {
				t.Error("a corrupted model gave a whole zip")
			}
		}
	}
}
