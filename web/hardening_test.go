package web_test

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"

	"github.com/srarena/srarena/blob"
	"github.com/srarena/srarena/domain"
	"github.com/srarena/srarena/handlers"
	"github.com/srarena/srarena/store"
	"github.com/srarena/srarena/web"
)

// TestBadBytesAre400: a NUL byte or invalid UTF-8 in a path segment, a
// query, a form field or an upload's field is a 400 with words, never a
// 500 from PostgreSQL (which cannot store either in text).
func TestBadBytesAre400(t *testing.T) {
	t.Parallel()
	a := newApp(t, challengeOpts{})
	anon := a.browser()
	user := a.browser()
	user.signup("nul")
	uploadTok := user.csrf("/c/esr")
	apiTok := user.createToken("nul")
	form := func(b *browser, path string, fields url.Values) resp {
		fields.Set("csrf_token", b.csrf("/login"))
		return b.post(path, fields)
	}
	for _, bad := range []string{"\x00", "\xff"} {
		esc := url.PathEscape(bad)
		tests := []struct {
			name string
			do   func() resp
		}{
			{"challenge path", func() resp { return anon.get("/c/a" + esc + "b") }},
			{"leaderboard path", func() resp { return anon.get("/c/" + esc + "/leaderboard") }},
			{"leaderboard json path", func() resp { return anon.get("/c/" + esc + "/leaderboard.json") }},
			{"submission path", func() resp { return user.get("/submissions/1" + esc) }},
			{"my submissions path", func() resp { return user.get("/c/esr" + esc + "/submissions") }},
			{"query value", func() resp { return anon.get("/login?next=/" + url.QueryEscape(bad)) }},
			{"query key", func() resp { return anon.get("/c/esr?" + url.QueryEscape(bad) + "=1") }},
			{"login field", func() resp {
				return form(anon, "/login", url.Values{"login": {"a" + bad + "b"}, "password": {"correct horse battery"}})
			}},
			{"signup field", func() resp {
				return form(a.browser(), "/signup", url.Values{"email": {"x@example.org"}, "username": {"x" + bad}, "password": {"long enough pw" + bad}})
			}},
			{"upload label", func() resp {
				return user.uploadFields(uploadTok, [][2]string{{"label", "try" + bad}}, []byte("model"))
			}},
			{"API path", func() resp {
				st, body, _ := a.api("GET", "/challenges/a"+esc+"b", apiTok, "")
				return resp{status: st, body: body}
			}},
			{"API JSON field", func() resp {
				// JSON escapes a NUL as \u0000; invalid UTF-8 goes in raw.
				team := `a\u0000b`
				if bad != "\x00" {
					team = "a" + bad + "b"
				}
				st, body, _ := a.api("POST", "/challenges/esr/registration", apiTok, `{"accept_terms": true, "team": "`+team+`"}`)
				return resp{status: st, body: body}
			}},
		}
		for _, tc := range tests {
			r := tc.do()
			if r.status != http.StatusBadRequest || !strings.Contains(r.body, "NUL byte or invalid UTF-8") {
				t.Errorf("%s with %q: %d, want 400 with a reason\n%.300s", tc.name, bad, r.status, r.body)
			}
		}
	}
	if n := a.count(`SELECT count(*) FROM submissions`); n != 0 {
		t.Errorf("%d submissions", n)
	}
}

// TestUploadServerErrorCounts: an upload that ends in a server error (500)
// still counts toward the refused-upload limit, so a file that makes the
// check fail cannot be sent again and again.
func TestUploadServerErrorCounts(t *testing.T) {
	t.Parallel()
	a := newApp(t, challengeOpts{inspect: func([]byte, int) (handlers.Inspection, error) {
		return handlers.Inspection{}, errors.New("inspector crashed")
	}})
	b := a.browser()
	b.signup("crash")
	tok := b.csrf("/c/esr")
	for i := range handlers.UploadRejectsPerHour {
		if r := b.upload(tok, "m.onnx", []byte("boom")); r.status != http.StatusInternalServerError {
			t.Fatalf("upload %d: %d, want 500", i, r.status)
		}
	}
	r := b.upload(tok, "m.onnx", []byte("boom"))
	if r.status != http.StatusTooManyRequests || !strings.Contains(r.body, "Too many refused uploads") {
		t.Fatalf("after %d server errors: %d, want 429\n%.300s", handlers.UploadRejectsPerHour, r.status, r.body)
	}
}

// second is another web process on the same database: its own server, its
// own store and pool-sharing nothing but PostgreSQL.
func (a *app) second() *app {
	a.t.Helper()
	blobs, err := blob.NewDir(a.blobDir)
	if err != nil {
		a.t.Fatal(err)
	}
	s, err := web.New(web.Config{Addr: "127.0.0.1:0", BaseURL: "http://example.test",
		Argon2: handlers.Argon2Params{MemoryKiB: 64, Time: 1, Threads: 1}},
		web.Deps{Log: slog.New(slog.NewTextHandler(io.Discard, nil)), Store: store.New(a.pool), Blobs: blobs, Jobs: a.jobsFor()})
	if err != nil {
		a.t.Fatal(err)
	}
	b := *a
	b.srv = httptest.NewServer(s.Handler())
	a.t.Cleanup(b.srv.Close)
	return &b
}

