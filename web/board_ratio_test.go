package web_test

import (
	"bytes"
	"strings"
	"testing"

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
	if b.RuntimeBasis != "ratio" || !strings.Contains(b.RuntimeNote, "× 50 ms reference") {
		t.Errorf("basis %q note %q", b.RuntimeBasis, b.RuntimeNote)
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
