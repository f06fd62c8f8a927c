package web_test

import (
	"context"
	"strings"
	"testing"
)

// baseline inserts a finished baseline run (no user) on dataset dsID.
func (a *app) baseline(dsID int64, psnr string, runtimeMS float64, device string) int64 {
	a.t.Helper()
	id := a.finished("", dsID, psnr, runtimeMS, "[]")
	a.exec(`UPDATE submissions SET is_baseline = true, label = 'MSRResNet' WHERE id = $1`, id)
	a.exec(`UPDATE results SET device = $2 WHERE submission_id = $1`, id, device)
	return id
}

// testSplitOnly replaces the challenge's dataset by a test split.
func (a *app) testSplitOnly() int64 {
	a.t.Helper()
	a.exec(`DELETE FROM datasets`)
	var ds int64
	if err := a.pool.QueryRow(context.Background(),
		`INSERT INTO datasets (challenge_id, name, split) VALUES ($1, 'final-test', 'test') RETURNING id`, a.chID).Scan(&ds); err != nil {
		a.t.Fatal(err)
	}
	return ds
}

// TestLeaderboardTestSplitGate: AIM 2020 gates the validation PSNR only. On
// a test-only board that gate must not just vanish (a model that outputs
// zeros quickly would rank first): it applies to the test PSNR, relative
// to the baseline, and the page says so.
func TestLeaderboardTestSplitGate(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		baseline string // "" for none: the rules' published test PSNR (28.70)
		ranked   []string
	}{
		{"rules' baseline", "", []string{"good"}},
		{"measured baseline", "28.00", []string{"fair", "good"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			a := newApp(t, challengeOpts{})
			ds := a.testSplitOnly()
			for _, u := range []string{"zero", "good", "fair"} {
				a.user(u)
			}
			if tc.baseline != "" {
				a.baseline(ds, tc.baseline, 40, "")
			}
			a.finished("zero", ds, "11.20", 1, "[]") // all-black output, fast
			a.finished("good", ds, "28.80", 30, "[]")
			a.finished("fair", ds, "28.30", 20, "[]")
			b := a.board()
			var ranked []string
			for _, r := range b.Rows {
				if r.Rank > 0 {
					ranked = append(ranked, r.Name)
				}
				if r.Name == "zero" && (r.Rank != 0 || !strings.Contains(r.Unranked, "test PSNR 11.20 dB is below")) {
					t.Errorf("zero-output model: rank %d, unranked %q", r.Rank, r.Unranked)
				}
			}
			if strings.Join(ranked, ",") != strings.Join(tc.ranked, ",") {
				t.Errorf("ranked %v, want %v", ranked, tc.ranked)
			}
			const note = "gate applied to test PSNR in place of validation PSNR"
			if len(b.GatesApplied) != 1 || !strings.Contains(b.GatesApplied[0], note) || len(b.GatesSkipped) != 0 {
				t.Errorf("gates applied %q skipped %q", b.GatesApplied, b.GatesSkipped)
			}
			if page := a.browser().get("/c/esr/leaderboard"); !strings.Contains(page.body, note) {
				t.Errorf("page lacks %q", note)
			}
		})
	}
}

// TestLeaderboardDevices: only results measured on the baseline's device
// are ranked; a user whose only results come from another device is listed
// unranked with the reason, and a user with a result on each keeps the
// comparable one. Without a baseline the most common device is used.
func TestLeaderboardDevices(t *testing.T) {
	t.Parallel()
	const cpu, gpu = "cpu (2 threads)", "cuda"
	a := newApp(t, challengeOpts{})
	for _, u := range []string{"cpuu", "gpuu", "both"} {
		a.user(u)
	}
	dev := func(id int64, d string) { a.exec(`UPDATE results SET device = $2 WHERE submission_id = $1`, id, d) }
	dev(a.finished("cpuu", a.dsID, "29.10", 50, "[]"), cpu)
	dev(a.finished("gpuu", a.dsID, "29.50", 2, "[]"), gpu)
	dev(a.finished("gpuu", a.dsID, "29.40", 3, "[]"), gpu)
	dev(a.finished("both", a.dsID, "29.20", 1, "[]"), gpu)
	dev(a.finished("both", a.dsID, "29.20", 60, "[]"), cpu)
	a.baseline(a.dsID, "29.00", 80, cpu) // the newest baseline: on the CPU
	b := a.board()
	got := map[string]string{}
	rank := map[string]int{}
	for _, r := range b.Rows {
		got[r.Name], rank[r.Name] = r.Unranked, r.Rank
	}
	if rank["cpuu"] != 1 || rank["both"] != 2 || rank["gpuu"] != 0 {
		t.Errorf("ranks %v, want cpuu 1, both 2, gpuu unranked", rank)
	}
	if want := "measured on a different device (cuda), not comparable"; got["gpuu"] != want {
		t.Errorf("gpuu unranked %q, want %q", got["gpuu"], want)
	}
	if b.Device != cpu || len(b.Rows) != 4 {
		t.Errorf("device %q, %d rows", b.Device, len(b.Rows))
	}
	page := a.browser().get("/c/esr/leaderboard")
	for _, s := range []string{`data-testid="device"`, "measured on " + cpu, "measured on a different device (cuda)"} {
		if !strings.Contains(page.body, s) {
			t.Errorf("leaderboard page lacks %q", s)
		}
	}
	if c := a.browser().get("/c/esr"); strings.Contains(c.body, "same CPU worker class") || !strings.Contains(c.body, "ranks only results measured on") {
		t.Errorf("challenge page still promises one worker class")
	}

	// No baseline: the device most results have.
	a.exec(`DELETE FROM submissions WHERE is_baseline`)
	if b := a.board(); b.Device != gpu {
		t.Errorf("without a baseline: device %q, want %q (3 of 5 results)", b.Device, gpu)
	}
}

// TestLeaderboardWarmupColumn: the board reads the warm-up count from
// results.warmup, not from the per-image table.
func TestLeaderboardWarmupColumn(t *testing.T) {
	t.Parallel()
	a := newApp(t, challengeOpts{})
	a.user("wara")
	id := a.finished("wara", a.dsID, "29.50", 10, `[{"name": "0801", "runtime_ms": 10}]`)
	a.exec(`UPDATE results SET warmup = 3 WHERE submission_id = $1`, id)
	if b := a.board(); len(b.Rows) != 1 || b.Rows[0].Warmup != 3 {
		t.Errorf("rows %+v, want warm-up 3", b.Rows)
	}
	page := a.browser().get("/c/esr/leaderboard")
	for _, s := range []string{"5 timed runs per image after 3 warm-up", "each image is run 3 untimed warm-up"} {
		if !strings.Contains(page.body, s) {
			t.Errorf("page lacks %q", s)
		}
	}
}
