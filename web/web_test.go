package web_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"io/fs"
	"log/slog"
	"mime/multipart"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/netip"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"

	"github.com/srarena/srarena/blob"
	"github.com/srarena/srarena/domain"
	"github.com/srarena/srarena/handlers"
	"github.com/srarena/srarena/internal/pgtest"
	"github.com/srarena/srarena/onnxmodel/onnxbuild"
	"github.com/srarena/srarena/scoring"
	"github.com/srarena/srarena/store"
	"github.com/srarena/srarena/web"
)

func TestMain(m *testing.M) { os.Exit(pgtest.Main(m)) }

// app is the full router on a fresh database, with a seeded challenge.
type app struct {
	t       testing.TB
	pool    *pgxpool.Pool
	store   *store.Store
	blobDir string
	srv     *httptest.Server
	server  *web.Server
	chID    int64
	dsID    int64
	web     *web.Server
}

type challengeOpts struct {
	maxUpload int64
	quota     int
	closed    bool
	inspect   handlers.InspectFunc // nil: the real check
	slotWait  time.Duration        // the upload slot wait; 0: the default
	demoLogin bool                 // as `srarena up` on loopback sets it
	// /metrics access, and River's UI mounted (on the test's River client).
	metricsToken string
	metricsAllow []netip.Prefix
	riverUI      bool
}

func newApp(t testing.TB, co challengeOpts) *app {
	t.Helper()
	ctx := context.Background()
	pool := pgtest.NewPool(t)
	st := store.New(pool)
	dir := t.TempDir()
	blobs, err := blob.NewDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	rc, err := river.NewClient(riverpgxv5.New(pool), &river.Config{})
	if err != nil {
		t.Fatal(err)
	}
	s, err := web.New(web.Config{Addr: "127.0.0.1:0", BaseURL: "http://example.test",
		Argon2:         handlers.Argon2Params{MemoryKiB: 64, Time: 1, Threads: 1},
		UploadSlotWait: co.slotWait, DemoLogin: co.demoLogin, MetricsToken: co.metricsToken, MetricsAllow: co.metricsAllow},
		web.Deps{Log: slog.New(slog.NewTextHandler(io.Discard, nil)), Store: st, Blobs: blobs, Jobs: rc, Inspect: co.inspect,
			River: map[bool]*river.Client[pgx.Tx]{true: rc}[co.riverUI]})
	if err != nil {
		t.Fatal(err)
	}
	if co.riverUI {
		uctx, cancel := context.WithCancel(ctx)
		t.Cleanup(cancel)
		if err := s.StartQueueUI(uctx); err != nil {
			t.Fatal(err)
		}
	}
	a := &app{t: t, pool: pool, store: st, blobDir: dir, server: s, web: s}
	rules, _ := scoring.Preset("aim2020")
	rj, _ := json.Marshal(rules)
	if co.maxUpload == 0 {
		co.maxUpload = 8 << 20
	}
	err = st.InTx(ctx, func(tx pgx.Tx) error {
		a.chID, err = store.CreateChallenge(ctx, tx, store.NewChallenge{Slug: "esr", Title: "ESR test", Description: "Make it fast.",
			Scale: 4, Rules: rj, MaxUploadBytes: co.maxUpload, DailyQuota: co.quota})
		if err != nil {
			return err
		}
		a.dsID, err = store.CreateDataset(ctx, tx, a.chID, "DIV2K-val", "validation",
			[]store.DatasetImage{{Name: "0801", LRSHA256: strings.Repeat("a", 64), HRSHA256: strings.Repeat("b", 64)}})
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	if co.closed {
		a.exec(`UPDATE phases SET opens_at = date_trunc('minute', now()) - interval '2 hours',
			closes_at = date_trunc('minute', now()) - interval '1 hour' WHERE challenge_id = $1`, a.chID)
	}
	a.srv = httptest.NewServer(s.Handler())
	t.Cleanup(a.srv.Close)
	return a
}

func (a *app) exec(sql string, args ...any) {
	a.t.Helper()
	if _, err := a.pool.Exec(context.Background(), sql, args...); err != nil {
		a.t.Fatal(err)
	}
}

func (a *app) count(sql string, args ...any) int {
	a.t.Helper()
	var n int
	if err := a.pool.QueryRow(context.Background(), sql, args...).Scan(&n); err != nil {
		a.t.Fatal(err)
	}
	return n
}

// blobFiles lists stored files, temporary ones included.
func (a *app) blobFiles() []string {
	a.t.Helper()
	var out []string
	filepath.WalkDir(a.blobDir, func(p string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			out = append(out, p)
		}
		return nil
	})
	return out
}

// browser is a client with cookies that does not follow redirects.
type browser struct {
	a *app
	c *http.Client
}

func (a *app) browser() *browser {
	jar, _ := cookiejar.New(nil)
	return &browser{a: a, c: &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error {
		return http.ErrUseLastResponse
	}}}
}

