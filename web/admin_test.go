package web_test

import (
	"bytes"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"

	"github.com/srarena/srarena/scoring"
)

// makeAdmin turns a signed-up account into a site admin.
func (a *app) makeAdmin(username string) {
	a.exec(`UPDATE users SET is_admin = true WHERE username = $1`, username)
}

// TestAdminCreateFromTemplate: a site admin creates an NTIRE 2024 challenge
// from its template; its rules, phases (development open now, final test
// following, hidden until revealed) and the audit event are written; a
// refused form keeps its values and writes nothing.
func TestAdminCreateFromTemplate(t *testing.T) {
	t.Parallel()
	a := newApp(t, challengeOpts{})
	root := a.browser()
	root.signupOnly("root")
	a.makeAdmin("root")
	tok := root.csrf("/admin/new")
	form := url.Values{"csrf_token": {tok}, "template": {"ntire2024"}, "slug": {"esr24"}, "title": {"ESR 2024"},
		"description": {"<script>alert(1)</script> fast models"}, "terms": {"Be nice."}, "scale": {"4"},
		"max_upload_mb": {"32"}, "team_size": {"3"}, "registration": {"approval"}, "queue": {"eval_gpu"}}
	bad := url.Values{}
	for k, v := range form {
		bad[k] = v
	}
	bad.Set("slug", "Bad Slug!")
	if r := root.post("/admin/new", bad); r.status != http.StatusUnprocessableEntity || !strings.Contains(r.body, "slug is 2–63") || !strings.Contains(r.body, "ESR 2024") {
		t.Fatalf("bad slug: %d %s", r.status, r.body)
	}
	if n := a.count(`SELECT count(*) FROM challenges WHERE title = 'ESR 2024'`); n != 0 {
		t.Fatalf("refused form created %d challenges", n)
	}
	if r := root.post("/admin/new", form); r.status != http.StatusSeeOther || r.loc != "/admin/c/esr24" {
		t.Fatalf("create: %d %q %s", r.status, r.loc, r.body)
	}
	if r := root.post("/admin/new", form); r.status != http.StatusConflict || !strings.Contains(r.body, "is taken") {
		t.Errorf("second create with the same slug: %d", r.status)
	}
	if n := a.count(`SELECT count(*) FROM challenges WHERE slug = 'esr24' AND rules->>'name' = 'ntire2024' AND template = 'ntire2024'
		AND queue = 'eval_gpu' AND registration = 'approval' AND team_size_limit = 3 AND max_upload_bytes = 32 << 20`); n != 1 {
		t.Errorf("challenge row: %d matching", n)
	}
	// The first phase opens at once, the final test follows it.
	if n := a.count(`SELECT count(*) FROM phases p JOIN challenges c ON c.id = p.challenge_id WHERE c.slug = 'esr24'
		AND ((p.name = 'development' AND p.position = 0 AND p.opens_at <= now() AND p.visibility = 'public')
		  OR (p.name = 'final' AND p.visibility = 'hidden' AND p.opens_at = (SELECT closes_at FROM phases q WHERE q.challenge_id = c.id AND q.name = 'development')))`); n != 2 {
		t.Errorf("phases: %d as expected, want 2", n)
	}
	if n := a.count(`SELECT count(*) FROM audit_events e JOIN challenges c ON c.id = e.challenge_id
		WHERE c.slug = 'esr24' AND e.action = 'challenge.create' AND e.actor = 'root' AND e.after->>'template' = 'ntire2024'`); n != 1 {
		t.Errorf("audit events of the creation: %d, want 1", n)
	}
	page := root.get("/admin/c/esr24")
	if page.status != 200 || !strings.Contains(page.body, "challenge.create") || strings.Contains(page.body, "<script>alert") {
		t.Errorf("panel page: %d (audit shown, description escaped?) %s", page.status, page.body)
	}
	// The public page renders the description as sanitized Markdown: the
	// raw HTML block (a line starting with <script>, up to </script>) is
	// dropped (package markdown's tests cover hostile input in detail).
	if r := root.get("/c/esr24"); strings.Contains(r.body, "alert(1)") || !strings.Contains(r.body, `data-testid="description"`) {
		t.Error("the description's raw HTML reached the public page")
	}
	// An edit of a phase is logged with before and after.
	r := root.post("/admin/c/esr24/phases/development", url.Values{"csrf_token": {root.csrf("/admin/c/esr24")}, "title": {"Dev"},
		"opens": {"2026-01-01T00:00"}, "closes": {"2027-01-01T00:00"}, "quota_daily": {"7"}, "quota_total": {"0"},
		"quota_concurrent": {"2"}, "entry_rule": {"best"}, "visibility": {"public"}, "threads": {"1"}})
	if r.status != http.StatusSeeOther {
		t.Fatalf("phase update: %d %s", r.status, r.body)
	}
	if n := a.count(`SELECT count(*) FROM audit_events WHERE action = 'phase.update' AND (before->>'quota_daily')::int = 20 AND (after->>'quota_daily')::int = 7
	    AND before->'threads' = 'null' AND (after->>'threads')::int = 1`); n != 1 {
		t.Errorf("phase.update audit rows: %d", n)
	}
	if page := root.get("/admin/c/esr24"); !strings.Contains(page.body, `name="threads" value="1"`) {
		t.Error("the panel does not show the phase's threads")
	}
	// A thread count out of range is refused (no audit row).
	r = root.post("/admin/c/esr24/phases/development", url.Values{"csrf_token": {root.csrf("/admin/c/esr24")}, "title": {"Dev"},
		"entry_rule": {"best"}, "visibility": {"public"}, "threads": {"0"}})
	if r.status != http.StatusSeeOther || a.count(`SELECT count(*) FROM audit_events WHERE action = 'phase.update'`) != 1 ||
		a.count(`SELECT count(*) FROM phases p JOIN challenges c ON c.id = p.challenge_id WHERE c.slug = 'esr24' AND p.name = 'development' AND p.ort_threads = 1`) != 1 {
		t.Errorf("phase edit with 0 threads: %d", r.status)
	}
	// An invalid phase edit changes nothing and writes no audit row.
	r = root.post("/admin/c/esr24/phases/development", url.Values{"csrf_token": {root.csrf("/admin/c/esr24")}, "title": {"Dev"},
		"opens": {"2027-01-01T00:00"}, "closes": {"2026-01-01T00:00"}, "entry_rule": {"best"}, "visibility": {"public"}})
	if r.status != http.StatusSeeOther || a.count(`SELECT count(*) FROM audit_events WHERE action = 'phase.update'`) != 1 {
		t.Errorf("invalid phase edit: %d, audit rows %d", r.status, a.count(`SELECT count(*) FROM audit_events WHERE action = 'phase.update'`))
	}
	// Settings: an invalid rule set is refused with the form kept.
	r = root.post("/admin/c/esr24", url.Values{"csrf_token": {root.csrf("/admin/c/esr24")}, "title": {"ESR 2024b"}, "scale": {"4"},
		"max_upload_mb": {"32"}, "team_size": {"3"}, "registration": {"open"}, "queue": {"eval_cpu"}, "rules": {`{"tracks": "no"}`}})
	if r.status != http.StatusUnprocessableEntity || !strings.Contains(r.body, "not a valid rule set") {
		t.Errorf("invalid rules: %d", r.status)
	}
}

