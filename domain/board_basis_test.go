package domain_test

import (
	"math"
	"strings"
	"testing"

	"github.com/srarena/srarena/domain"
	"github.com/srarena/srarena/store"
)

// TestRuntimeBasisRatio: a phase set to the ratio basis ranks by
// runtime_ratio × the reference (the baseline's measured runtime, or the
// organizer's value), lists a result without a ratio unranked, keeps the
// measured runtime beside it, exports both, and hands the worker the
// phase's timing protocol. Real PostgreSQL.
func TestRuntimeBasisRatio(t *testing.T) {
	t.Parallel()
	e := newEnv(t, phaseOpts{})
	ann, bob, cat := e.registered("ann", "A"), e.registered("bob", "B"), e.registered("cat", "C")
	var baseID int64
	if err := e.pool.QueryRow(e.ctx, `INSERT INTO submissions (challenge_id, dataset_id, model_sha256, model_bytes, is_baseline, label)
		VALUES ($1, $2, $3, 1, true, 'rfdn') RETURNING id`, e.chID, e.devDS, strings.Repeat("e", 64)).Scan(&baseID); err != nil {
		t.Fatal(err)
	}
	e.finish(baseID, 30, 50, "cpu")
	a, _ := e.submit(ann, "dev")
	b, _ := e.submit(bob, "dev")
	c, _ := e.submit(cat, "dev")
	// A was measured on a quiet machine (fast raw time), B on a busy one:
	// by the ratio to the baseline timed beside it, B is the faster model.
	e.finish(a, 31, 10, "cpu")
	e.finish(b, 31, 20, "cpu")
	e.finish(c, 31, 5, "cpu") // no baseline beside it: no ratio
	e.exec(`UPDATE results SET runtime_ratio = 0.8, runtime_ratio_cv = 0.01, runtime_ratio_clock = 'cpu' WHERE submission_id = $1`, a)
	e.exec(`UPDATE results SET runtime_ratio = 0.5, runtime_ratio_cv = 0.02, runtime_ratio_clock = 'cpu' WHERE submission_id = $1`, b)

	board := func() map[string]domain.LeaderRow {
		t.Helper()
		_, bd, err := e.svc.Leaderboard(e.ctx, domain.Viewer{}, "esr", "dev")
		if err != nil {
			t.Fatal(err)
		}
		rows := map[string]domain.LeaderRow{}
		for _, r := range bd.Rows {
			rows[r.Name] = r
		}
		t.Logf("%s: %+v", bd.RuntimeBasisNote, bd.Rows)
		return rows
	}
	rows := board()
	if rows["C"].Rank != 1 || rows["A"].Rank != 2 || rows["B"].Rank != 3 || rows["A"].RuntimeMS != 10 {
		t.Fatalf("raw basis: want C, A, B by measured runtime: %+v", rows)
	}
	if rows["A"].RuntimeRatio == nil || *rows["A"].RuntimeRatio != 0.8 || *rows["A"].RawRuntimeMS != 10 {
		t.Errorf("raw basis: the ratio is still shown: %+v", rows["A"])
	}

	admin := e.user("root")
	e.exec(`UPDATE users SET is_admin = true WHERE username = 'root'`)
	admin.IsAdmin = true
	if _, err := e.svc.UpdatePhaseRuntime(e.ctx, ann, "esr", "dev", domain.PhaseRuntime{RuntimeBasis: "ratio"}); domain.KindOf(err) != domain.KindNotFound {
		t.Errorf("a participant set the runtime basis: %v", err)
	}
	for _, bad := range []domain.PhaseRuntime{{RuntimeBasis: "fastest"}, {TimingProtocol: "quick"}, {RuntimeReferenceMS: ptr(-1)}, {RuntimeReferenceMS: ptr(math.NaN())},
		{Threads: intPtr(0)}, {Threads: intPtr(-2)}, {Threads: intPtr(domain.MaxPhaseThreads + 1)}} {
		if _, err := e.svc.UpdatePhaseRuntime(e.ctx, admin, "esr", "dev", bad); domain.KindOf(err) != domain.KindInvalid {
			t.Errorf("%+v accepted: %v", bad, err)
		}
	}
	audits := e.count(`SELECT count(*) FROM audit_events WHERE action = 'phase.runtime'`)
	got, err := e.svc.UpdatePhaseRuntime(e.ctx, admin, "esr", "dev", domain.PhaseRuntime{RuntimeBasis: "ratio", TimingProtocol: "official"})
	if err != nil || got.RuntimeBasis != "ratio" || got.TimingProtocol != "official" || got.RuntimeReferenceMS != nil || got.Threads != nil {
		t.Fatalf("set ratio: %+v %v", got, err)
	}
	if n := e.count(`SELECT count(*) FROM audit_events WHERE action = 'phase.runtime'`); n != audits+1 {
		t.Errorf("audit rows %d, want %d", n, audits+1)
	}
	// Reference = the baseline's measured 50 ms: A 40 ms, B 25 ms.
	rows = board()
	if rows["B"].Rank != 1 || rows["A"].Rank != 2 || rows["B"].RuntimeMS != 25 || rows["A"].RuntimeMS != 40 {
		t.Errorf("ratio basis: want B (0.5 × 50) before A (0.8 × 50): %+v", rows)
	}
	if rows["C"].Rank != 0 || rows["C"].Unranked != domain.NoRatioReason || *rows["C"].RawRuntimeMS != 5 {
		t.Errorf("no ratio: %+v", rows["C"])
	}
	if rows["rfdn"].RuntimeMS != 50 || !rows["rfdn"].Baseline {
		t.Errorf("baseline row: %+v", rows["rfdn"])
	}
	// An organizer's reference: 12.3 ms.
	if _, err := e.svc.UpdatePhaseRuntime(e.ctx, admin, "esr", "dev", domain.PhaseRuntime{RuntimeReferenceMS: ptr(12.3)}); err != nil {
		t.Fatal(err)
	}
	_, bd, _ := e.svc.Leaderboard(e.ctx, domain.Viewer{}, "esr", "dev")
	if bd.RuntimeBasis != "ratio" || bd.TimingProtocol != "official" || bd.RuntimeBasisNote != "runtime = ratio to baseline × 12.3 ms reference" {
		t.Errorf("board says %q / %q / %q (protocol kept when the form leaves it empty)", bd.RuntimeBasis, bd.TimingProtocol, bd.RuntimeBasisNote)
	}
	for _, r := range bd.Rows {
		if r.Name == "B" && (r.Rank != 1 || math.Abs(r.RuntimeMS-0.5*12.3) > 1e-12) {
			t.Errorf("B with the 12.3 ms reference: %+v", r)
		}
	}
	// The export carries the ranked and the measured runtime.
	tab, _, err := e.svc.ExportPhase(e.ctx, admin, "esr", "dev")
	if err != nil {
		t.Fatal(err)
	}
	for _, row := range tab.Rows {
		if row[tab.Col("team")] == "B" && (row[tab.Col("raw_time_ms")] != "20" || row[tab.Col("runtime_ratio")] != "0.5" || row[tab.Col("ave_time_ms")] != "6.15") {
			t.Errorf("export row of B: %v", row)
		}
	}
	// The worker times with the phase's protocol and threads (nil: the
	// worker's own, 0 in the input).
	in, err := e.st.EvaluationInput(e.ctx, a)
	if err != nil || in.Protocol != "official" || in.Threads != 0 {
		t.Errorf("evaluation input protocol %q, threads %d, %v", in.Protocol, in.Threads, err)
	}
	got, err = e.svc.UpdatePhaseRuntime(e.ctx, admin, "esr", "dev", domain.PhaseRuntime{Threads: intPtr(1), KeepReference: true})
	if err != nil || got.Threads == nil || *got.Threads != 1 || got.RuntimeReferenceMS == nil || *got.RuntimeReferenceMS != 12.3 || got.RuntimeBasis != "ratio" {
		t.Fatalf("set one thread: %+v %v", got, err)
	}
	if in, err = e.st.EvaluationInput(e.ctx, a); err != nil || in.Threads != 1 {
		t.Errorf("evaluation input threads %d, %v", in.Threads, err)
	}
	// A runtime the organizers set by hand stands on a ratio board too:
	// A's 1 ms override is ranked as 1 ms (not ratio × reference) and its
	// ratio follows from it; reverting it brings A's ratio back.
	if err := e.svc.OverrideScore(e.ctx, admin, a, domain.OverrideRuntime, 1, "re-timed by hand on the official machine"); err != nil {
		t.Fatal(err)
	}
	rows = board()
	if rows["A"].Rank != 1 || rows["A"].RuntimeMS != 1 {
		t.Errorf("ratio basis with A's runtime overridden to 1 ms: %+v", rows["A"])
	}
	if err := e.svc.RevertOverride(e.ctx, admin, a, domain.OverrideRuntime); err != nil {
		t.Fatal(err)
	}
	if rows = board(); rows["A"].Rank != 2 || math.Abs(rows["A"].RuntimeMS-0.8*12.3) > 1e-12 {
		t.Errorf("after the revert A is back on its ratio: %+v", rows["A"])
	}
	// Back to raw: the measured runtimes rank again.
	if _, err := e.svc.UpdatePhaseRuntime(e.ctx, admin, "esr", "dev", domain.PhaseRuntime{RuntimeBasis: store.RuntimeRaw}); err != nil {
		t.Fatal(err)
	}
	if rows := board(); rows["C"].Rank != 1 || rows["A"].RuntimeMS != 10 {
		t.Errorf("back to raw: %+v", rows)
	}
}

func ptr(v float64) *float64 { return &v }

func intPtr(v int) *int { return &v }