// browserFrom is a browser whose connections come from ip, another
// loopback address (Linux answers on all of 127.0.0.0/8), so the server
// sees a different client address.
func (a *app) browserFrom(ip string) *browser {
	b := a.browser()
	d := &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(ip)}}
	b.c.Transport = &http.Transport{DialContext: d.DialContext}
	return b
}

type resp struct {
	status int
	body   string
	loc    string
}

func (b *browser) do(req *http.Request) resp {
	b.a.t.Helper()
	r, err := b.c.Do(req)
	if err != nil {
		b.a.t.Fatal(err)
	}
	defer r.Body.Close()
	body, _ := io.ReadAll(r.Body)
	return resp{status: r.StatusCode, body: string(body), loc: r.Header.Get("Location")}
}

func (b *browser) get(path string) resp {
	req, _ := http.NewRequest(http.MethodGet, b.a.srv.URL+path, nil)
	return b.do(req)
}

var csrfRE = regexp.MustCompile(`name="csrf_token" value="([^"]+)"`)

// csrf loads a page and returns its form token.
func (b *browser) csrf(path string) string {
	b.a.t.Helper()
	m := csrfRE.FindStringSubmatch(b.get(path).body)
	if m == nil {
		b.a.t.Fatalf("no csrf token on %s", path)
	}
	return m[1]
}