// TestAdminAuthorization: a participant, an organizer of another challenge
// and an anonymous visitor reach no organizer page, action or export of
// this challenge; its organizer does. Refused actions change nothing.
func TestAdminAuthorization(t *testing.T) {
	t.Parallel()
	a := newApp(t, challengeOpts{})
	root, otto, olga, ann, anon := a.browser(), a.browser(), a.browser(), a.browser(), a.browser()
	root.signupOnly("root")
	a.makeAdmin("root")
	otto.signupOnly("otto") // organizes esr
	olga.signupOnly("olga") // organizes another challenge
	ann.signup("ann")       // a participant of esr
	tok := root.csrf("/admin/new")
	if r := root.post("/admin/new", url.Values{"csrf_token": {tok}, "template": {"aim2020"}, "slug": {"other"}, "title": {"Other"},
		"scale": {"4"}, "max_upload_mb": {"8"}, "team_size": {"2"}, "registration": {"open"}, "queue": {"eval_cpu"}}); r.status != http.StatusSeeOther {
		t.Fatalf("create other: %d %s", r.status, r.body)
	}
	for _, g := range [][2]string{{"esr", "otto"}, {"other", "olga"}} {
		if r := root.post("/admin/c/"+g[0]+"/organizers", url.Values{"csrf_token": {root.csrf("/admin/c/" + g[0])}, "username": {g[1]}}); r.status != http.StatusSeeOther {
			t.Fatalf("grant %v: %d %s", g, r.status, r.body)
		}
	}
	r := ann.upload(ann.csrf("/c/esr"), "m.onnx", espcn(t))
	if r.status != http.StatusSeeOther {
		t.Fatalf("upload: %d %s", r.status, r.body)
	}
	id := strings.TrimPrefix(r.loc, "/submissions/")
	a.exec(`UPDATE submissions SET status = 'finished', finished_at = now() WHERE id = $1`, mustInt(id))
	a.exec(`INSERT INTO results (submission_id, psnr, runtime_ms, device) VALUES ($1, 28.123456, 5, 'cpu')`, mustInt(id))
	var teamID int
	teamID = a.count(`SELECT team_id::int FROM submissions WHERE id = $1`, mustInt(id))
	audits := a.count(`SELECT count(*) FROM audit_events`)

	gets := []string{"/admin/c/esr", "/admin/c/esr/submissions", "/admin/c/esr/phases/main/results.csv",
		"/admin/c/esr/phases/main/results.json", "/admin/c/esr/phases/main/frozen/1.csv"}
	posts := []string{"/admin/c/esr", "/admin/c/esr/organizers", "/admin/c/esr/phases/main", "/admin/c/esr/phases/main/reveal",
		"/admin/c/esr/phases/main/freeze", "/admin/c/esr/phases/main/rerun", "/admin/c/esr/teams/" + strconv.Itoa(teamID) + "/disqualify",
		"/admin/c/esr/registrations/1/approve", "/admin/submissions/" + id + "/rerun", "/admin/submissions/" + id + "/cancel",
		"/admin/submissions/" + id + "/hide"}
	for _, w := range []struct {
		name string
		b    *browser
	}{{"participant", ann}, {"organizer of another challenge", olga}, {"anonymous", anon}} {
		for _, p := range gets {
			r := w.b.get(p)
			if r.status != http.StatusNotFound && !(w.b == anon && r.status == http.StatusSeeOther) {
				t.Errorf("%s GET %s: %d, want 404", w.name, p, r.status)
			}
			if strings.Contains(r.body, "28.123") {
				t.Errorf("%s GET %s sees the score", w.name, p)
			}
		}
		tok := ""
		if w.b != anon {
			tok = w.b.csrf("/c/esr")
		}
		for _, p := range posts {
			r := w.b.post(p, url.Values{"csrf_token": {tok}, "username": {w.name}, "reason": {"x"}, "title": {"Hijacked"},
				"scale": {"4"}, "max_upload_mb": {"8"}, "team_size": {"2"}, "registration": {"open"}, "queue": {"eval_cpu"},
				"entry_rule": {"best"}, "visibility": {"public"}, "which": {"all"}})
			if r.status != http.StatusNotFound && !(w.b == anon && (r.status == http.StatusSeeOther || r.status == http.StatusForbidden)) {
				t.Errorf("%s POST %s: %d, want 404", w.name, p, r.status)
			}
		}
	}
	if n := a.count(`SELECT count(*) FROM audit_events`); n != audits {
		t.Errorf("refused actions wrote %d audit events", n-audits)
	}
	if n := a.count(`SELECT count(*) FROM submissions WHERE status = 'finished' AND hidden_reason = ''`); n != 1 {
		t.Error("a refused action changed the submission")
	}
	if n := a.count(`SELECT count(*) FROM challenges WHERE title = 'Hijacked'`) + a.count(`SELECT count(*) FROM phases WHERE title = 'Hijacked'`); n != 0 {
		t.Error("a refused action changed a challenge or phase")
	}
	// The panel lists only the viewer's challenges; /admin is 404 for
	// someone who organizes none; creating is for site admins only.
	if r := olga.get("/admin"); r.status != 200 || strings.Contains(r.body, "/admin/c/esr") || !strings.Contains(r.body, "/admin/c/other") {
		t.Errorf("olga's panel: %d", r.status)
	}
	for _, b := range []*browser{olga, ann, otto} {
		if r := b.get("/admin/workers"); r.status != http.StatusNotFound {
			t.Errorf("non-admin GET /admin/workers: %d", r.status)
		}
	}
	a.exec(`INSERT INTO workers (id, host, queue, device, hardware, ort_version) VALUES ('w1', 'gpu-host-7', 'eval_gpu', 'cuda', 'H200', '1.30.0')`)
	if r := root.get("/admin/workers"); r.status != 200 || !strings.Contains(r.body, "gpu-host-7") || !strings.Contains(r.body, "1.30.0") {
		t.Errorf("site admin's worker list: %d", r.status)
	}
	if r := ann.get("/admin"); r.status != http.StatusNotFound {
		t.Errorf("participant GET /admin: %d", r.status)
	}
	for _, b := range []*browser{olga, ann} {
		if r := b.get("/admin/new"); r.status != http.StatusNotFound {
			t.Errorf("non-admin GET /admin/new: %d", r.status)
		}
		if r := b.post("/admin/new", url.Values{"csrf_token": {b.csrf("/c/esr")}, "template": {"aim2020"}, "slug": {"x" + strconv.Itoa(len(b.csrf("/c/esr")))}}); r.status != http.StatusNotFound {
			t.Errorf("non-admin POST /admin/new: %d", r.status)
		}
	}
	// The organizer reaches everything; without the CSRF token, nothing.
	for _, p := range gets[:4] {
		if r := otto.get(p); r.status != 200 {
			t.Errorf("organizer GET %s: %d", p, r.status)
		}
	}
	if r := otto.post("/admin/submissions/"+id+"/rerun", url.Values{}); r.status != http.StatusForbidden {
		t.Errorf("organizer POST without CSRF: %d", r.status)
	}
	if r := otto.post("/admin/c/esr/organizers", url.Values{"csrf_token": {otto.csrf("/admin/c/esr")}, "username": {"ann"}}); r.status != http.StatusNotFound {
		t.Errorf("an organizer grants rights: %d, want 404 (site admins only)", r.status)
	}
}