// TestLimitsAcrossProcesses: the login, sign-up and refused-upload limits
// hold across two web processes on one database: attempts alternated
// between them are counted together.
func TestLimitsAcrossProcesses(t *testing.T) {
	t.Parallel()
	a1 := newApp(t, challengeOpts{})
	a2 := a1.second()
	a1.browser().signup("rita")

	// Failed logins for one name from one address.
	b1, b2 := a1.browser(), a2.browser()
	for i := range handlers.LoginFailuresPerName {
		b := []*browser{b1, b2}[i%2]
		if r := b.post("/login", url.Values{"csrf_token": {b.csrf("/login")}, "login": {"rita"}, "password": {"wrong " + strconv.Itoa(i)}}); r.status != 401 {
			t.Fatalf("failure %d: %d", i, r.status)
		}
	}
	for _, b := range []*browser{b1, b2} {
		if r := b.post("/login", url.Values{"csrf_token": {b.csrf("/login")}, "login": {"rita"}, "password": {"correct horse battery"}}); r.status != http.StatusTooManyRequests {
			t.Errorf("login after %d failures across processes: %d, want 429", handlers.LoginFailuresPerName, r.status)
		}
	}

	// Sign-ups from one address.
	for i := range handlers.SignupsPerIP {
		b := []*app{a1, a2}[i%2].browserFrom("127.0.0.5")
		r := b.post("/signup", url.Values{"csrf_token": {b.csrf("/signup")}, "email": {"s" + strconv.Itoa(i) + "@example.org"},
			"username": {"s" + strconv.Itoa(i)}, "password": {"correct horse battery"}})
		if r.status != 303 {
			t.Fatalf("sign-up %d: %d", i, r.status)
		}
	}
	for _, a := range []*app{a1, a2} {
		b := a.browserFrom("127.0.0.5")
		// (both processes refuse the next one)
		r := b.post("/signup", url.Values{"csrf_token": {b.csrf("/signup")}, "email": {"over@example.org"},
			"username": {"over"}, "password": {"correct horse battery"}})
		if r.status != 429 {
			t.Errorf("sign-up over the limit across processes: %d, want 429", r.status)
		}
	}

	// Refused uploads of one user.
	u1 := a1.browserFrom("127.0.0.6")
	u1.signup("tom")
	u2 := a2.browser()
	u2.c.Jar = u1.c.Jar // the same session on the other process
	// The jar is keyed by host; both servers are 127.0.0.1, so the cookie
	// goes to both.
	tok := u1.csrf("/c/esr")
	for i := range handlers.UploadRejectsPerHour {
		b := []*browser{u1, u2}[i%2]
		if r := b.upload(tok, "m.onnx", []byte("not a model")); r.status != 422 {
			t.Fatalf("reject %d: %d", i, r.status)
		}
	}
	for _, b := range []*browser{u1, u2} {
		if r := b.upload(tok, "m.onnx", espcn(t)); r.status != http.StatusTooManyRequests {
			t.Errorf("upload after %d rejects across processes: %d, want 429", handlers.UploadRejectsPerHour, r.status)
		}
	}
}

