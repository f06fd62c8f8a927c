package web_test

import (
	"context"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
)

// TestFinalRetiming: an organizer re-times the top N of a phase through
// the API: one "retime" job per submission on the challenge's hardware
// queue, separate final_timings records, an audit event, no submission
// row, quota or result touched. Participants get 404, bad numbers 422.
// Once the worker's records are finished (through the store calls the
// worker makes), the export, the JSON, the board and a new freeze use the
// re-measured runtimes and say so.
func TestFinalRetiming(t *testing.T) {
	t.Parallel()
	a := newApp(t, challengeOpts{})
	root, otto, ann, bob := a.browser(), a.browser(), a.browser(), a.browser()
	root.signupOnly("root")
	a.makeAdmin("root")
	otto.signupOnly("otto")
	ann.signup("ann")
	bob.signup("bob")
	if r := root.post("/admin/c/esr/organizers", url.Values{"csrf_token": {root.csrf("/admin/c/esr")}, "username": {"otto"}}); r.status != http.StatusSeeOther {
		t.Fatalf("grant: %d", r.status)
	}
	var ids []int
	for i, b := range []*browser{ann, bob} {
		r := b.upload(b.csrf("/c/esr"), "m.onnx", espcn(t))
		if r.status != http.StatusSeeOther {
			t.Fatalf("upload: %d %s", r.status, r.body)
		}
		id := mustInt(strings.TrimPrefix(r.loc, "/submissions/"))
		ids = append(ids, id)
		a.exec(`UPDATE submissions SET status = 'finished', started_at = now(), finished_at = now(), outcome = 'succeeded' WHERE id = $1`, id)
		a.exec(`INSERT INTO results (submission_id, psnr, runtime_ms, device) VALUES ($1, $2, $3, 'cpu')`, id, 30.0+float64(i), 10.0+float64(i))
	}
	a.exec(`DELETE FROM river_job`)
	ottoTok, annTok := otto.createToken("ops"), ann.createToken("ann")
	subs, attempts := a.count(`SELECT count(*) FROM submissions`), a.count(`SELECT sum(attempts)::int FROM submissions`)

	for _, c := range []struct {
		token, body string
		want        int
	}{
		{"", `{"top": 1, "repeats": 20}`, 401},
		{annTok, `{"top": 1, "repeats": 20}`, 404},
		{annTok, `not json`, 404},
		{ottoTok, `{"top": 0, "repeats": 20}`, 422},
		{ottoTok, `{"top": 1, "repeats": 5000}`, 422},
	} {
		if st, body, _ := a.api("POST", "/challenges/esr/phases/main/retime", c.token, c.body); st != c.want {
			t.Errorf("retime %s: %d, want %d: %s", c.body, st, c.want, body)
		}
	}
	if n := a.count(`SELECT count(*) FROM final_timings`) + a.count(`SELECT count(*) FROM river_job`) + a.count(`SELECT count(*) FROM audit_events WHERE action = 'phase.retime'`); n != 0 {
		t.Fatalf("refused re-timings wrote %d rows", n)
	}
	st, body, _ := a.api("POST", "/challenges/esr/phases/main/retime", ottoTok, `{"top": 1, "repeats": 20}`)
	if st != http.StatusAccepted || !strings.Contains(body, `"queue":"eval_cpu"`) {
		t.Fatalf("retime: %d %s", st, body)
	}
	// The top of the current ranking is re-timed (aim2020: the faster).
	top := ids[0]
	if n := a.count(`SELECT count(*) FROM final_timings t JOIN final_timing_runs r ON r.id = t.run_id
		WHERE t.submission_id = $1 AND t.status = 'queued' AND r.repeats = 20 AND r.top_n = 1 AND r.queue = 'eval_cpu'`, top); n != 1 {
		t.Fatalf("no queued final timing of the top submission #%d: %s", top, body)
	}
	if n := a.count(`SELECT count(*) FROM river_job WHERE kind = 'retime' AND queue = 'eval_cpu' AND state = 'available'`); n != 1 {
		t.Errorf("retime jobs: %d, want 1", n)
	}
	if n := a.count(`SELECT count(*) FROM audit_events WHERE action = 'phase.retime' AND actor = 'otto'`); n != 1 {
		t.Error("no audit event")
	}
	if a.count(`SELECT count(*) FROM submissions`) != subs || a.count(`SELECT sum(attempts)::int FROM submissions`) != attempts {
		t.Error("re-timing changed the submissions (quota, attempts)")
	}
	// While it runs, the ranking keeps the evaluations' runtimes.
	csv := otto.get("/admin/c/esr/phases/main/results.csv")
	if !strings.Contains(csv.body, ",10,") || strings.Contains(otto.get("/admin/c/esr").body, "re-measured") {
		t.Errorf("ranking changed before the re-timing ended:\n%s", csv.body)
	}
	// The worker's calls, on a real row.
	ctx := context.Background()
	var tid int64
	a.pool.QueryRow(ctx, `SELECT id FROM final_timings`).Scan(&tid)
	if ok, err := a.store.StartFinalTiming(ctx, tid, "cpu-a-1-aa"); err != nil || !ok {
		t.Fatalf("start: %v %v", ok, err)
	}
	if err := a.store.FinishFinalTiming(ctx, tid, 7.25, 0.1, 20, "cpu (8 threads)", "AMD EPYC 9654", nil); err != nil {
		t.Fatal(err)
	}
	if n := a.count(`SELECT count(*) FROM results WHERE runtime_ms = 7.25`); n != 0 {
		t.Error("the re-timing wrote into the participant's result")
	}
	req, _ := http.NewRequest("GET", a.srv.URL+"/admin/c/esr/phases/main/results.csv", nil)
	resp, err := otto.c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	note := resp.Header.Get("X-Runtime-Note")
	if !strings.Contains(note, "Final runtimes re-measured on AMD EPYC 9654 (eval_cpu) with 20 repeats on ") {
		t.Errorf("CSV runtime note: %q", note)
	}
	csv = otto.get("/admin/c/esr/phases/main/results.csv")
	if !strings.Contains(csv.body, ","+strconv.Itoa(top)+",") || !strings.Contains(csv.body, ",7.25,") {
		t.Errorf("export without the final runtime:\n%s", csv.body)
	}
	if js := otto.get("/admin/c/esr/phases/main/results.json"); !strings.Contains(js.body, `"runtime_note":"Final runtimes re-measured`) {
		t.Errorf("JSON export without the note: %.400s", js.body)
	}
	if page := otto.get("/admin/c/esr"); !strings.Contains(page.body, "Final runtimes re-measured on AMD EPYC 9654") || !strings.Contains(page.body, "7.25 ± 0.10") {
		t.Error("panel does not show the final timing")
	}
	if board := a.browser().get("/c/esr/leaderboard"); !strings.Contains(board.body, "Final runtimes re-measured on AMD EPYC 9654") {
		t.Errorf("public board does not say its runtimes are final re-timings")
	}
	if r := otto.post("/admin/c/esr/phases/main/freeze", url.Values{"csrf_token": {otto.csrf("/admin/c/esr")}}); r.status != http.StatusSeeOther {
		t.Fatalf("freeze: %d", r.status)
	}
	if n := a.count(`SELECT count(*) FROM frozen_rankings WHERE note LIKE 'Final runtimes re-measured%' AND csv LIKE '%,7.25,%'`); n != 1 {
		t.Error("the frozen ranking does not carry the final runtimes and their note")
	}
}