func (b *browser) post(path string, form url.Values) resp {
	req, _ := http.NewRequest(http.MethodPost, b.a.srv.URL+path, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	return b.do(req)
}

func (b *browser) signup(username string) {
	b.a.t.Helper()
	b.signupOnly(username)
	b.register("esr", "")
}

// signupOnly creates an account without registering for any challenge.
func (b *browser) signupOnly(username string) {
	b.a.t.Helper()
	tok := b.csrf("/signup")
	r := b.post("/signup", url.Values{"csrf_token": {tok}, "email": {username + "@example.org"},
		"username": {username}, "password": {"correct horse battery"}})
	if r.status != http.StatusSeeOther {
		b.a.t.Fatalf("signup %s: %d %s", username, r.status, r.body)
	}
	// Sign-up does not log in (it must not tell a taken name from a new
	// account); log in as a newcomer does.
	r = b.post("/login", url.Values{"csrf_token": {b.csrf("/login")}, "login": {username}, "password": {"correct horse battery"}})
	if r.status != http.StatusSeeOther {
		b.a.t.Fatalf("login after signup %s: %d %s", username, r.status, r.body)
	}
}

// register registers the signed-in user for a challenge, accepting its
// terms, in a new team (a solo team for "").
func (b *browser) register(slug, team string) {
	b.a.t.Helper()
	tok := b.csrf("/c/" + slug + "/register")
	r := b.post("/c/"+slug+"/register", url.Values{"csrf_token": {tok}, "accept_terms": {"yes"}, "team": {team}})
	if r.status != http.StatusSeeOther {
		b.a.t.Fatalf("register %s: %d %s", slug, r.status, r.body)
	}
}

// upload posts a multipart form: csrf_token first, then the model.
func (b *browser) upload(tok string, filename string, data []byte) resp {
	return b.uploadFields(tok, [][2]string{{"label", "try 1"}}, data)
}

// uploadFields posts csrf_token, then fields in order, then the model (as
// the challenge page's form does).
func (b *browser) uploadFields(tok string, fields [][2]string, data []byte) resp {
	b.a.t.Helper()
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	mw.WriteField("csrf_token", tok)
	for _, f := range fields {
		mw.WriteField(f[0], f[1])
	}
	if data != nil {
		fw, _ := mw.CreateFormFile("model", "m.onnx")
		fw.Write(data)
	}
	mw.Close()
	req, _ := http.NewRequest(http.MethodPost, b.a.srv.URL+"/c/esr/submissions", &body)
	req.Header.Set("Content-Type", mw.FormDataContentType())
	return b.do(req)
}

func espcn(t *testing.T) []byte {
	t.Helper()
	m, err := onnxbuild.ESPCN(4, 1)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func TestSignupValidation(t *testing.T) {
	t.Parallel()
	a := newApp(t, challengeOpts{})
	a.browser().signup("taken")
	tests := []struct {
		name, email, username, password string
		status                          int
		want                            string
	}{
		{"bad email", "not-an-email", "alice", "long enough pw", 422, "Enter an email address"},
		{"short password", "alice@example.org", "alice", "short", 422, "at least 10 characters"},
		{"bad username", "alice@example.org", "a b", "long enough pw", 422, "Use 2 to 40 letters"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			b := a.browser()
			tok := b.csrf("/signup")
			r := b.post("/signup", url.Values{"csrf_token": {tok}, "email": {tc.email}, "username": {tc.username}, "password": {tc.password}})
			if r.status != tc.status {
				t.Fatalf("status %d, want %d\n%s", r.status, tc.status, r.body)
			}
			if !strings.Contains(r.body, tc.want) {
				t.Errorf("body lacks %q:\n%s", tc.want, r.body)
			}
			if tc.username != "" && !strings.Contains(r.body, `value="`+tc.username+`"`) && tc.name != "bad username" {
				t.Errorf("form value %q not kept", tc.username)
			}
		})
	}
	if n := a.count(`SELECT count(*) FROM users`); n != 1 {
		t.Errorf("%d users, want 1", n)
	}
}

// TestSignupDoesNotEnumerate: a new account, a taken username and a taken
// email get byte-identical answers (status, location, cookies set, the page
// that follows), so sign-up tells a stranger nothing about which accounts
// exist; the existing account is untouched, and the newcomer logs in.
func TestSignupDoesNotEnumerate(t *testing.T) {
	t.Parallel()
	a := newApp(t, challengeOpts{})
	a.browser().signup("taken")
	type answer struct {
		status  int
		loc     string
		cookies string
		next    string
	}
	try := func(email, username string) answer {
		b := a.browser()
		tok := b.csrf("/signup")
		req, _ := http.NewRequest(http.MethodPost, a.srv.URL+"/signup", strings.NewReader(url.Values{"csrf_token": {tok},
			"email": {email}, "username": {username}, "password": {"long enough pw"}}.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		r, err := b.c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		r.Body.Close()
		var names []string
		for _, c := range r.Cookies() {
			names = append(names, c.Name+"="+c.Value)
		}
		next := b.get(r.Header.Get("Location")).body
		next = csrfRE.ReplaceAllString(next, "") // each visitor has its own token
		return answer{r.StatusCode, r.Header.Get("Location"), strings.Join(names, ";"), next}
	}
	created := try("alice@example.org", "alice")
	for _, tc := range []struct{ name, email, username string }{
		{"taken username", "other@example.org", "TAKEN"},
		{"taken email", "Taken@example.org", "newname"},
		{"both taken", "taken@example.org", "taken"},
	} {
		if got := try(tc.email, tc.username); got != created {
			t.Errorf("%s: answer differs from a new account's:\n%+v\n%+v", tc.name, got, created)
		}
	}
	if created.status != http.StatusSeeOther || strings.Contains(created.cookies, "srarena_session") {
		t.Errorf("sign-up answer %+v: want 303 and no session", created)
	}
	if !strings.Contains(created.next, "If that username and email address were free") {
		t.Errorf("the login page does not explain what happened:\n%s", created.next)
	}
	if n := a.count(`SELECT count(*) FROM users`); n != 2 {
		t.Errorf("%d users, want 2", n)
	}
	// The owner of "taken" still logs in with the old password.
	b := a.browser()
	if r := b.post("/login", url.Values{"csrf_token": {b.csrf("/login")}, "login": {"taken"}, "password": {"correct horse battery"}}); r.status != 303 {
		t.Errorf("existing owner login: %d", r.status)
	}
	// The newcomer logs in.
	b = a.browser()
	if r := b.post("/login", url.Values{"csrf_token": {b.csrf("/login")}, "login": {"alice"}, "password": {"long enough pw"}}); r.status != 303 {
		t.Errorf("new account login: %d", r.status)
	}
}

func TestLoginLogout(t *testing.T) {
	t.Parallel()
	a := newApp(t, challengeOpts{})
	a.browser().signup("bob")
	tests := []struct {
		name, login, password string
		status                int
	}{
		{"unknown user", "nobody", "correct horse battery", 401},
		{"wrong password", "bob", "wrong password!", 401},
		{"by username", "BOB", "correct horse battery", 303},
		{"by email", "bob@example.org", "correct horse battery", 303},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			b := a.browser()
			tok := b.csrf("/login")
			r := b.post("/login", url.Values{"csrf_token": {tok}, "login": {tc.login}, "password": {tc.password}, "next": {"/c/esr"}})
			if r.status != tc.status {
				t.Fatalf("status %d, want %d", r.status, tc.status)
			}
			if tc.status == 401 {
				if !strings.Contains(r.body, "Wrong username, email or password.") {
					t.Error("no clear login error")
				}
				return
			}
			if r.loc != "/c/esr" {
				t.Errorf("redirect to %q, want /c/esr", r.loc)
			}
			page := b.get("/c/esr")
			if !strings.Contains(page.body, "Upload and evaluate") {
				t.Error("no upload form when logged in")
			}
			tok = csrfRE.FindStringSubmatch(page.body)[1]
			if r := b.post("/logout", url.Values{"csrf_token": {tok}}); r.status != 303 {
				t.Fatalf("logout: %d", r.status)
			}
			if r := b.get("/c/esr/submissions"); r.status != 303 || !strings.HasPrefix(r.loc, "/login") {
				t.Errorf("after logout: %d %q, want redirect to login", r.status, r.loc)
			}
		})
	}
	if n := a.count(`SELECT count(*) FROM sessions`); n != 1 { // bob's sign-up session
		t.Errorf("%d sessions left, want 1", n)
	}
}

func TestCSRF(t *testing.T) {
	t.Parallel()
	a := newApp(t, challengeOpts{})
	b := a.browser()
	b.signup("carol")
	good := b.csrf("/c/esr")
	wrong := "x" + good[1:]
	if good[0] == 'x' { // 1 in 64: "x…" would be the right token
		wrong = "y" + good[1:]
	}
	model := espcn(t)
	tests := []struct {
		name string
		req  func() resp
	}{
		{"logout without token", func() resp { return b.post("/logout", url.Values{}) }},
		{"logout wrong token", func() resp { return b.post("/logout", url.Values{"csrf_token": {wrong}}) }},
		{"cross-site origin", func() resp {
			req, _ := http.NewRequest(http.MethodPost, a.srv.URL+"/logout", strings.NewReader("csrf_token="+good))
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			req.Header.Set("Sec-Fetch-Site", "cross-site")
			return b.do(req)
		}},
		{"upload wrong token", func() resp { return b.upload("wrong", "m.onnx", model) }},
		{"upload without token", func() resp {
			var body bytes.Buffer
			mw := multipart.NewWriter(&body)
			fw, _ := mw.CreateFormFile("model", "m.onnx")
			fw.Write(model)
			mw.Close()
			req, _ := http.NewRequest(http.MethodPost, a.srv.URL+"/c/esr/submissions", &body)
			req.Header.Set("Content-Type", mw.FormDataContentType())
			return b.do(req)
		}},
		{"login with another visitor's token", func() resp {
			return a.browser().post("/login", url.Values{"csrf_token": {good}, "login": {"carol"}, "password": {"correct horse battery"}})
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := tc.req()
			if r.status != http.StatusForbidden {
				t.Fatalf("status %d, want 403\n%s", r.status, r.body)
			}
		})
	}
	if n := a.count(`SELECT count(*) FROM submissions`); n != 0 {
		t.Errorf("%d submissions, want 0", n)
	}
	if f := a.blobFiles(); len(f) != 0 {
		t.Errorf("files stored: %v", f)
	}
	if r := b.post("/logout", url.Values{"csrf_token": {good}}); r.status != 303 {
		t.Errorf("logout with the right token: %d", r.status)
	}
}

var subURL = regexp.MustCompile(`^/submissions/(\d+)$`)

func TestUploadValidModel(t *testing.T) {
	t.Parallel()
	a := newApp(t, challengeOpts{})
	b := a.browser()
	b.signup("dave")
	model := espcn(t)
	r := b.upload(b.csrf("/c/esr"), "espcn.onnx", model)
	if r.status != http.StatusSeeOther || !subURL.MatchString(r.loc) {
		t.Fatalf("upload: %d %q\n%s", r.status, r.loc, r.body)
	}
	var id int64
	var status, digest string
	var profile []byte
	err := a.pool.QueryRow(context.Background(),
		`SELECT id, status, model_sha256, profile FROM submissions`).Scan(&id, &status, &digest, &profile)
	if err != nil {
		t.Fatal(err)
	}
	if status != store.StatusQueued || !strings.Contains(string(profile), `"params"`) {
		t.Errorf("status %q profile %s", status, profile)
	}
	if n := a.count(`SELECT count(*) FROM river_job WHERE kind = 'evaluate' AND queue = 'eval_cpu' AND (args->>'submission_id')::bigint = $1`, id); n != 1 {
		t.Errorf("%d matching river jobs, want 1", n)
	}
	if n := a.count(`SELECT count(*) FROM river_job`); n != 1 {
		t.Errorf("%d river jobs, want 1", n)
	}
	if f := a.blobFiles(); len(f) != 1 || filepath.Base(f[0]) != digest {
		t.Errorf("blob files %v, want just %s", f, digest)
	}
	page := b.get(r.loc)
	for _, want := range []string{"Model uploaded and queued", `data-testid="status">queued<`, "Parameters", "FLOPs (AIM 2020/KAIR rule)", "data-poll="} {
		if !strings.Contains(page.body, want) {
			t.Errorf("submission page lacks %q", want)
		}
	}
	// Live status, with log lines after a given id.
	a.exec(`UPDATE submissions SET status = 'running', started_at = now() WHERE id = $1`, id)
	a.exec(`INSERT INTO submission_logs (submission_id, line) VALUES ($1, 'loading model'), ($1, 'image 0801: 31.2 dB')`, id)
	js := b.get(r.loc + "/status.json?after=0")
	var st handlers.StatusJSON
	if err := json.Unmarshal([]byte(js.body), &st); err != nil || st.Status != "running" || len(st.Log) != 2 {
		t.Errorf("status.json: %v %+v", err, st)
	}
	js = b.get(r.loc + "/status.json?after=" + jsonID(st.Log[0].ID))
	if err := json.Unmarshal([]byte(js.body), &st); err != nil || len(st.Log) != 1 {
		t.Errorf("status.json after first line: %v %+v", err, st)
	}
	// A second upload of the same bytes shares the blob.
	if r := b.upload(b.csrf("/c/esr"), "again.onnx", model); r.status != 303 {
		t.Fatalf("second upload: %d", r.status)
	}
	mine := b.get("/c/esr/submissions")
	if strings.Count(mine.body, `href="/submissions/`) != 2 {
		t.Errorf("my submissions does not list 2:\n%s", mine.body)
	}
}

func jsonID(id int64) string { b, _ := json.Marshal(id); return string(b) }

func TestUploadRefused(t *testing.T) {
	t.Parallel()
	model := espcn(t)
	tests := []struct {
		name   string
		co     challengeOpts
		file   []byte
		status int
		want   string
	}{
		{"not onnx", challengeOpts{}, []byte("this is a PNG, honest\x89PNG"), 422, "refused before evaluation"},
		{"empty", challengeOpts{}, []byte{}, 422, "The file is empty"},
		{"no file", challengeOpts{}, nil, 422, "Choose an ONNX model file"},
		{"oversize", challengeOpts{maxUpload: 1024}, model, 413, "larger than this challenge&#39;s limit of 1.0 KiB"},
		{"closed", challengeOpts{closed: true}, model, 403, "accepted submissions 20"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			a := newApp(t, tc.co)
			b := a.browser()
			b.signup("erin")
			tok := b.csrf("/c/esr")
			if tc.co.closed {
				tok = csrfRE.FindStringSubmatch(b.get("/").body)[1]
			}
			r := b.upload(tok, "m.onnx", tc.file)
			if r.status != tc.status {
				t.Fatalf("status %d, want %d\n%s", r.status, tc.status, r.body)
			}
			if !strings.Contains(r.body, tc.want) {
				t.Errorf("body lacks %q:\n%s", tc.want, r.body)
			}
			if n := a.count(`SELECT count(*) FROM submissions`); n != 0 {
				t.Errorf("%d submissions, want 0", n)
			}
			if n := a.count(`SELECT count(*) FROM river_job`); n != 0 {
				t.Errorf("%d jobs, want 0", n)
			}
			if f := a.blobFiles(); len(f) != 0 {
				t.Errorf("files left: %v", f)
			}
		})
	}
}

