package web_test

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
)

// TestParticipantAuthorization walks every participant route as an
// anonymous visitor, as a member of team A (the owner) and as a member of
// team B, and proves nobody reads or changes what is not theirs: a
// submission's page, status and log, its model file, cancel and entry
// choice, team settings, and a hidden phase's scores before the reveal.
// Forms posted with the session cookie but without the CSRF token change
// nothing either.
func TestParticipantAuthorization(t *testing.T) {
	t.Parallel()
	a := newApp(t, challengeOpts{})
	ann, ada := a.browser(), a.browser() // team A
	bob := a.browser()                   // team B
	anon := a.browser()
	ann.signup("ann")
	bob.signup("bob")
	// ada joins ann's team through an invitation link.
	ada.signupOnly("ada")
	ann.post("/c/esr/team/rename", url.Values{"csrf_token": {ann.csrf("/c/esr/team")}, "name": {"Team A"}})
	bob.post("/c/esr/team/rename", url.Values{"csrf_token": {bob.csrf("/c/esr/team")}, "name": {"Team B"}})
	inv := ann.post("/c/esr/team/invite", url.Values{"csrf_token": {ann.csrf("/c/esr/team")}})
	link := regexpFind(t, `value="http://example.test(/join/[A-Za-z0-9_-]+)"`, inv.body)
	if r := anon.get(link); r.status != http.StatusSeeOther || !strings.HasPrefix(r.loc, "/login") {
		t.Errorf("anonymous opens the invitation: %d %q, want the login", r.status, r.loc)
	}
	if r := ada.post(link, url.Values{"csrf_token": {ada.csrf(link)}, "accept_terms": {"yes"}}); r.status != http.StatusSeeOther {
		t.Fatalf("ada joins: %d %s", r.status, r.body)
	}
	if r := ada.get("/c/esr/team"); !strings.Contains(r.body, "Team A") || !strings.Contains(r.body, ">ada<") || !strings.Contains(r.body, ">ann<") {
		t.Fatalf("ada's team page: %s", r.body)
	}

	// Team A's submission, finished, with a log line and a model file.
	r := ann.upload(ann.csrf("/c/esr"), "m.onnx", espcn(t))
	if r.status != http.StatusSeeOther {
		t.Fatalf("upload: %d %s", r.status, r.body)
	}
	id, _ := strconv.ParseInt(strings.TrimPrefix(r.loc, "/submissions/"), 10, 64)
	sub := "/submissions/" + strconv.FormatInt(id, 10)
	a.exec(`INSERT INTO submission_logs (submission_id, line) VALUES ($1, 'image 1/1 0801: PSNR 31.4159 dB, SSIM 0.9, 5.00 ms')`, id)

	type want struct{ anon, owner, mate, other int }
	reads := []struct {
		path string
		want want
	}{
		{sub, want{303, 200, 200, 404}},
		{sub + "/status.json", want{303, 200, 200, 404}},
		{sub + "/model.onnx", want{303, 200, 200, 404}},
		{"/c/esr/submissions", want{303, 200, 200, 200}},
		{"/c/esr/team", want{303, 200, 200, 200}},
	}
	who := []struct {
		name string
		b    *browser
		pick func(want) int
	}{
		{"anonymous", anon, func(w want) int { return w.anon }},
		{"owner", ann, func(w want) int { return w.owner }},
		{"team mate", ada, func(w want) int { return w.mate }},
		{"other team", bob, func(w want) int { return w.other }},
	}
	for _, rd := range reads {
		for _, w := range who {
			r := w.b.get(rd.path)
			if r.status != w.pick(rd.want) {
				t.Errorf("%s GET %s: %d, want %d", w.name, rd.path, r.status, w.pick(rd.want))
			}
			if w.name == "other team" && (strings.Contains(r.body, "31.4159") || strings.Contains(r.body, "Team A")) {
				t.Errorf("other team GET %s sees team A's data", rd.path)
			}
		}
	}
	if r := bob.get("/c/esr/submissions"); strings.Contains(r.body, sub) {
		t.Error("team B's list shows team A's submission")
	}

	// Changes: another team's cancel and entry choice are 404; without the
	// CSRF token, 403; the owner's cancel works.
	for _, path := range []string{sub + "/cancel", sub + "/select"} {
		if r := bob.post(path, url.Values{"csrf_token": {bob.csrf("/c/esr")}}); r.status != http.StatusNotFound {
			t.Errorf("other team POST %s: %d, want 404", path, r.status)
		}
		if r := ann.post(path, url.Values{}); r.status != http.StatusForbidden {
			t.Errorf("owner POST %s without the CSRF token: %d, want 403", path, r.status)
		}
		if r := anon.post(path, url.Values{}); r.status != http.StatusForbidden && r.status != http.StatusSeeOther {
			t.Errorf("anonymous POST %s: %d", path, r.status)
		}
	}
	for _, path := range []string{"/c/esr/team/rename", "/c/esr/team/leave", "/c/esr/team/invite", "/c/esr/team/invitations/withdraw", "/c/esr/team"} {
		if r := ann.post(path, url.Values{"name": {"Hijacked"}}); r.status != http.StatusForbidden {
			t.Errorf("POST %s without the CSRF token: %d, want 403", path, r.status)
		}
	}
	// Team settings act on the visitor's own team only: bob's rename
	// renames team B.
	bob.post("/c/esr/team/rename", url.Values{"csrf_token": {bob.csrf("/c/esr/team")}, "name": {"Team B2"}})
	if n := a.count(`SELECT count(*) FROM teams WHERE name IN ('Team A', 'Team B2')`); n != 2 {
		t.Errorf("teams after bob's rename: %d of Team A and Team B2, want 2", n)
	}
	if n := a.count(`SELECT count(*) FROM submissions WHERE status = 'queued'`); n != 1 {
		t.Fatalf("%d queued after the refused changes, want 1", n)
	}
	if r := ada.post(sub+"/cancel", url.Values{"csrf_token": {ada.csrf(sub)}}); r.status != http.StatusSeeOther {
		t.Fatalf("team mate cancels: %d %s", r.status, r.body)
	}
	if n := a.count(`SELECT count(*) FROM submissions WHERE status = 'cancelled'`); n != 1 {
		t.Errorf("%d cancelled, want 1", n)
	}

	// A hidden phase before the reveal: nobody but organizers sees scores,
	// the owner included; the status stays visible to the owner.
	a.exec(`UPDATE phases SET visibility = 'hidden'`)
	a.exec(`UPDATE submissions SET status = 'finished', started_at = now(), finished_at = now() WHERE id = $1`, id)
	a.exec(`INSERT INTO results (submission_id, psnr, runtime_ms, device) VALUES ($1, 31.4159, 5, 'cpu')`, id)
	for _, w := range who {
		var board struct {
			Hidden bool              `json:"hidden"`
			Rows   []json.RawMessage `json:"rows"`
		}
		r := w.b.get("/c/esr/leaderboard.json")
		if err := json.Unmarshal([]byte(r.body), &board); err != nil || !board.Hidden || len(board.Rows) != 0 || strings.Contains(r.body, "31.41") {
			t.Errorf("%s reads the hidden board: %s", w.name, r.body)
		}
		if r := w.b.get("/c/esr/leaderboard"); strings.Contains(r.body, "31.41") || !strings.Contains(r.body, "hidden-board") {
			t.Errorf("%s sees hidden scores on the board page", w.name)
		}
	}
	page := ann.get(sub)
	if page.status != 200 || strings.Contains(page.body, "31.41") || !strings.Contains(page.body, `data-testid="scores-hidden"`) ||
		!strings.Contains(page.body, ">finished<") {
		t.Errorf("owner's page of a hidden-phase submission: %d\n%s", page.status, page.body)
	}
	if st := ann.get(sub + "/status.json"); strings.Contains(st.body, "31.41") {
		t.Errorf("status.json shows the hidden score: %s", st.body)
	}
	// An admin (organizer rights) sees it.
	boss := a.browser()
	boss.signupOnly("boss")
	a.exec(`UPDATE users SET is_admin = true WHERE username = 'boss'`)
	if r := boss.get("/c/esr/leaderboard.json"); !strings.Contains(r.body, "31.41") {
		t.Errorf("admin does not see the hidden board: %s", r.body)
	}
}
