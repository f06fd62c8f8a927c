package web_test

import (
	"encoding/json"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/srarena/srarena/handlers"
)

var tokenRE = regexp.MustCompile(`data-testid="token-value">(sra_[A-Za-z0-9_-]{43})<`)

// createToken makes a token on the account page and returns it.
func (b *browser) createToken(name string) string {
	b.a.t.Helper()
	r := b.post("/account/tokens", url.Values{"csrf_token": {b.csrf("/account")}, "name": {name}})
	m := tokenRE.FindStringSubmatch(r.body)
	if r.status != 200 || m == nil {
		b.a.t.Fatalf("create token: %d\n%s", r.status, r.body)
	}
	return m[1]
}

// api calls /api/v1 with an optional token and returns status and body.
func (a *app) api(method, path, token string, body string, hdr ...string) (int, string, http.Header) {
	a.t.Helper()
	req, _ := http.NewRequest(method, a.srv.URL+"/api/v1"+path, strings.NewReader(body))
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		a.t.Fatal(err)
	}
	defer resp.Body.Close()
	var sb strings.Builder
	buf := make([]byte, 32<<10)
	for {
		n, err := resp.Body.Read(buf)
		sb.Write(buf[:n])
		if err != nil {
			break
		}
	}
	return resp.StatusCode, sb.String(), resp.Header
}

// TestTokens: a token is created on the account page and shown once, only
// its sha256 is stored, it authenticates API requests, its use is recorded,
// and once revoked it is refused with a JSON error that says what to do.
// Another user cannot revoke it.
func TestTokens(t *testing.T) {
	t.Parallel()
	a := newApp(t, challengeOpts{})
	b := a.browser()
	b.signup("tina")
	tok := b.createToken("laptop")
	if strings.Contains(b.get("/account").body, tok) {
		t.Error("the token is shown again after its creation")
	}
	var stored int
	a.pool.QueryRow(t.Context(), `SELECT count(*) FROM api_tokens WHERE token_hash = sha256($1::bytea)`, []byte(tok)).Scan(&stored)
	if stored != 1 || a.count(`SELECT count(*) FROM api_tokens WHERE position($1::bytea in token_hash) > 0`, []byte(tok[4:12])) != 0 {
		t.Errorf("the table must hold the token's sha256 only (found %d)", stored)
	}

	st, body, _ := a.api("GET", "/me", tok, "")
	var me struct{ Username string }
	json.Unmarshal([]byte(body), &me)
	if st != 200 || me.Username != "tina" {
		t.Fatalf("/me with the token: %d %s", st, body)
	}
	if n := a.count(`SELECT count(*) FROM api_tokens WHERE last_used_at IS NOT NULL`); n != 1 {
		t.Errorf("last use not recorded")
	}
	page := b.get("/account").body
	if !strings.Contains(page, "laptop") || strings.Contains(page, ">never<") {
		t.Errorf("the account page does not list the used token:\n%s", page)
	}

	// Someone else cannot revoke it.
	eve := a.browser()
	eve.signup("eve")
	var id string
	a.pool.QueryRow(t.Context(), `SELECT id::text FROM api_tokens`).Scan(&id)
	if r := eve.post("/account/tokens/"+id+"/revoke", url.Values{"csrf_token": {eve.csrf("/account")}}); r.status != 404 {
		t.Errorf("another user's revoke: %d, want 404", r.status)
	}
	if st, _, _ := a.api("GET", "/me", tok, ""); st != 200 {
		t.Fatalf("token stopped working after a foreign revoke: %d", st)
	}
	// Revoking needs the CSRF token like every form.
	if r := b.post("/account/tokens/"+id+"/revoke", url.Values{}); r.status != 403 {
		t.Errorf("revoke without CSRF token: %d, want 403", r.status)
	}
	if r := b.post("/account/tokens/"+id+"/revoke", url.Values{"csrf_token": {b.csrf("/account")}}); r.status != 303 {
		t.Fatalf("revoke: %d", r.status)
	}
	st, body, hdr := a.api("GET", "/me", tok, "")
	var e struct {
		Error  string `json:"error"`
		Status int    `json:"status"`
	}
	if err := json.Unmarshal([]byte(body), &e); err != nil || st != 401 || e.Status != 401 ||
		!strings.Contains(e.Error, "revoked") || !strings.Contains(e.Error, "/account") || hdr.Get("WWW-Authenticate") == "" {
		t.Errorf("revoked token: %d %s (%v)", st, body, hdr)
	}
	for _, bad := range []string{"sra_short", "Basic dGluYTp4", tok + "x"} {
		req := "Bearer " + bad
		if strings.HasPrefix(bad, "Basic") {
			req = bad
		}
		st, body, _ := a.api("GET", "/me", "", "", "Authorization", req)
		if st != 401 || !strings.Contains(body, `"error"`) {
			t.Errorf("Authorization %q: %d %s", req, st, body)
		}
	}
	// Token names are checked.
	if r := b.post("/account/tokens", url.Values{"csrf_token": {b.csrf("/account")}, "name": {""}}); r.status != 422 {
		t.Errorf("empty token name: %d", r.status)
	}
}