// TestSlowClients: slow-loris connections on 127.0.0.1, some trickling
// their headers and some their body a byte at a time, are all cut off by the
// header timeout and the body's minimum rate; one address holds at most
// MaxConnsPerIP connections; and a normal request from another address is
// served meanwhile.
func TestSlowClients(t *testing.T) {
	t.Parallel()
	a := newApp(t, challengeOpts{})
	blobs, _ := blob.NewDir(a.blobDir)
	const maxConns = 20
	s, err := web.New(web.Config{Addr: "127.0.0.1:0", BaseURL: "http://example.test",
		ReadHeaderTimeout: 2 * time.Second, BodyGrace: 2 * time.Second, MinBodyRate: 1024, IdleTimeout: 2 * time.Second,
		MaxConnsPerIP: maxConns},
		web.Deps{Log: slog.New(slog.NewTextHandler(io.Discard, nil)), Store: a.store, Blobs: blobs, Jobs: a.jobsFor()})
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	served := make(chan error, 1)
	go func() { served <- s.Serve(ctx, ln) }()
	t.Cleanup(func() { cancel(); <-served })
	addr := ln.Addr().String()

	const loris = 60 // three times the cap
	var wg sync.WaitGroup
	closedAfter := make(chan time.Duration, loris)
	for i := range loris {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c, err := net.Dial("tcp", addr)
			if err != nil {
				closedAfter <- 0
				return
			}
			defer c.Close()
			start := time.Now() // per connection: spawning 60 may take a while on a busy machine
			var head string
			if i%2 == 0 { // trickle the headers
				head = "GET / HTTP/1.1\r\nHost: x\r\n"
			} else { // complete headers, then trickle a large body
				head = "POST /login HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: 100000\r\n\r\n"
			}
			c.Write([]byte(head))
			buf := make([]byte, 1)
			for {
				// One byte every 200 ms: 5 B/s, far below the minimum rate.
				if _, err := c.Write([]byte("a")); err != nil {
					break
				}
				c.SetReadDeadline(time.Now().Add(200 * time.Millisecond))
				if _, err := c.Read(buf); err != nil {
					var ne net.Error
					if errors.As(err, &ne) && ne.Timeout() {
						if time.Since(start) > 20*time.Second {
							break // still open: the check below fails
						}
						continue
					}
				}
				// The server answered (an error page) or closed: drain to EOF.
				c.SetReadDeadline(time.Now().Add(5 * time.Second))
				io.Copy(io.Discard, c)
				break
			}
			closedAfter <- time.Since(start)
		}()
	}
	// While the slow clients hold their connections, another address is
	// served.
	time.Sleep(300 * time.Millisecond)
	other := &http.Client{Transport: &http.Transport{DialContext: (&net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP("127.0.0.7")}}).DialContext}}
	r, err := other.Get("http://" + addr + "/healthz")
	if err != nil || r.StatusCode != 200 {
		t.Errorf("normal request during the attack: %v %v", r, err)
	} else {
		r.Body.Close()
	}
	wg.Wait()
	close(closedAfter)
	var early, late int
	for d := range closedAfter {
		switch {
		case d < time.Second:
			early++ // refused at once: over the cap (the timeouts are 2 s)
		case d > 8*time.Second:
			late++
		}
	}
	if early < loris-maxConns {
		t.Errorf("%d connections closed at once, want at least %d (the per-address cap)", early, loris-maxConns)
	}
	if late > 0 {
		t.Errorf("%d slow connections were held open longer than 8 s", late)
	}
}

// jobsFor is an insert-only job client on a's database.
func (a *app) jobsFor() domain.Jobs {
	a.t.Helper()
	rc, err := river.NewClient(riverpgxv5.New(a.pool), &river.Config{})
	if err != nil {
		a.t.Fatal(err)
	}
	return rc
}

// TestTrustedProxy: behind a trusted proxy the per-address sign-up limit
// counts the clients named by X-Forwarded-For, not the proxy; a client's own
// X-Forwarded-For is ignored when it does not come through a trusted proxy.
func TestTrustedProxy(t *testing.T) {
	t.Parallel()
	a := newApp(t, challengeOpts{})
	blobs, _ := blob.NewDir(a.blobDir)
	s, err := web.New(web.Config{Addr: "127.0.0.1:0", BaseURL: "http://example.test",
		Argon2: handlers.Argon2Params{MemoryKiB: 64, Time: 1, Threads: 1}, TrustedProxies: []netip.Prefix{netip.MustParsePrefix("127.0.0.8/32")}},
		web.Deps{Log: slog.New(slog.NewTextHandler(io.Discard, nil)), Store: a.store, Blobs: blobs, Jobs: a.jobsFor()})
	if err != nil {
		t.Fatal(err)
	}
	b := *a
	b.srv = httptest.NewServer(s.Handler())
	t.Cleanup(b.srv.Close)
	signup := func(from, xff, name string) int {
		br := b.browserFrom(from)
		tok := br.csrf("/signup")
		req, _ := http.NewRequest("POST", b.srv.URL+"/signup", strings.NewReader(url.Values{"csrf_token": {tok},
			"email": {name + "@example.org"}, "username": {name}, "password": {"correct horse battery"}}.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		if xff != "" {
			req.Header.Set("X-Forwarded-For", xff)
		}
		return br.do(req).status
	}
	// Through the proxy (127.0.0.8): each client has its own allowance, so
	// more than SignupsPerIP sign-ups pass in all.
	for i := range handlers.SignupsPerIP + 2 {
		if st := signup("127.0.0.8", "203.0.113."+strconv.Itoa(i%2+1), "p"+strconv.Itoa(i)); st != 303 {
			t.Fatalf("sign-up %d through the proxy: %d", i, st)
		}
	}
	// One client through the proxy hits its own limit (2 of its sign-ups
	// above, a forged left-most hop does not help).
	for i := range handlers.SignupsPerIP - ((handlers.SignupsPerIP + 3) / 2) {
		signup("127.0.0.8", "198.51.100.7, 203.0.113.1", "q"+strconv.Itoa(i))
	}
	if st := signup("127.0.0.8", "198.51.100.7, 203.0.113.1", "qq"); st != http.StatusTooManyRequests {
		t.Errorf("client over its limit through the proxy: %d, want 429", st)
	}
	// A direct client cannot pick its address with the header.
	for i := range handlers.SignupsPerIP {
		signup("127.0.0.9", "192.0.2."+strconv.Itoa(i+1), "d"+strconv.Itoa(i))
	}
	if st := signup("127.0.0.9", "192.0.2.99", "dd"); st != http.StatusTooManyRequests {
		t.Errorf("direct client with a forged X-Forwarded-For: %d, want 429", st)
	}
}