func TestUploadQuota(t *testing.T) {
	t.Parallel()
	a := newApp(t, challengeOpts{quota: 1})
	b := a.browser()
	b.signup("fay")
	model := espcn(t)
	if r := b.upload(b.csrf("/c/esr"), "m.onnx", model); r.status != 303 {
		t.Fatalf("first upload: %d", r.status)
	}
	tok := csrfRE.FindStringSubmatch(b.get("/").body)[1]
	r := b.upload(tok, "m.onnx", model)
	if r.status != http.StatusTooManyRequests || !strings.Contains(r.body, "used its 1 submissions of today (UTC)") {
		t.Fatalf("second upload: %d\n%s", r.status, r.body)
	}
	// A submission that failed before any worker started it does not count.
	a.exec(`UPDATE submissions SET status = 'failed'`)
	if r := b.upload(tok, "m.onnx", model); r.status != 303 {
		t.Fatalf("upload after infra failure: %d", r.status)
	}
}

func TestAccessControl(t *testing.T) {
	t.Parallel()
	a := newApp(t, challengeOpts{})
	owner := a.browser()
	owner.signup("gus")
	r := owner.upload(owner.csrf("/c/esr"), "m.onnx", espcn(t))
	if r.status != 303 {
		t.Fatalf("upload: %d", r.status)
	}
	sub := r.loc
	other := a.browser()
	other.signup("hal")
	anon := a.browser()
	admin := a.browser()
	admin.signup("root")
	a.exec(`UPDATE users SET is_admin = true WHERE username = 'root'`)

	tests := []struct {
		name   string
		b      *browser
		path   string
		status int
	}{
		{"owner", owner, sub, 200},
		{"owner status", owner, sub + "/status.json", 200},
		{"admin", admin, sub, 200},
		{"other user", other, sub, 404},
		{"other user status", other, sub + "/status.json", 404},
		{"other user bad id", other, "/submissions/abc", 404},
		{"anonymous", anon, sub, 303},
		{"missing challenge", owner, "/c/nope", 404},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := tc.b.get(tc.path)
			if r.status != tc.status {
				t.Fatalf("GET %s: %d, want %d", tc.path, r.status, tc.status)
			}
			if tc.status == 303 && !strings.HasPrefix(r.loc, "/login?next=") {
				t.Errorf("redirect to %q", r.loc)
			}
		})
	}
	t.Run("anonymous upload", func(t *testing.T) {
		tok := anon.csrf("/login")
		r := anon.upload(tok, "m.onnx", espcn(t))
		if r.status != 303 || !strings.HasPrefix(r.loc, "/login") {
			t.Fatalf("anonymous upload: %d %q", r.status, r.loc)
		}
		if n := a.count(`SELECT count(*) FROM submissions`); n != 1 {
			t.Errorf("%d submissions, want 1", n)
		}
	})
}

