package web_test

import (
	"bytes"
	"compress/gzip"
	"context"
	"io"
	"log/slog"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"strconv"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"

	"github.com/srarena/srarena/blob"
	"github.com/srarena/srarena/handlers"
	"github.com/srarena/srarena/web"
	"strings"
	"testing"
	"time"

	"github.com/srarena/srarena/analysis"
	"github.com/srarena/srarena/scoring"
	"github.com/srarena/srarena/store"
)

// raw is a plain GET without a cookie jar, returning the whole response.
func (a *app) raw(path string, hdr ...string) (*http.Response, []byte) {
	a.t.Helper()
	req, _ := http.NewRequest(http.MethodGet, a.srv.URL+path, nil)
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	res, err := (&http.Transport{DisableCompression: true}).RoundTrip(req)
	if err != nil {
		a.t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res, b
}

// watch starts the change listener and waits until pages are cached.
func (a *app) watch() {
	a.t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	a.t.Cleanup(cancel)
	go a.server.WatchChanges(ctx)
	for i := 0; !a.server.PagesLive(); i++ {
		if i > 200 {
			a.t.Fatal("change listener not live after 2 s")
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// eventually polls the JSON board until ok holds (notifications are
// asynchronous), failing after 3 s.
func (a *app) eventually(what string, ok func(string) bool) {
	a.t.Helper()
	for i := 0; ; i++ {
		_, b := a.raw("/c/esr/leaderboard.json")
		if ok(string(b)) {
			return
		}
		if i > 300 {
			a.t.Fatalf("%s: not seen after 3 s; board %s", what, b)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestPublicPagesCached: anonymous readers get cached bytes with an ETag
// and no cookie; a change in the database (a trigger's NOTIFY) replaces
// them at once, in every server process; without a notification the cached
// bytes stay.
func TestPublicPagesCached(t *testing.T) {
	t.Parallel()
	a := newApp(t, challengeOpts{})
	a.watch()
	a.user("cara")
	id := a.finished("cara", a.dsID, "29.50", 10, "[]")
	a.eventually("first result", func(b string) bool { return strings.Contains(b, `"cara"`) })

	for _, path := range []string{"/c/esr/leaderboard", "/c/esr/leaderboard.json", "/c/esr/leaderboard.csv", "/c/esr/analysis", "/analysis/ntire2023"} {
		res, body := a.raw(path)
		if res.StatusCode != 200 || len(body) == 0 {
			t.Fatalf("%s: %d", path, res.StatusCode)
		}
		if c := res.Header.Values("Set-Cookie"); len(c) > 0 {
			t.Errorf("%s sets cookies for an anonymous reader: %q", path, c)
		}
		if path == "/analysis/ntire2023" {
			continue // rendered per request (static data), no ETag needed
		}
		etag := res.Header.Get("ETag")
		if etag == "" || res.Header.Get("Vary") != "Accept-Encoding" {
			t.Errorf("%s: ETag %q Vary %q", path, etag, res.Header.Get("Vary"))
		}
		if r2, b2 := a.raw(path, "If-None-Match", etag); r2.StatusCode != http.StatusNotModified || len(b2) != 0 {
			t.Errorf("%s with If-None-Match: %d, %d bytes", path, r2.StatusCode, len(b2))
		}
		if path != "/c/esr/leaderboard.csv" {
			gz, zb := a.raw(path, "Accept-Encoding", "gzip")
			if gz.Header.Get("Content-Encoding") != "gzip" {
				t.Errorf("%s: no gzip", path)
			} else if zr, err := gzip.NewReader(bytes.NewReader(zb)); err != nil {
				t.Error(err)
			} else if plain, _ := io.ReadAll(zr); !bytes.Equal(plain, body) {
				t.Errorf("%s: gzip body differs", path)
			}
			if br, _ := a.raw(path, "Accept-Encoding", "gzip, br"); br.Header.Get("Content-Encoding") != "br" {
				t.Errorf("%s: no brotli", path)
			}
		}
	}

	// A second serve process on the same database.
	second := newAppOn(t, a)
	second.watch()

	// Without a notification, the cached board stays (the trigger is off).
	a.exec(`ALTER TABLE results DISABLE TRIGGER results_board`)
	a.exec(`UPDATE results SET psnr = 30.25 WHERE submission_id = $1`, id)
	a.exec(`ALTER TABLE results ENABLE TRIGGER results_board`)
	time.Sleep(50 * time.Millisecond)
	if _, b := a.raw("/c/esr/leaderboard.json"); strings.Contains(string(b), "30.25") {
		t.Error("the board was recomputed without a change notification: not cached")
	}
	// A bump (what every trigger does) replaces it in both processes.
	a.exec(`SELECT srarena_bump_board($1)`, a.chID)
	a.eventually("bumped board", func(b string) bool { return strings.Contains(b, "30.25") })
	second.eventually("bumped board, second process", func(b string) bool { return strings.Contains(b, "30.25") })
	// An ordinary new result shows up at once, through the triggers.
	a.user("dora")
	a.finished("dora", a.dsID, "29.70", 8, "[]")
	a.eventually("new result", func(b string) bool { return strings.Contains(b, `"dora"`) })
	second.eventually("new result, second process", func(b string) bool { return strings.Contains(b, `"dora"`) })
	if _, html := a.raw("/c/esr/leaderboard"); !strings.Contains(string(html), "dora") {
		t.Error("page not replaced with the JSON")
	}

	// A signed-in user gets their own navigation, not the shared bytes.
	b := a.browser()
	b.signup("erin")
	if p := b.get("/c/esr/leaderboard"); !strings.Contains(p.body, `data-testid="whoami"`) || !strings.Contains(p.body, "dora") {
		t.Error("signed-in user got the anonymous page")
	}
}

// TestLeaderboardCSVRanksAsBoard: leaderboard.csv is a results CSV that
// srarena rank reads and ranks the way the board did, with every track.
func TestLeaderboardCSVRanksAsBoard(t *testing.T) {
	t.Parallel()
	a := newApp(t, challengeOpts{})
	a.rules("ntire2023")
	a.baseline(a.dsID, "28.90", 50, "")
	for i, u := range []string{"ann", "bob", "cat", "dan"} {
		a.user(u)
		a.finished(u, a.dsID, []string{"29.0", "29.1", "28.0", "29.3"}[i], float64(10+7*i), "[]")
	}
	b := a.board()
	res, body := a.raw("/c/esr/leaderboard.csv")
	if ct := res.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/csv") {
		t.Errorf("content type %q", ct)
	}
	tab, err := scoring.ReadResultsCSV(bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	for _, col := range []string{"team", "ranked", "ave_time_ms", "time_rank", "psnr_val", "params_m", "flops_g", "acts_m", "mem_mb", "conv",
		"modelcomp_sum", "modelcomp_rank", "overall_sum", "overall_rank", "flops_kair_g", "flops_fvcore_g", "unranked_reason"} {
		if tab.Col(col) < 0 {
			t.Errorf("leaderboard.csv lacks column %s", col)
		}
	}
	want := map[string]string{}
	for _, r := range b.Rows {
		if r.Rank > 0 {
			want[r.Name] = itoa(r.Rank)
		} else {
			want[r.Name] = ""
		}
	}
	rules, _ := scoring.Preset("ntire2023")
	again, _, err := scoring.RankResults(tab, rules, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, row := range tab.Rows {
		if got := row[tab.Col("time_rank")]; got != want[row[0]] {
			t.Errorf("%s: CSV rank %q, board %q", row[0], got, want[row[0]])
		}
	}
	if len(again.Rows) != len(tab.Rows) {
		t.Errorf("rank re-reads %d rows of %d", len(again.Rows), len(tab.Rows))
	}
	page := a.browser().get("/c/esr/leaderboard")
	for _, s := range []string{"overall rank", "modelcomp sum", "FLOPs (KAIR)", "FLOPs (fvcore)", "Not ranked", "below the required", `id="pareto"`} {
		if !strings.Contains(page.body, s) {
			t.Errorf("leaderboard page lacks %q", s)
		}
	}
	// Sorting without script: a link per column, the order applied by the server.
	sorted := a.browser().get("/c/esr/leaderboard?sort=psnr&dir=desc").body
	if i, j := strings.Index(sorted, ">dan<"), strings.Index(sorted, ">bob<"); i < 0 || j < 0 || i > j {
		t.Error("sort by PSNR descending does not put dan (29.3) above bob (29.1)")
	}
	if !strings.Contains(sorted, `aria-sort="descending"`) {
		t.Error("sorted column not marked")
	}
}

func itoa(n int) string { return strconv.Itoa(n) }

// newAppOn is a second server process on a's database.
func newAppOn(t *testing.T, a *app) *app {
	t.Helper()
	blobs, err := blob.NewDir(a.blobDir)
	if err != nil {
		t.Fatal(err)
	}
	rc, err := river.NewClient(riverpgxv5.New(a.pool), &river.Config{})
	if err != nil {
		t.Fatal(err)
	}
	s, err := web.New(web.Config{Addr: "127.0.0.1:0", BaseURL: "http://example.test",
		Argon2: handlers.Argon2Params{MemoryKiB: 64, Time: 1, Threads: 1}},
		web.Deps{Log: slog.New(slog.NewTextHandler(io.Discard, nil)), Store: a.store, Blobs: blobs, Jobs: rc})
	if err != nil {
		t.Fatal(err)
	}
	b := &app{t: t, pool: a.pool, store: a.store, blobDir: a.blobDir, server: s, chID: a.chID, dsID: a.dsID}
	b.srv = httptest.NewServer(s.Handler())
	t.Cleanup(b.srv.Close)
	return b
}

// TestAnalysisPages: the NTIRE 2023 reference shows protocol.md §6 to 4
// decimals; the form and the API analyse a posted table.
func TestAnalysisPages(t *testing.T) {
	t.Parallel()
	a := newApp(t, challengeOpts{})
	page := a.browser().get("/analysis/ntire2023")
	for _, s := range []string{"0.0033", "−0.3896", "−0.2061", "0.0097", "−0.3966", "−0.2056", "0.8861", "0.9150", "0.7702",
		"0.2909", "0.3130", "0.2137", "0.5013", "0.8611", "0.6721", "HeaseoChung/LMRLFN", "activations predicts runtime best"} {
		if !strings.Contains(page.body, s) {
			t.Errorf("reference page lacks %q", s)
		}
	}
	csv := analysis.References[0].CSV()

	// The API answers exactly what srarena correlate --json prints.
	res, err := http.Post(a.srv.URL+"/api/v1/analysis", "text/csv", bytes.NewReader(csv))
	if err != nil {
		t.Fatal(err)
	}
	got, _ := io.ReadAll(res.Body)
	res.Body.Close()
	tab, _ := scoring.ReadResultsCSV(bytes.NewReader(csv))
	cs, _ := scoring.CorrelateResults(tab)
	var want bytes.Buffer
	analysis.WriteJSON(&want, cs)
	if res.StatusCode != 200 || !bytes.Equal(got, want.Bytes()) {
		t.Errorf("API: %d %s", res.StatusCode, got)
	}
	res, _ = http.Post(a.srv.URL+"/api/v1/analysis", "text/csv", strings.NewReader("no,team column\n1,2\n"))
	if res.StatusCode != http.StatusUnprocessableEntity {
		t.Errorf("bad CSV: %d", res.StatusCode)
	}
	res, _ = http.Post(a.srv.URL+"/api/v1/analysis", "text/csv", bytes.NewReader(bigCSV()))
	if res.StatusCode != http.StatusRequestEntityTooLarge {
		t.Errorf("1.2 MB CSV: %d", res.StatusCode)
	}

	res, _ = http.Post(a.srv.URL+"/api/v1/analysis", "text/csv", strings.NewReader("team,ranked,ave_time_ms,acts_m\n"+strings.Repeat("t,1,1,2\n", 5001)))
	if res.StatusCode != http.StatusUnprocessableEntity {
		t.Errorf("5001 rows: %d", res.StatusCode)
	}

	// The form: CSRF first, then the file.
	b := a.browser()
	tok := b.csrf("/analysis")
	post := func(tok string, file []byte) resp {
		var body bytes.Buffer
		mw := multipart.NewWriter(&body)
		if tok != "" {
			mw.WriteField("csrf_token", tok)
		}
		fw, _ := mw.CreateFormFile("csv", "mine.csv")
		fw.Write(file)
		mw.Close()
		req, _ := http.NewRequest(http.MethodPost, a.srv.URL+"/analysis", &body)
		req.Header.Set("Content-Type", mw.FormDataContentType())
		return b.do(req)
	}
	if r := post(tok, csv); r.status != 200 || !strings.Contains(r.body, "0.8861") || !strings.Contains(r.body, "analysed and not stored") {
		t.Errorf("form: %d", r.status)
	}
	if r := post("", csv); r.status != http.StatusForbidden {
		t.Errorf("form without CSRF token: %d", r.status)
	}
	if r := post(tok, []byte("team,ranked\n\"unterminated\n")); r.status != http.StatusUnprocessableEntity || !strings.Contains(r.body, "not a results CSV") {
		t.Errorf("bad file: %d", r.status)
	}
	if r := post(tok, bigCSV()); r.status == 200 || strings.Contains(r.body, "0.8861") {
		t.Errorf("oversized file: %d", r.status)
	}

	// A challenge's analysis, from its ranked rows.
	for i, u := range []string{"ann", "bob", "cat", "dan", "eve"} {
		a.user(u)
		a.finished(u, a.dsID, "29.5", float64(10+5*i), "[]")
	}
	if p := a.browser().get("/c/esr/analysis"); p.status != 200 || !strings.Contains(p.body, "Runtime against parameters") ||
		!strings.Contains(p.body, "FLOPs (fvcore rule)") {
		t.Errorf("challenge analysis: %d", p.status)
	}
}

// bigCSV is a well-formed table over 1 MiB with few rows.
func bigCSV() []byte {
	return append([]byte("team,x\n"), bytes.Repeat([]byte("t,"+strings.Repeat("9", 1000)+"\n"), 1100)...)
}

// TestSeededBoard: srarena seed's teams rank, and every page says they are
// synthetic.
func TestSeededBoard(t *testing.T) {
	t.Parallel()
	a := newApp(t, challengeOpts{})
	a.rules("ntire2023")
	res, err := a.store.SeedSynthetic(context.Background(), a.chID, store.SeedOptions{Teams: 60, Seed: 7})
	if err != nil || res.Teams != 60 {
		t.Fatalf("seed: %+v %v", res, err)
	}
	if n := a.count(`SELECT count(*) FROM submissions WHERE challenge_id = $1 AND synthetic`, a.chID); n != 60 {
		t.Errorf("%d synthetic submissions", n)
	}
	b := a.board()
	ranked := 0
	for _, r := range b.Rows {
		if !r.Synthetic {
			t.Errorf("row %s not marked synthetic in JSON", r.Name)
		}
		if r.Rank > 0 {
			ranked++
		}
	}
	if ranked < 40 || len(b.Rows) != 60 {
		t.Errorf("%d rows, %d ranked", len(b.Rows), ranked)
	}
	for _, path := range []string{"/c/esr/leaderboard", "/c/esr/analysis"} {
		if p := a.browser().get(path); !strings.Contains(p.body, `data-testid="synthetic"`) {
			t.Errorf("%s does not say the results are synthetic", path)
		}
	}
	// The history: submissions spread over 30 days, and the fastest ranked
	// runtime so far (NTIRE 2023's main track is the runtime).
	page := a.browser().get("/c/esr/leaderboard").body
	if !strings.Contains(page, `id="history"`) || !strings.Contains(page, "fastest runtime so far (ms)") ||
		!strings.Contains(page, "60 in all") {
		t.Error("leaderboard lacks the history chart of 60 submissions")
	}
	if _, csv := a.raw("/c/esr/leaderboard.csv"); !strings.Contains(string(csv), "synthetic") {
		t.Error("CSV lacks the synthetic column")
	}
	// Seeding again adds new teams, numbered on.
	if _, err := a.store.SeedSynthetic(context.Background(), a.chID, store.SeedOptions{Teams: 5, Seed: 8}); err != nil {
		t.Fatal(err)
	}
	if n := a.count(`SELECT count(*) FROM teams WHERE challenge_id = $1 AND name LIKE 'synthetic-%'`, a.chID); n != 65 {
		t.Errorf("%d synthetic teams after a second seed", n)
	}
	if _, err := a.store.SeedSynthetic(context.Background(), a.chID, store.SeedOptions{Teams: 0}); err == nil {
		t.Error("0 teams accepted")
	}
}
