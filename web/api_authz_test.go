package web_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"mime/multipart"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/go-chi/chi/v5"
	"github.com/jackc/pgx/v5"

	"github.com/srarena/srarena/analysis"
	"github.com/srarena/srarena/store"
)

// apiUpload posts a model to the API as `srarena submit` does.
func (a *app) apiUpload(token, phase string, model []byte, hdr ...string) (int, string) {
	a.t.Helper()
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	mw.WriteField("phase", phase)
	mw.WriteField("label", "api "+phase)
	fw, _ := mw.CreateFormFile("model", "m.onnx")
	fw.Write(model)
	mw.Close()
	req, _ := http.NewRequest("POST", a.srv.URL+"/api/v1/challenges/esr/submissions?phase="+url.QueryEscape(phase), &body)
	req.Header.Set("Content-Type", mw.FormDataContentType())
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		a.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func idOf(t *testing.T, body string) string {
	t.Helper()
	var s struct{ ID int64 }
	if err := json.Unmarshal([]byte(body), &s); err != nil || s.ID == 0 {
		t.Fatalf("no submission id in %s", body)
	}
	return strconv.FormatInt(s.ID, 10)
}

// TestAPIAuthorization walks every /api/v1 route (the test fails when a
// route is added without a case here) and the participant pages this work
// added, as anonymous, as a member of team A, as a member of team B, with a
// revoked token and with a session cookie but no CSRF token, and checks
// that nobody reads or changes what is not theirs: submissions, logs,
// results, team lists, hidden-phase scores before the reveal, tokens.
func TestAPIAuthorization(t *testing.T) {
	t.Parallel()
	a := newApp(t, challengeOpts{})
	ctx := context.Background()
	// A second phase whose scores stay hidden until the organizers reveal
	// them.
	err := a.store.InTx(ctx, func(tx pgx.Tx) error {
		pid, err := store.CreatePhase(ctx, tx, a.chID, 1, store.NewPhase{Name: "final", Title: "Final test", Visibility: store.VisibilityHidden})
		if err != nil {
			return err
		}
		return store.AddPhaseDataset(ctx, tx, pid, a.dsID, true)
	})
	if err != nil {
		t.Fatal(err)
	}
	alice, bob, carol := a.browser(), a.browser(), a.browser()
	alice.signup("alice") // team A (solo)
	bob.signup("bob")     // team B (solo)
	carol.signup("carol")
	tokA, tokB, tokRevoked := alice.createToken("a"), bob.createToken("b"), carol.createToken("c")
	var carolTok string
	a.pool.QueryRow(ctx, `SELECT t.id::text FROM api_tokens t JOIN users u ON u.id = t.user_id WHERE u.username = 'carol'`).Scan(&carolTok)
	if r := carol.post("/account/tokens/"+carolTok+"/revoke", url.Values{"csrf_token": {carol.csrf("/account")}}); r.status != 303 {
		t.Fatalf("revoke: %d", r.status)
	}

	model := espcn(t)
	submit := func(tok, phase string) string {
		st, body := a.apiUpload(tok, phase, model)
		if st != http.StatusCreated {
			t.Fatalf("submit to %s: %d %s", phase, st, body)
		}
		return idOf(t, body)
	}
	subA, subAHidden, subAQueued, subB := submit(tokA, "main"), submit(tokA, "final"), submit(tokA, "main"), submit(tokB, "main")
	for _, id := range []string{subA, subAHidden, subB} {
		n := mustInt(id)
		a.exec(`UPDATE submissions SET status = 'finished', started_at = now(), finished_at = now() WHERE id = $1`, n)
		a.exec(`INSERT INTO results (submission_id, psnr, ssim, runtime_ms, repeats, per_image)
			VALUES ($1, $2, 0.9, 12.5, 3, '[{"name":"0801","psnr":31.5}]')`, n, 31.2345+float64(n))
		a.exec(`INSERT INTO submission_logs (submission_id, line) VALUES ($1, 'image 1/1 0801: PSNR 31.5 dB, 12.5 ms')`, n)
	}
	hiddenPSNR := strconv.FormatFloat(31.2345+float64(mustInt(subAHidden)), 'f', 4, 64)

	type actor struct {
		name  string
		token string
		hdr   []string // extra headers (the cookie actor)
		c     *browser // sends the session cookie
	}
	anon := actor{name: "anonymous"}
	memberA := actor{name: "team A", token: tokA}
	memberB := actor{name: "team B", token: tokB}
	revoked := actor{name: "revoked token", token: tokRevoked}
	cookie := actor{name: "cookie, no CSRF", c: alice}
	actors := []actor{anon, memberA, memberB, revoked, cookie}

	call := func(ac actor, method, path, body string) (int, string) {
		t.Helper()
		req, _ := http.NewRequest(method, a.srv.URL+"/api/v1"+path, strings.NewReader(body))
		if body != "" {
			req.Header.Set("Content-Type", "application/json")
		}
		if ac.token != "" {
			req.Header.Set("Authorization", "Bearer "+ac.token)
		}
		if ac.c != nil {
			r := ac.c.do(req)
			return r.status, r.body
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	// want gives the status each actor must get; deny lists substrings that
	// must not appear in any answer but the owner's.
	type check struct {
		route  string // method and chi pattern, to prove every route is walked
		method string
		path   string
		body   string
		want   map[string]int
		deny   []string // must not appear in the answer of anyone but team A
		after  func(t *testing.T)
	}
	all := func(code int) map[string]int {
		return map[string]int{anon.name: code, memberA.name: code, memberB.name: code, revoked.name: 401, cookie.name: code}
	}
	owner := func(code int) map[string]int {
		return map[string]int{anon.name: 401, memberA.name: code, memberB.name: 404, revoked.name: 401, cookie.name: 401}
	}
	checks := []check{
		{route: "GET /api/v1/openapi.json", method: "GET", path: "/openapi.json",
			want: map[string]int{anon.name: 200, memberA.name: 200, memberB.name: 200, revoked.name: 401, cookie.name: 200}},
		{route: "GET /api/v1/me", method: "GET", path: "/me",
			want: map[string]int{anon.name: 401, memberA.name: 200, memberB.name: 200, revoked.name: 401, cookie.name: 401}},
		{route: "GET /api/v1/challenges", method: "GET", path: "/challenges", want: all(200)},
		{route: "GET /api/v1/challenges/{slug}", method: "GET", path: "/challenges/esr", want: all(200), deny: []string{`"alice"`}},
		{route: "GET /api/v1/challenges/{slug}/phases", method: "GET", path: "/challenges/esr/phases", want: all(200)},
		{route: "GET /api/v1/challenges/{slug}/leaderboard", method: "GET", path: "/challenges/esr/leaderboard?phase=final",
			want: all(200), deny: []string{hiddenPSNR}},
		{route: "GET /api/v1/challenges/{slug}/submissions", method: "GET", path: "/challenges/esr/submissions",
			want: map[string]int{anon.name: 401, memberA.name: 200, memberB.name: 200, revoked.name: 401, cookie.name: 401},
			deny: []string{`"id":` + subA + `,`, `"id":` + subAQueued + `,`}},
		{route: "GET /api/v1/submissions/{id}", method: "GET", path: "/submissions/" + subA, want: owner(200), deny: []string{"31.5"}},
		{route: "GET /api/v1/submissions/{id}", method: "GET", path: "/submissions/" + subAHidden, want: owner(200), deny: []string{hiddenPSNR}},
		{route: "GET /api/v1/submissions/{id}/log", method: "GET", path: "/submissions/" + subA + "/log", want: owner(200), deny: []string{"31.5 dB"}},
		{route: "GET /api/v1/submissions/{id}/log", method: "GET", path: "/submissions/" + subAHidden + "/log", want: owner(200), deny: []string{"31.5 dB"}},
		{route: "POST /api/v1/submissions/{id}/select", method: "POST", path: "/submissions/" + subA + "/select",
			want: map[string]int{anon.name: 401, memberA.name: 409, memberB.name: 404, revoked.name: 401, cookie.name: 401}},
		// Public and stateless: anyone may analyse a table; a revoked token
		// is still refused like on every route.
		{route: "POST /api/v1/analysis", method: "POST", path: "/analysis", body: string(analysis.References[0].CSV()), want: all(200)},
		{route: "POST /api/v1/challenges/{slug}/registration", method: "POST", path: "/challenges/esr/registration", body: `{"accept_terms": true}`,
			want: map[string]int{anon.name: 401, memberA.name: 409, memberB.name: 409, revoked.name: 401, cookie.name: 401}},
	}
	// The owner's view of the hidden submission must not carry its score
	// either: participants see only its status before the reveal.
	st, body := call(memberA, "GET", "/submissions/"+subAHidden, "")
	if st != 200 || strings.Contains(body, hiddenPSNR) || !strings.Contains(body, `"scores_hidden":true`) {
		t.Errorf("owner's hidden-phase submission before the reveal: %d %s", st, body)
	}
	if _, body := call(memberA, "GET", "/challenges/esr/leaderboard?phase=final", ""); strings.Contains(body, hiddenPSNR) {
		t.Errorf("the hidden board shows a score to a participant: %s", body)
	}
	if _, body := call(memberA, "GET", "/submissions/"+subAHidden+"/log", ""); strings.Contains(body, "31.5") {
		t.Errorf("the hidden submission's log shows its scores: %s", body)
	}

	covered := map[string]bool{}
	for _, c := range checks {
		covered[c.route] = true
		for _, ac := range actors {
			st, body := call(ac, c.method, c.path, c.body)
			if want, ok := c.want[ac.name]; ok && st != want {
				t.Errorf("%s %s as %s: %d, want %d\n%.300s", c.method, c.path, ac.name, st, want, body)
			}
			if ac.name != memberA.name {
				for _, d := range c.deny {
					if strings.Contains(body, d) {
						t.Errorf("%s %s as %s shows %q\n%.300s", c.method, c.path, ac.name, d, body)
					}
				}
			}
			if st >= 400 && !strings.Contains(body, `"error"`) {
				t.Errorf("%s %s as %s: error %d is not the JSON envelope: %.200s", c.method, c.path, ac.name, st, body)
			}
		}
	}

	// Changes: cancel and submit, by everyone but the owner first.
	cancel := "/submissions/" + subAQueued + "/cancel"
	covered["POST /api/v1/submissions/{id}/cancel"] = true
	for _, ac := range []actor{anon, memberB, revoked, cookie} {
		if st, body := call(ac, "POST", cancel, ""); st != map[bool]int{true: 404, false: 401}[ac.name == memberB.name] {
			t.Errorf("cancel as %s: %d %s", ac.name, st, body)
		}
	}
	if n := a.count(`SELECT count(*) FROM submissions WHERE id = $1 AND status = 'queued'`, mustInt(subAQueued)); n != 1 {
		t.Fatal("someone else cancelled team A's submission")
	}
	if st, body := call(memberA, "POST", cancel, ""); st != 200 || !strings.Contains(body, `"status":"cancelled"`) {
		t.Errorf("owner's cancel: %d %s", st, body)
	}

	covered["POST /api/v1/challenges/{slug}/submissions"] = true
	before := a.count(`SELECT count(*) FROM submissions`)
	for _, ac := range []actor{anon, revoked} {
		if st, body := a.apiUpload(ac.token, "main", model); st != 401 || !strings.Contains(body, `"error"`) {
			t.Errorf("submit as %s: %d %s", ac.name, st, body)
		}
	}
	// The cookie without a token: the session is ignored.
	{
		var buf bytes.Buffer
		mw := multipart.NewWriter(&buf)
		fw, _ := mw.CreateFormFile("model", "m.onnx")
		fw.Write(model)
		mw.Close()
		req, _ := http.NewRequest("POST", a.srv.URL+"/api/v1/challenges/esr/submissions", &buf)
		req.Header.Set("Content-Type", mw.FormDataContentType())
		if r := alice.do(req); r.status != 401 {
			t.Errorf("submit with a session cookie and no token: %d %s", r.status, r.body)
		}
	}
	if n := a.count(`SELECT count(*) FROM submissions`); n != before {
		t.Errorf("refused submits stored %d submissions", n-before)
	}

	// Organizer routes: participants (the owner included) get 404, tokens
	// that are no token 401, and nothing changes.
	audits, datasets := a.count(`SELECT count(*) FROM audit_events`), a.count(`SELECT count(*) FROM datasets`)
	for _, c := range []struct{ method, path, route string }{
		{"POST", "/submissions/" + subAQueued + "/rerun", "POST /api/v1/submissions/{id}/rerun"},
		{"GET", "/challenges/esr/results?format=csv", "GET /api/v1/challenges/{slug}/results"},
		{"GET", "/challenges/esr/results", "GET /api/v1/challenges/{slug}/results"},
		{"POST", "/challenges/esr/datasets", "POST /api/v1/challenges/{slug}/datasets"},
		{"POST", "/challenges/esr/baselines", "POST /api/v1/challenges/{slug}/baselines"},
		{"POST", "/challenges/esr/phases/main/retime", "POST /api/v1/challenges/{slug}/phases/{phase}/retime"},
		{"POST", "/challenges", "POST /api/v1/challenges"},
		{"POST", "/challenges/import", "POST /api/v1/challenges/import"},
		{"GET", "/challenges/esr/settings-export", "GET /api/v1/challenges/{slug}/settings-export"},
		{"GET", "/challenges/esr/phases/main/models.zip", "GET /api/v1/challenges/{slug}/phases/{phase}/models.zip"},
		{"POST", "/submissions/" + subA + "/override", "POST /api/v1/submissions/{id}/override"},
		{"POST", "/submissions/" + subA + "/override/revert", "POST /api/v1/submissions/{id}/override/revert"},
		{"POST", "/users/bob/ban", "POST /api/v1/users/{username}/ban"},
		{"POST", "/users/bob/unban", "POST /api/v1/users/{username}/unban"},
		// The challenge's only set is not public: its LR is the organizers'
		// too (TestDatasetDownloads walks the public case).
		{"GET", "/challenges/esr/datasets/DIV2K-val/lr.zip", "GET /api/v1/challenges/{slug}/datasets/{name}/lr.zip"},
		{"GET", "/challenges/esr/datasets/DIV2K-val/hr.zip", "GET /api/v1/challenges/{slug}/datasets/{name}/hr.zip"},
	} {
		covered[c.route] = true
		for _, ac := range []actor{anon, memberA, memberB, revoked, cookie} {
			want := 401
			if ac.name == memberA.name || ac.name == memberB.name {
				want = 404
			}
			if st, body := call(ac, c.method, c.path, ""); st != want || strings.Contains(body, "psnr") {
				t.Errorf("%s %s as %s: %d, want %d: %.200s", c.method, c.path, ac.name, st, want, body)
			}
		}
	}
	if a.count(`SELECT count(*) FROM audit_events`) != audits || a.count(`SELECT count(*) FROM datasets`) != datasets {
		t.Error("a participant's organizer call changed something")
	}

	// Every /api/v1 route was walked.
	var routes []string
	chi.Walk(a.handler(), func(method, route string, _ http.Handler, _ ...func(http.Handler) http.Handler) error {
		if strings.HasPrefix(route, "/api/v1/") {
			routes = append(routes, method+" "+route)
		}
		return nil
	})
	sort.Strings(routes)
	if len(routes) < 10 {
		t.Fatalf("found only %d API routes: %v", len(routes), routes)
	}
	for _, r := range routes {
		if !covered[r] {
			t.Errorf("route %s is not walked by this test", r)
		}
	}

	// The participant pages of this work: the account page and tokens.
	anonB := a.browser()
	if r := anonB.get("/account"); r.status != 303 || !strings.HasPrefix(r.loc, "/login") {
		t.Errorf("anonymous /account: %d %s", r.status, r.loc)
	}
	if r := alice.post("/account/tokens", url.Values{"name": {"no csrf"}}); r.status != 403 {
		t.Errorf("create token with a cookie and no CSRF token: %d", r.status)
	}
	var aliceTok string
	a.pool.QueryRow(ctx, `SELECT t.id::text FROM api_tokens t JOIN users u ON u.id = t.user_id WHERE u.username = 'alice'`).Scan(&aliceTok)
	if r := alice.post("/account/tokens/"+aliceTok+"/revoke", url.Values{}); r.status != 403 {
		t.Errorf("revoke with a cookie and no CSRF token: %d", r.status)
	}
	if r := bob.post("/account/tokens/"+aliceTok+"/revoke", url.Values{"csrf_token": {bob.csrf("/account")}}); r.status != 404 {
		t.Errorf("team B revokes team A's token: %d", r.status)
	}
	if st, _ := call(memberA, "GET", "/me", ""); st != 200 {
		t.Error("team A's token stopped working")
	}
	if strings.Contains(bob.get("/account").body, "data-testid=\"tokens\"") && strings.Contains(bob.get("/account").body, ">a<") {
		t.Error("team B's account page lists team A's token")
	}
}

func mustInt(s string) int {
	n, err := strconv.Atoi(s)
	if err != nil {
		panic(err)
	}
	return n
}

// handler is the route table, for walking.
func (a *app) handler() chi.Routes { return a.web.Handler().(chi.Routes) }

// TestOpenAPIMatchesRoutes: every route under /api/v1 is in the OpenAPI
// document served at /api/v1/openapi.json, and every operation of the
// document is a route.
func TestOpenAPIMatchesRoutes(t *testing.T) {
	t.Parallel()
	a := newApp(t, challengeOpts{})
	st, body, hdr := a.api("GET", "/openapi.json", "", "")
	if st != 200 || !strings.HasPrefix(hdr.Get("Content-Type"), "application/json") {
		t.Fatalf("openapi.json: %d %s", st, hdr.Get("Content-Type"))
	}
	var doc struct {
		OpenAPI string                                `json:"openapi"`
		Paths   map[string]map[string]json.RawMessage `json:"paths"`
	}
	if err := json.Unmarshal([]byte(body), &doc); err != nil || !strings.HasPrefix(doc.OpenAPI, "3.") {
		t.Fatalf("not an OpenAPI 3 document: %v", err)
	}
	inDoc := map[string]bool{}
	for path, ops := range doc.Paths {
		for method := range ops {
			inDoc[strings.ToUpper(method)+" "+path] = true
		}
	}
	inRouter := map[string]bool{}
	chi.Walk(a.handler(), func(method, route string, _ http.Handler, _ ...func(http.Handler) http.Handler) error {
		if strings.HasPrefix(route, "/api/v1/") {
			inRouter[method+" "+route] = true
		}
		return nil
	})
	for r := range inRouter {
		if !inDoc[r] {
			t.Errorf("route %s is missing from openapi.json", r)
		}
	}
	for r := range inDoc {
		if !inRouter[r] {
			t.Errorf("openapi.json documents %s, which is no route", r)
		}
	}
	if len(inRouter) < 10 {
		t.Errorf("only %d API routes found", len(inRouter))
	}
}
