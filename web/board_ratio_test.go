package web_test

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/srarena/srarena/internal/apitoken"
	"github.com/srarena/srarena/scoring"
)

// TestLeaderboardRatioBasis: on a phase that ranks by the runtime ratio
// (NTIRE 2024 exp scores), the board ranks ratio × the baseline's runtime,
// says so, lists a result without a ratio unranked, and leaderboard.csv
// carries the ranked and the measured runtime and the ratio, so that
// srarena rank's code reproduces the board's ranks.
func TestLeaderboardRatioBasis(t *testing.T) {
	t.Parallel()
	a := newApp(t, challengeOpts{})
	a.rules("ntire2024")
	a.baseline(a.dsID, "27.5", 50, "")
	for i, u := range []string{"ann", "bob", "cat", "dan"} {
		a.user(u)
		id := a.finished(u, a.dsID, "28.0", []float64{10, 30, 20, 5}[i], "[]")
		if ratio := []float64{0.9, 0.4, 0.6, 0}[i]; ratio > 0 {
			a.exec(`UPDATE results SET runtime_ratio = $2, runtime_ratio_cv = 0.01, runtime_ratio_clock = 'cpu' WHERE submission_id = $1`, id, ratio)
		}
	}
	a.exec(`UPDATE phases SET runtime_basis = 'ratio' WHERE challenge_id = $1`, a.chID)
	b := a.board()
	rank := map[string]int{}
	for _, r := range b.Rows {
		rank[r.Name] = r.Rank
	}
	if rank["bob"] != 1 || rank["cat"] != 2 || rank["ann"] != 3 || rank["dan"] != 0 {
		t.Errorf("ratio board ranks %v (want bob 0.4, cat 0.6, ann 0.9; dan has no ratio)", rank)
	}
	if b.RuntimeBasis != "ratio" || !strings.Contains(b.RuntimeBasisNote, "× 50 ms reference") {
		t.Errorf("basis %q note %q", b.RuntimeBasis, b.RuntimeBasisNote)
	}
	_, body := a.raw("/c/esr/leaderboard.csv")
	tab, err := scoring.ReadResultsCSV(bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	for _, row := range tab.Rows {
		if row[0] == "bob" && (row[tab.Col("ave_time_ms")] != "20" || row[tab.Col("raw_time_ms")] != "30" || row[tab.Col("runtime_ratio")] != "0.4") {
			t.Errorf("bob's CSV row: ave %s raw %s ratio %s", row[tab.Col("ave_time_ms")], row[tab.Col("raw_time_ms")], row[tab.Col("runtime_ratio")])
		}
	}
	// srarena rank's code on the CSV, with its baseline row as baseline.
	entries, err := tab.Entries()
	if err != nil {
		t.Fatal(err)
	}
	var base map[string]float64
	for _, e := range entries {
		if e.Baseline {
			base = e.Metrics
		}
	}
	rules, _ := scoring.Preset("ntire2024")
	// As the board applies them: a validation board cannot check the test
	// split's PSNR gate (domain.measuredGates).
	rules.Gates = []scoring.Gate{{Metric: scoring.MetricPSNRVal, Min: 26.90}}
	again, _, err := scoring.RankResults(tab, rules, base)
	if err != nil {
		t.Fatal(err)
	}
	checked := 0
	for _, row := range again.Rows {
		if rank[row[0]] > 0 {
			checked++
			if got := row[again.Col("main_rank")]; got != itoa(rank[row[0]]) {
				t.Errorf("%s: rank re-ranks %q, board %d", row[0], got, rank[row[0]])
			}
		}
	}
	if checked != 3 {
		t.Errorf("re-ranked %d ranked rows, want 3", checked)
	}
	page := a.browser().get("/c/esr/leaderboard").body
	if !strings.Contains(page, `data-testid="runtime-basis"`) || !strings.Contains(page, "ratio to baseline × 50 ms") {
		t.Error("the board page does not say it ranks by the ratio")
	}
}

// TestPhaseRuntimeAPI: an organizer sets a phase's runtime settings
// through the API; a field the request does not name keeps its value, an
// unknown field or a bad value is refused and changes nothing.
func TestPhaseRuntimeAPI(t *testing.T) {
	t.Parallel()
	a := newApp(t, challengeOpts{})
	a.user("root")
	a.makeAdmin("root")
	tok, hash, err := apitoken.New()
	if err != nil {
		t.Fatal(err)
	}
	var uid int64
	a.pool.QueryRow(context.Background(), `SELECT id FROM users WHERE username = 'root'`).Scan(&uid)
	if _, err := a.store.CreateAPIToken(context.Background(), uid, "t", hash); err != nil {
		t.Fatal(err)
	}
	var phase string
	a.pool.QueryRow(context.Background(), `SELECT name FROM phases WHERE challenge_id = $1 ORDER BY position LIMIT 1`, a.chID).Scan(&phase)
	post := func(body string) (int, string) {
		req, _ := http.NewRequest("POST", a.srv.URL+"/api/v1/challenges/esr/phases/"+phase+"/runtime", strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Authorization", "Bearer "+tok)
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		return res.StatusCode, string(b)
	}
	if st, body := post(`{"runtime_basis":"ratio","runtime_reference_ms":12.3}`); st != 200 || !strings.Contains(body, `"runtime_reference_ms":12.3`) {
		t.Fatalf("set: %d %s", st, body)
	}
	if st, body := post(`{"threads":1}`); st != 200 || !strings.Contains(body, `"runtime_reference_ms":12.3,"timing_protocol":"robust","threads":1`) {
		t.Errorf("set threads: %d %s", st, body)
	}
	if st, body := post(`{"timing_protocol":"official"}`); st != 200 || !strings.Contains(body, `"runtime_basis":"ratio","runtime_reference_ms":12.3,"timing_protocol":"official","threads":1`) {
		t.Errorf("a request without the reference and threads keeps them: %d %s", st, body)
	}
	for _, bad := range []string{`{"runtime_basis":"fast"}`, `{"runtime_reference_ms":-1}`, `{"speed":1}`, `{"runtime_reference_ms":"x"}`,
		`{"threads":0}`, `{"threads":257}`, `{"threads":1.5}`, `{"Threads":2}`} {
		if st, body := post(bad); st != 400 && st != 422 {
			t.Errorf("%s: %d %s", bad, st, body)
		}
	}
	if st, body := post(`{"runtime_reference_ms":null}`); st != 200 || !strings.Contains(body, `"runtime_reference_ms":null`) || !strings.Contains(body, `"threads":1`) {
		t.Errorf("clear the reference: %d %s", st, body)
	}
	var basis, protocol string
	var threads *int
	a.pool.QueryRow(context.Background(), `SELECT runtime_basis, timing_protocol, ort_threads FROM phases WHERE challenge_id = $1 AND name = $2`, a.chID, phase).Scan(&basis, &protocol, &threads)
	if basis != "ratio" || protocol != "official" || threads == nil || *threads != 1 {
		t.Errorf("stored %s / %s / %v", basis, protocol, threads)
	}
	// Participants see the phase's timing conditions.
	res, err := http.Get(a.srv.URL + "/api/v1/challenges/esr")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if !strings.Contains(string(b), `"timing_protocol":"official","threads":1`) {
		t.Errorf("the challenge's API does not show the phase's threads: %s", b)
	}
	if st, body := post(`{"threads":null}`); st != 200 || !strings.Contains(body, `"threads":null`) {
		t.Errorf("clear the threads: %d %s", st, body)
	}
}