// TestAPICookiesDoNotAuthenticate: a logged-in browser's cookies, with or
// without the CSRF token, do not authenticate /api/v1: such requests are
// anonymous (401 where a token is needed).
func TestAPICookiesDoNotAuthenticate(t *testing.T) {
	t.Parallel()
	a := newApp(t, challengeOpts{})
	b := a.browser()
	b.signup("cora")
	csrf := b.csrf("/account")
	for _, hdr := range [][]string{nil, {"X-CSRF-Token", csrf}} {
		req, _ := http.NewRequest("GET", a.srv.URL+"/api/v1/me", nil)
		for i := 0; i+1 < len(hdr); i += 2 {
			req.Header.Set(hdr[i], hdr[i+1])
		}
		r := b.do(req)
		if r.status != 401 || !strings.Contains(r.body, "cookies do not count") {
			t.Errorf("/me with the session cookie %v: %d %s", hdr, r.status, r.body)
		}
	}
	// Unknown API routes answer JSON.
	if st, body, _ := a.api("GET", "/nope", "", ""); st != 404 || !strings.Contains(body, `"error"`) {
		t.Errorf("unknown API route: %d %s", st, body)
	}
}

// TestDemoLoginOnlyUnderUp: the demo account (its well-known password in
// the README) logs in only where the server was started with DemoLogin
// (`srarena up` on loopback); `serve` refuses it, its sessions and its
// tokens, even though the account is in the database.
func TestDemoLoginOnlyUnderUp(t *testing.T) {
	t.Parallel()
	for _, allowed := range []bool{true, false} {
		a := newApp(t, challengeOpts{demoLogin: allowed})
		a.browser().signup("demo-owner")
		// Turn that account into the demo account, as `srarena up` makes it.
		a.exec(`UPDATE users SET email = $1, username = 'demo', is_admin = true`, handlers.DemoEmail)
		b := a.browser()
		r := b.post("/login", url.Values{"csrf_token": {b.csrf("/login")}, "login": {"demo"}, "password": {"correct horse battery"}})
		if allowed {
			if r.status != 303 {
				t.Fatalf("demo login under up: %d", r.status)
			}
			continue
		}
		if r.status != 403 || !strings.Contains(r.body, "srarena up") {
			t.Errorf("demo login under serve: %d, want 403\n%.400s", r.status, r.body)
		}
	}
	// A session and a token made while up ran stop working under serve.
	a := newApp(t, challengeOpts{demoLogin: true})
	b := a.browser()
	b.signup("demo")
	tok := b.createToken("up")
	a.exec(`UPDATE users SET email = $1`, handlers.DemoEmail)
	srv2 := a.second() // DemoLogin false, like serve
	b2 := srv2.browser()
	b2.c.Jar = b.c.Jar
	if strings.Contains(b2.get("/").body, `data-testid="whoami"`) {
		t.Error("the demo session is honoured by a server without the demo login")
	}
	if st, _, _ := srv2.api("GET", "/me", tok, ""); st != 401 {
		t.Errorf("the demo token under serve: %d, want 401", st)
	}
}