// TestAdminModeration: re-run, hide, disqualify with a reason the team
// sees, reveal, freeze (later re-runs leave the frozen version alone), and
// an export whose ranks equal scoring.RankResults on its own columns.
func TestAdminModeration(t *testing.T) {
	t.Parallel()
	a := newApp(t, challengeOpts{})
	root, ann, bob := a.browser(), a.browser(), a.browser()
	root.signupOnly("root")
	a.makeAdmin("root")
	ann.signup("ann")
	bob.signup("bob")
	var ids []string
	for i, b := range []*browser{ann, bob, ann} {
		r := b.upload(b.csrf("/c/esr"), "m.onnx", espcn(t))
		if r.status != http.StatusSeeOther {
			t.Fatalf("upload: %d %s", r.status, r.body)
		}
		id := strings.TrimPrefix(r.loc, "/submissions/")
		ids = append(ids, id)
		a.exec(`UPDATE submissions SET status = 'finished', finished_at = now() WHERE id = $1`, mustInt(id))
		a.exec(`INSERT INTO results (submission_id, psnr, runtime_ms, device) VALUES ($1, $2, $3, 'cpu')`, mustInt(id), 30.0+float64(i), 10.0-float64(i))
	}
	a.exec(`UPDATE phases SET visibility = 'hidden'`)
	jobs := a.count(`SELECT count(*) FROM river_job`)
	tok := root.csrf("/admin/c/esr")
	if r := root.post("/admin/submissions/"+ids[0]+"/rerun", url.Values{"csrf_token": {tok}}); r.status != http.StatusSeeOther || r.loc != "/admin/c/esr/submissions" {
		t.Fatalf("rerun: %d %q %s", r.status, r.loc, r.body)
	}
	if n := a.count(`SELECT count(*) FROM submissions WHERE id = $1 AND status = 'queued' AND attempts = 0`, mustInt(ids[0])); n != 1 {
		t.Error("the re-run submission is not queued")
	}
	if n := a.count(`SELECT count(*) FROM river_job`); n != jobs+1 {
		t.Errorf("jobs after a re-run: %d, want %d", n, jobs+1)
	}
	if r := root.post("/admin/submissions/"+ids[0]+"/rerun", url.Values{"csrf_token": {tok}}); r.status != http.StatusSeeOther ||
		a.count(`SELECT count(*) FROM river_job`) != jobs+1 {
		t.Error("a queued submission was re-run again")
	}
	a.exec(`UPDATE submissions SET status = 'finished', finished_at = now() WHERE id = $1`, mustInt(ids[0]))
	// The submission table filters and searches.
	if r := root.get("/admin/c/esr/submissions?status=finished&q=bob"); strings.Count(r.body, `data-testid="admin-submission"`) != 1 {
		t.Errorf("search bob: %d rows", strings.Count(r.body, `data-testid="admin-submission"`))
	}
	// Disqualify bob's team: bob sees the reason, the board loses the row.
	bobTeam := a.count(`SELECT team_id::int FROM submissions WHERE id = $1`, mustInt(ids[1]))
	if r := root.post("/admin/c/esr/teams/"+strconv.Itoa(bobTeam)+"/disqualify", url.Values{"csrf_token": {tok}, "reason": {"copied a published model"}}); r.status != http.StatusSeeOther {
		t.Fatalf("disqualify: %d %s", r.status, r.body)
	}
	if r := bob.upload(bob.csrf("/c/esr"), "m.onnx", espcn(t)); !strings.Contains(r.body, "copied a published model") {
		t.Errorf("bob's refused upload does not say why: %d %s", r.status, r.body)
	}
	// Reveal, then the public board shows ann, not bob.
	if r := root.post("/admin/c/esr/phases/main/reveal", url.Values{"csrf_token": {tok}}); r.status != http.StatusSeeOther {
		t.Fatalf("reveal: %d %s", r.status, r.body)
	}
	board := ann.get("/c/esr/leaderboard.json").body
	if !strings.Contains(board, `"ann"`) || strings.Contains(board, `"bob"`) || strings.Contains(board, `"hidden":true`) {
		t.Errorf("board after reveal and disqualification: %s", board)
	}
	// Export: ranks equal scoring's on the exported columns.
	exp := root.get("/admin/c/esr/phases/main/results.csv")
	if exp.status != 200 {
		t.Fatalf("export: %d %s", exp.status, exp.body)
	}
	tab, err := scoring.ReadResultsCSV(strings.NewReader(exp.body))
	if err != nil {
		t.Fatal(err)
	}
	if len(tab.Rows) != 1 || tab.Rows[0][tab.Col("team")] != "ann" || tab.Rows[0][tab.Col("time_rank")] != "1" {
		t.Errorf("export: %s", exp.body)
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
	// Freeze, then a re-run and a changed result leave version 1 alone.
	if r := root.post("/admin/c/esr/phases/main/freeze", url.Values{"csrf_token": {tok}}); r.status != http.StatusSeeOther {
		t.Fatalf("freeze: %d", r.status)
	}
	v1 := root.get("/admin/c/esr/phases/main/frozen/1.csv")
	if v1.status != 200 || v1.body != exp.body {
		t.Errorf("frozen v1: %d %s", v1.status, v1.body)
	}
	root.post("/admin/submissions/"+ids[2]+"/rerun", url.Values{"csrf_token": {tok}})
	a.exec(`UPDATE results SET runtime_ms = 99 WHERE submission_id = $1`, mustInt(ids[2]))
	a.exec(`UPDATE submissions SET status = 'finished' WHERE id = $1`, mustInt(ids[2]))
	root.post("/admin/c/esr/phases/main/freeze", url.Values{"csrf_token": {tok}})
	if r := root.get("/admin/c/esr/phases/main/frozen/1.csv"); r.body != v1.body {
		t.Error("frozen version 1 changed")
	}
	if r := root.get("/admin/c/esr/phases/main/frozen/2.csv"); r.status != 200 || r.body == v1.body {
		t.Errorf("version 2: %d", r.status)
	}
	// Hide: the row leaves the board; the audit log has every action.
	root.post("/admin/submissions/"+ids[0]+"/hide", url.Values{"csrf_token": {tok}, "reason": {"duplicate"}})
	for _, act := range []string{"submission.rerun", "team.disqualify", "phase.reveal", "phase.freeze", "submission.hide"} {
		if n := a.count(`SELECT count(*) FROM audit_events WHERE action = $1 AND actor = 'root'`, act); n == 0 {
			t.Errorf("no audit event %s", act)
		}
	}
	if r := root.get("/admin/c/esr"); !strings.Contains(r.body, "copied a published model") || !strings.Contains(r.body, "phase.freeze") {
		t.Error("the panel does not show the audit log")
	}
}
