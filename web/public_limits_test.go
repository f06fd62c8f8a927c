package web_test

import (
	"bytes"
	"encoding/json"
	"io"
	"log/slog"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strconv"
	"strings"
	"testing"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"

	"github.com/srarena/srarena/analysis"
	"github.com/srarena/srarena/blob"
	"github.com/srarena/srarena/handlers"
	"github.com/srarena/srarena/web"
)

// serverOn is another server process on a's database, with cfg (Addr,
// BaseURL and a cheap Argon2 filled in).
func serverOn(t *testing.T, a *app, cfg web.Config, inspect handlers.InspectFunc) *app {
	t.Helper()
	blobs, err := blob.NewDir(a.blobDir)
	if err != nil {
		t.Fatal(err)
	}
	rc, err := river.NewClient(riverpgxv5.New(a.pool), &river.Config{})
	if err != nil {
		t.Fatal(err)
	}
	cfg.Addr, cfg.BaseURL = "127.0.0.1:0", "http://example.test"
	cfg.Argon2 = handlers.Argon2Params{MemoryKiB: 64, Time: 1, Threads: 1}
	s, err := web.New(cfg, web.Deps{Log: slog.New(slog.NewTextHandler(io.Discard, nil)), Store: a.store, Blobs: blobs, Jobs: rc, Inspect: inspect})
	if err != nil {
		t.Fatal(err)
	}
	b := &app{t: t, pool: a.pool, store: a.store, blobDir: a.blobDir, server: s, web: s, chID: a.chID, dsID: a.dsID}
	b.srv = httptest.NewServer(s.Handler())
	t.Cleanup(b.srv.Close)
	return b
}

// TestAnalysisRateLimitAcrossServers: the analysis limit is per client
// address (as --trusted-proxies names it) and holds across two server
// processes sharing one database; the API answers 429 in its JSON
// envelope and the form in words, both with Retry-After.
func TestAnalysisRateLimitAcrossServers(t *testing.T) {
	t.Parallel()
	a := newApp(t, challengeOpts{})
	const limit = 3
	cfg := web.Config{AnalysesPerIP: limit, TrustedProxies: []netip.Prefix{netip.MustParsePrefix("127.0.0.9/32")}}
	one, two := serverOn(t, a, cfg, nil), serverOn(t, a, cfg, nil)
	csv := analysis.References[0].CSV()
	// Requests come through a trusted proxy (127.0.0.9) naming the client.
	api := func(s *app, client string) *http.Response {
		t.Helper()
		req, _ := http.NewRequest(http.MethodPost, s.srv.URL+"/api/v1/analysis", bytes.NewReader(csv))
		req.Header.Set("Content-Type", "text/csv")
		req.Header.Set("X-Forwarded-For", client)
		res, err := s.browserFrom("127.0.0.9").c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { res.Body.Close() })
		return res
	}
	for i := range limit {
		s := []*app{one, two}[i%2]
		if res := api(s, "198.51.100.7"); res.StatusCode != http.StatusOK {
			t.Fatalf("analysis %d of %d: %d", i+1, limit, res.StatusCode)
		}
	}
	for _, s := range []*app{one, two} {
		res := api(s, "198.51.100.7")
		body, _ := io.ReadAll(res.Body)
		var env struct {
			Error  string `json:"error"`
			Status int    `json:"status"`
		}
		if res.StatusCode != http.StatusTooManyRequests || json.Unmarshal(body, &env) != nil || env.Status != 429 ||
			!strings.Contains(env.Error, "Too many analyses") || !strings.Contains(env.Error, "Try again in") {
			t.Errorf("analysis over the limit: %d %s", res.StatusCode, body)
		}
		if ra, err := strconv.Atoi(res.Header.Get("Retry-After")); err != nil || ra < 1 || ra > int(handlers.AnalysisWindow.Seconds()) {
			t.Errorf("Retry-After %q", res.Header.Get("Retry-After"))
		}
	}
	// Another client behind the same proxy is not limited by the first.
	if res := api(two, "198.51.100.8"); res.StatusCode != http.StatusOK {
		t.Errorf("another client: %d", res.StatusCode)
	}
	// The form shares the limit: a client (here the proxy's own address,
	// no X-Forwarded-For) that used it up on one server is refused by the
	// other, in words, before its file is read.
	form := func(s *app, b *browser) resp {
		tok := b.csrf("/analysis")
		var body bytes.Buffer
		mw := multipart.NewWriter(&body)
		mw.WriteField("csrf_token", tok)
		fw, _ := mw.CreateFormFile("csv", "mine.csv")
		fw.Write(csv)
		mw.Close()
		req, _ := http.NewRequest(http.MethodPost, s.srv.URL+"/analysis", &body)
		req.Header.Set("Content-Type", mw.FormDataContentType())
		return b.do(req)
	}
	b1, b2 := one.browserFrom("127.0.0.10"), two.browserFrom("127.0.0.10")
	for i := range limit {
		b := []*browser{b1, b2}[i%2]
		if r := form(b.a, b); r.status != http.StatusOK {
			t.Fatalf("form %d: %d", i+1, r.status)
		}
	}
	r := form(one, b1)
	if r.status != http.StatusTooManyRequests || !strings.Contains(r.body, "Too many analyses from your address") || strings.Contains(r.body, "0.8861") {
		t.Errorf("form over the limit: %d", r.status)
	}
	if n := a.count(`SELECT count(*) FROM rate_events WHERE bucket = 'analysis_ip' AND key = '127.0.0.10'`); n != limit {
		t.Errorf("%d events counted for the form's client, want %d", n, limit)
	}
}

// TestUploadsInFlightAcrossServers: "2 uploads in flight per user" holds
// across two server processes on one database (PostgreSQL leases), and
// the leases are gone once the uploads end.
func TestUploadsInFlightAcrossServers(t *testing.T) {
	t.Parallel()
	g := newGatedInspect(func(data []byte, _ int64) bool { return len(data) > 100 })
	a := newApp(t, challengeOpts{inspect: g.inspect})
	second := serverOn(t, a, web.Config{}, g.inspect)
	model := espcn(t)
	ann := a.browser()
	ann.signup("ann")
	tok := ann.csrf("/c/esr")
	// The same person (the same session cookie) on the second process.
	ann2 := &browser{a: second, c: ann.c}
	done := make(chan resp, 2)
	go func() { done <- ann.upload(tok, "m.onnx", model) }()
	go func() { done <- ann2.upload(tok, "m.onnx", model) }()
	g.wait(t, 2) // one upload held in each process
	if n := a.count(`SELECT count(*) FROM leases WHERE bucket = 'upload_user'`); n != 2 {
		t.Errorf("%d leases while two uploads run, want 2", n)
	}
	for _, b := range []*browser{ann, ann2} {
		r := b.upload(tok, "m.onnx", model)
		if r.status != http.StatusTooManyRequests || !strings.Contains(r.body, "uploads in progress") {
			t.Errorf("third upload via %s: %d\n%s", b.a.srv.URL, r.status, r.body)
		}
	}
	close(g.release)
	for range 2 {
		if r := <-done; r.status != http.StatusSeeOther {
			t.Errorf("held upload: %d\n%s", r.status, r.body)
		}
	}
	if n := a.count(`SELECT count(*) FROM leases`); n != 0 {
		t.Errorf("%d leases left after the uploads ended", n)
	}
	if r := ann2.upload(tok, "m.onnx", model); r.status != http.StatusSeeOther {
		t.Errorf("upload after the others ended: %d", r.status)
	}
}