func TestLeaderboard(t *testing.T) {
	t.Parallel()
	a := newApp(t, challengeOpts{})
	for _, u := range []string{"ann", "ben", "cat"} {
		a.exec(`INSERT INTO users (email, username, password_hash) VALUES ($1, $2, 'x')`, u+"@example.org", u)
	}
	type row struct {
		user            string // "" for the baseline
		psnr, runtimeMS float64
		params          int64
	}
	rows := []row{
		{"", 29.00, 80, 1_517_571},
		{"ann", 29.10, 50, 400_000},
		{"ann", 29.05, 40, 300_000}, // ann's best: faster, still above the gate
		{"ben", 29.20, 30, 500_000},
		{"cat", 28.50, 10, 100_000}, // fastest but under the baseline's PSNR
		{"cat", 28.90, 12, 100_000}, // cat's best unranked one by PSNR
	}
	for i, r := range rows {
		var id int64
		err := a.pool.QueryRow(context.Background(), `
			INSERT INTO submissions (challenge_id, user_id, dataset_id, label, model_sha256, model_bytes, profile, is_baseline, status, created_at)
			VALUES ($1, (SELECT id FROM users WHERE username = $2), $3, $4, $5, 100, $6, $7, 'finished', now() - make_interval(mins => $8))
			RETURNING id`, a.chID, r.user, a.dsID, map[bool]string{true: "MSRResNet"}[r.user == ""],
			strings.Repeat("0", 63)+string(rune('0'+i)), `{"params": `+jsonID(r.params)+`, "flops_kair": 1e10, "activations": 2e6, "conv_layers": 10}`,
			r.user == "", 100-i).Scan(&id)
		if err != nil {
			t.Fatal(err)
		}
		a.exec(`INSERT INTO results (submission_id, psnr, ssim, runtime_ms, runtime_std_ms, peak_memory_mb) VALUES ($1, $2, 0.8, $3, 1.5, 100)`,
			id, r.psnr, r.runtimeMS)
	}
	// A queued submission never shows.
	a.exec(`INSERT INTO submissions (challenge_id, user_id, dataset_id, model_sha256, model_bytes) VALUES ($1, (SELECT id FROM users WHERE username='ann'), $2, $3, 1)`,
		a.chID, a.dsID, strings.Repeat("f", 64))

	var board domain.Board
	r := a.browser().get("/c/esr/leaderboard.json")
	if err := json.Unmarshal([]byte(r.body), &board); err != nil {
		t.Fatalf("%v: %s", err, r.body)
	}
	type got struct {
		Name     string
		Rank     int
		Runtime  float64
		Baseline bool
		Unranked bool
	}
	want := []got{
		{"MSRResNet", 0, 80, true, true},
		{"ben", 1, 30, false, false},
		{"ann", 2, 40, false, false},
		{"cat", 0, 12, false, true},
	}
	if len(board.Rows) != len(want) {
		t.Fatalf("%d rows, want %d: %+v", len(board.Rows), len(want), board.Rows)
	}
	for i, w := range want {
		br := board.Rows[i]
		g := got{br.Name, br.Rank, br.RuntimeMS, br.Baseline, br.Unranked != ""}
		if g != w {
			t.Errorf("row %d: got %+v, want %+v", i, g, w)
		}
	}
	if board.Rows[3].Unranked != "PSNR 28.90 dB is below the baseline's 29.00 dB" {
		t.Errorf("cat's reason %q does not name the PSNR gate", board.Rows[3].Unranked)
	}
	page := a.browser().get("/c/esr/leaderboard")
	if page.status != 200 || strings.Count(page.body, `data-testid="leader-row"`) != 4 || !strings.Contains(page.body, "30.00 ± 1.50") {
		t.Errorf("leaderboard page:\n%s", page.body)
	}
	home := a.browser().get("/")
	if !strings.Contains(home.body, `href="/c/esr/leaderboard"`) {
		t.Error("home page does not link the leaderboard")
	}
}

func TestHealthAndHeaders(t *testing.T) {
	t.Parallel()
	a := newApp(t, challengeOpts{})
	b := a.browser()
	r, err := b.c.Get(a.srv.URL + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	r.Body.Close()
	if r.StatusCode != 200 {
		t.Errorf("healthz: %d", r.StatusCode)
	}
	r, err = b.c.Get(a.srv.URL + "/")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(r.Body)
	r.Body.Close()
	for k, v := range map[string]string{
		"Content-Security-Policy": "default-src 'self'", "X-Content-Type-Options": "nosniff", "Referrer-Policy": "same-origin",
	} {
		if !strings.Contains(r.Header.Get(k), v) {
			t.Errorf("%s: %q", k, r.Header.Get(k))
		}
	}
	css := regexp.MustCompile(`href="(/static/style\.[0-9a-f]+\.css)"`).FindSubmatch(body)
	if css == nil {
		t.Fatal("no hashed stylesheet link")
	}
	r, err = b.c.Get(a.srv.URL + string(css[1]))
	if err != nil {
		t.Fatal(err)
	}
	r.Body.Close()
	if r.StatusCode != 200 || !strings.Contains(r.Header.Get("Cache-Control"), "immutable") {
		t.Errorf("stylesheet: %d %q", r.StatusCode, r.Header.Get("Cache-Control"))
	}
	if r := b.get("/static/style.000000000000.css"); r.status != 404 {
		t.Errorf("stale asset hash: %d", r.status)
	}
	if r := b.get("/nope"); r.status != 404 || !strings.Contains(r.body, "Not found") {
		t.Errorf("404 page: %d", r.status)
	}
}

func regexpFind(t *testing.T, re, s string) string {
	t.Helper()
	m := regexp.MustCompile(re).FindStringSubmatch(s)
	if m == nil {
		t.Fatalf("no %s in:\n%.2000s", re, s)
	}
	return m[1]
}
