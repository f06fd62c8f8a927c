package domain_test

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"

	"github.com/srarena/srarena/blob"
	"github.com/srarena/srarena/domain"
	"github.com/srarena/srarena/internal/pgtest"
	"github.com/srarena/srarena/runner/worker"
	"github.com/srarena/srarena/scoring"
	"github.com/srarena/srarena/store"
)

func TestMain(m *testing.M) { os.Exit(pgtest.Main(m)) }

// env is a domain service on a fresh database with one challenge of two
// phases: "dev" (open, validation, public, quotas per phase options) and
// "final" (hidden until revealed, test split).
type env struct {
	t     *testing.T
	ctx   context.Context
	pool  *pgxpool.Pool
	st    *store.Store
	svc   *domain.Service
	blobs *blob.Dir

	mu  sync.Mutex
	now time.Time

	chID           int64
	devDS, finalDS int64
}

type phaseOpts struct {
	daily, total, concurrent int
	entry                    string
	teamSize                 int
	approval                 bool
}

func newEnv(t *testing.T, o phaseOpts) *env {
	t.Helper()
	ctx := context.Background()
	pool := pgtest.NewPool(t)
	st := store.New(pool)
	blobs, err := blob.NewDir(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	rc, err := river.NewClient(riverpgxv5.New(pool), &river.Config{})
	if err != nil {
		t.Fatal(err)
	}
	e := &env{t: t, ctx: ctx, pool: pool, st: st, blobs: blobs, now: time.Date(2026, 12, 2, 10, 0, 0, 0, time.UTC)}
	e.svc = domain.New(st, rc, blobs, domain.Options{Now: e.clock, BoardTTL: -1})
	rules, _ := scoring.Preset("aim2020")
	rules.Baseline = nil
	rj, _ := json.Marshal(rules)
	opens := time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
	devEnd := time.Date(2026, 12, 31, 23, 59, 0, 0, time.UTC)
	finalEnd := devEnd.Add(7 * 24 * time.Hour)
	reg := "open"
	if o.approval {
		reg = "approval"
	}
	err = st.InTx(ctx, func(tx pgx.Tx) error {
		var err error
		e.chID, err = store.CreateChallenge(ctx, tx, store.NewChallenge{Slug: "esr", Title: "ESR", Scale: 4, Rules: rj,
			MaxUploadBytes: 1 << 20, TeamSizeLimit: o.teamSize, Registration: reg, Terms: "Be nice.",
			Phases: []store.NewPhase{
				{Name: "dev", Title: "Development", OpensAt: &opens, ClosesAt: &devEnd, QuotaDaily: o.daily, QuotaTotal: o.total,
					QuotaConcurrent: o.concurrent, EntryRule: o.entry},
				{Name: "final", Title: "Final", OpensAt: &devEnd, ClosesAt: &finalEnd, QuotaDaily: 5, EntryRule: store.EntryLast,
					Visibility: store.VisibilityHidden},
			}})
		if err != nil {
			return err
		}
		img := []store.DatasetImage{{Name: "0801", LRSHA256: strings.Repeat("a", 64), HRSHA256: strings.Repeat("b", 64)}}
		if e.devDS, err = store.CreateDataset(ctx, tx, e.chID, "val", "validation", img); err != nil {
			return err
		}
		if e.finalDS, err = store.CreateDataset(ctx, tx, e.chID, "test", "test", img); err != nil {
			return err
		}
		var ids []int64
		if err := tx.QueryRow(ctx, `SELECT array_agg(id ORDER BY position) FROM phases WHERE challenge_id = $1`, e.chID).Scan(&ids); err != nil {
			return err
		}
		if err := store.AddPhaseDataset(ctx, tx, ids[0], e.devDS, true); err != nil {
			return err
		}
		return store.AddPhaseDataset(ctx, tx, ids[1], e.finalDS, true)
	})
	if err != nil {
		t.Fatal(err)
	}
	return e
}

func (e *env) clock() time.Time {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.now
}

func (e *env) setNow(t time.Time) {
	e.mu.Lock()
	e.now = t
	e.mu.Unlock()
}

func (e *env) exec(sql string, args ...any) {
	e.t.Helper()
	if _, err := e.pool.Exec(e.ctx, sql, args...); err != nil {
		e.t.Fatal(err)
	}
}

func (e *env) count(sql string, args ...any) int {
	e.t.Helper()
	var n int
	if err := e.pool.QueryRow(e.ctx, sql, args...).Scan(&n); err != nil {
		e.t.Fatal(err)
	}
	return n
}

// user creates an account and returns its viewer.
func (e *env) user(name string) domain.Viewer {
	e.t.Helper()
	u, err := e.st.CreateUser(e.ctx, name+"@example.org", name, "x")
	if err != nil {
		e.t.Fatal(err)
	}
	return domain.ViewerOf(&u)
}

// registered creates a user registered in a team of that name ("" solo).
func (e *env) registered(name, team string) domain.Viewer {
	e.t.Helper()
	v := e.user(name)
	if _, err := e.svc.Register(e.ctx, v, "esr", true, team); err != nil {
		e.t.Fatal(err)
	}
	return v
}

// modelN numbers the fake models of every test, parallel ones included
// (each env has its own mutex: a shared counter needs its own guard).
var modelN atomic.Int64

// submit uploads a distinct fake model to a phase.
func (e *env) submit(v domain.Viewer, phase string) (int64, error) {
	e.t.Helper()
	tgt, err := e.svc.CheckSubmit(e.ctx, v, "esr", phase)
	if err != nil {
		return 0, err
	}
	return e.submitTo(v, tgt)
}

func (e *env) submitTo(v domain.Viewer, tgt domain.Target) (int64, error) {
	data := []byte("model " + strings.Repeat("x", int(modelN.Add(1))))
	d, err := blob.PutBytes(e.ctx, e.blobs, data)
	if err != nil {
		e.t.Fatal(err)
	}
	return e.svc.Submit(e.ctx, v, tgt, domain.Upload{ModelSHA256: d, ModelBytes: int64(len(data)), Model: data, DataRange: 1,
		MethodName: "m", Profile: []byte(`{"params": 1000}`)})
}

func kind(err error) domain.Kind { return domain.KindOf(err) }

// finish marks a submission finished with a result, as the runner does.
func (e *env) finish(id int64, psnr, runtime float64, device string) {
	e.t.Helper()
	e.exec(`UPDATE submissions SET status = 'finished', started_at = $2, finished_at = $2 WHERE id = $1`, id, e.clock())
	e.exec(`INSERT INTO results (submission_id, psnr, runtime_ms, device) VALUES ($1, $2, $3, $4)`, id, psnr, runtime, device)
}

// The platform's failure message the quota skips is the runner's.
func TestPlatformFailureMessage(t *testing.T) {
	if store.PlatformFailureMessage != worker.InternalErrorMessage {
		t.Fatalf("store.PlatformFailureMessage %q != worker.InternalErrorMessage %q", store.PlatformFailureMessage, worker.InternalErrorMessage)
	}
}

// TestQuotaDayBoundary: the daily quota counts submissions since 00:00 UTC;
// the refusal says when the next one frees, and at midnight it does.
func TestQuotaDayBoundary(t *testing.T) {
	t.Parallel()
	e := newEnv(t, phaseOpts{daily: 2})
	ann := e.registered("ann", "")
	e.setNow(time.Date(2026, 12, 2, 23, 58, 0, 0, time.UTC))
	for i := range 2 {
		if _, err := e.submit(ann, ""); err != nil {
			t.Fatalf("submission %d: %v", i, err)
		}
	}
	e.setNow(time.Date(2026, 12, 2, 23, 59, 59, 0, time.UTC))
	_, err := e.submit(ann, "")
	var de *domain.Error
	if !errors.As(err, &de) || de.Kind != domain.KindQuota || de.ResetAt == nil ||
		!de.ResetAt.Equal(time.Date(2026, 12, 3, 0, 0, 0, 0, time.UTC)) ||
		!strings.Contains(de.Msg, "The next one frees at 2026-12-03 00:00 UTC") {
		t.Fatalf("third submission at 23:59:59: %v (%+v)", err, de)
	}
	if domain.Status(err) != 429 {
		t.Errorf("status %d, want 429", domain.Status(err))
	}
	ci, err := e.svc.Challenge(e.ctx, ann, "esr")
	if err != nil {
		t.Fatal(err)
	}
	if q := ci.Phases[ci.Current].Quota; q == nil || q.UsedToday != 2 || q.Daily != 2 || !q.DailyResetAt.Equal(*de.ResetAt) {
		t.Errorf("quota info: %+v", q)
	}
	e.setNow(time.Date(2026, 12, 3, 0, 0, 0, 0, time.UTC))
	if _, err := e.submit(ann, ""); err != nil {
		t.Fatalf("at midnight UTC: %v", err)
	}
}

// TestQuotaRace: two uploads racing for the last slot: exactly one wins.
func TestQuotaRace(t *testing.T) {
	t.Parallel()
	e := newEnv(t, phaseOpts{daily: 3})
	ann := e.registered("ann", "Racers")
	bob := e.user("bob")
	// bob joins ann's team: the quota is the team's.
	inv, err := e.svc.Invite(e.ctx, ann, "esr")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.svc.JoinTeam(e.ctx, bob, inv.Token, true); err != nil {
		t.Fatal(err)
	}
	for range 2 {
		if _, err := e.submit(ann, ""); err != nil {
			t.Fatal(err)
		}
	}
	for round := range 5 {
		// Both pass the pre-check, then race in Submit.
		ta, err := e.svc.CheckSubmit(e.ctx, ann, "esr", "")
		if err != nil {
			t.Fatal(err)
		}
		tb, err := e.svc.CheckSubmit(e.ctx, bob, "esr", "")
		if err != nil {
			t.Fatal(err)
		}
		var wg sync.WaitGroup
		errs := make([]error, 2)
		wg.Go(func() { _, errs[0] = e.submitTo(ann, ta) })
		wg.Go(func() { _, errs[1] = e.submitTo(bob, tb) })
		wg.Wait()
		ok := 0
		for _, err := range errs {
			switch {
			case err == nil:
				ok++
			case kind(err) != domain.KindQuota:
				t.Fatalf("round %d: %v", round, err)
			}
		}
		if ok != 1 {
			t.Fatalf("round %d: %d uploads won the last slot: %v", round, ok, errs)
		}
		if n := e.count(`SELECT count(*) FROM submissions WHERE status = 'queued'`); n != 3 {
			t.Fatalf("round %d: %d queued, want 3", round, n)
		}
		// Free one slot for the next round.
		e.exec(`DELETE FROM submissions WHERE id = (SELECT max(id) FROM submissions)`)
	}
}

// TestQuotaCancelAndPlatformFailure: a cancelled run and a failure of the
// platform's give the slot back; a model's own failure does not.
func TestQuotaCancelAndPlatformFailure(t *testing.T) {
	t.Parallel()
	e := newEnv(t, phaseOpts{daily: 2, concurrent: 1})
	ann := e.registered("ann", "")
	id1, err := e.submit(ann, "")
	if err != nil {
		t.Fatal(err)
	}
	// The concurrency quota: one queued or running at once.
	if _, err := e.submit(ann, ""); kind(err) != domain.KindQuota || !strings.Contains(err.Error(), "queued or running") {
		t.Fatalf("second while one is queued: %v", err)
	}
	// Cancel it while running: the slot comes back, and its River job is
	// cancelled.
	e.exec(`UPDATE submissions SET status = 'running', started_at = $2, attempts = 1 WHERE id = $1`, id1, e.clock())
	if err := e.svc.Cancel(e.ctx, ann, id1); err != nil {
		t.Fatal(err)
	}
	if n := e.count(`SELECT count(*) FROM river_job WHERE args->>'submission_id' = ($1::bigint)::text AND (state = 'cancelled' OR metadata ? 'cancel_attempted_at')`, id1); n != 1 {
		t.Errorf("the job of the cancelled submission was not cancelled (%d)", n)
	}
	if err := e.svc.Cancel(e.ctx, ann, id1); kind(err) != domain.KindConflict {
		t.Errorf("cancel twice: %v", err)
	}
	id2, err := e.submit(ann, "")
	if err != nil {
		t.Fatalf("after cancel: %v", err)
	}
	// A platform failure (a missing stored image ends with the runner's
	// internal-error message on the last attempt) is never counted.
	e.exec(`UPDATE submissions SET status = 'failed', started_at = $2, message = $3 WHERE id = $1`, id2, e.clock(), worker.InternalErrorMessage)
	id3, err := e.submit(ann, "")
	if err != nil {
		t.Fatalf("after a platform failure: %v", err)
	}
	// The model's own failure counts.
	e.exec(`UPDATE submissions SET status = 'failed', started_at = $2, message = 'the model produced NaN' WHERE id = $1`, id3, e.clock())
	if _, err := e.submit(ann, ""); err != nil {
		t.Fatalf("second counted submission: %v", err)
	}
	if _, err := e.submit(ann, ""); kind(err) != domain.KindQuota {
		t.Fatalf("third counted submission: %v, want the daily quota", err)
	}
}

// TestSubmitRules: registration, approval, team and window come before any
// submission, each refusal saying what to do.
func TestSubmitRules(t *testing.T) {
	t.Parallel()
	e := newEnv(t, phaseOpts{approval: true, teamSize: 2})
	if _, err := e.submit(domain.Viewer{}, ""); kind(err) != domain.KindUnauthenticated {
		t.Errorf("anonymous: %v", err)
	}
	zed := e.user("zed")
	if _, err := e.submit(zed, ""); kind(err) != domain.KindForbidden || !strings.Contains(err.Error(), "Register") {
		t.Errorf("not registered: %v", err)
	}
	if _, err := e.svc.Register(e.ctx, zed, "esr", false, ""); kind(err) != domain.KindInvalid {
		t.Errorf("terms not accepted: %v", err)
	}
	reg, err := e.svc.Register(e.ctx, zed, "esr", true, "")
	if err != nil || reg.State != store.RegistrationPending {
		t.Fatalf("register with approval: %+v, %v", reg, err)
	}
	if _, err := e.submit(zed, ""); kind(err) != domain.KindForbidden || !strings.Contains(err.Error(), "approval") {
		t.Errorf("pending: %v", err)
	}
	e.exec(`UPDATE registrations SET state = 'approved'`)
	if _, err := e.submit(zed, ""); err != nil {
		t.Fatalf("approved: %v", err)
	}
	// The final phase has not opened: the refusal gives its window.
	_, err = e.submit(zed, "final")
	if kind(err) != domain.KindWindow || !strings.Contains(err.Error(), "2026-12-31 23:59 UTC – 2027-01-07 23:59 UTC") {
		t.Errorf("final before its window: %v", err)
	}
	e.setNow(time.Date(2027, 1, 8, 0, 0, 0, 0, time.UTC))
	if _, err := e.submit(zed, ""); kind(err) != domain.KindWindow || !strings.Contains(err.Error(), "it is closed") {
		t.Errorf("dev after its window: %v", err)
	}
	// Team size limit 2: a third member is refused.
	e.setNow(time.Date(2026, 12, 2, 10, 0, 0, 0, time.UTC))
	inv, err := e.svc.Invite(e.ctx, zed, "esr")
	if err != nil {
		t.Fatal(err)
	}
	// zed's solo team has a submission, so zed stays; two others try.
	if _, err := e.svc.JoinTeam(e.ctx, e.user("yan"), inv.Token, true); err != nil {
		t.Fatalf("second member: %v", err)
	}
	if _, err := e.svc.JoinTeam(e.ctx, e.user("xia"), inv.Token, true); kind(err) != domain.KindConflict || !strings.Contains(err.Error(), "full") {
		t.Errorf("third member of a team of at most 2: %v", err)
	}
	// An expired link says so.
	e.setNow(time.Date(2026, 12, 20, 0, 0, 0, 0, time.UTC))
	if _, err := e.svc.JoinTeam(e.ctx, e.user("wes"), inv.Token, true); kind(err) != domain.KindNotFound || !strings.Contains(err.Error(), "expired") {
		t.Errorf("expired link: %v", err)
	}
	// A withdrawn link says so.
	inv2, err := e.svc.Invite(e.ctx, zed, "esr")
	if err != nil {
		t.Fatal(err)
	}
	if err := e.svc.WithdrawInvitations(e.ctx, zed, "esr"); err != nil {
		t.Fatal(err)
	}
	if _, err := e.svc.JoinTeam(e.ctx, e.user("vic"), inv2.Token, true); kind(err) != domain.KindNotFound || !strings.Contains(err.Error(), "withdrawn") {
		t.Errorf("withdrawn link: %v", err)
	}
}

// TestTeams: create, rename, leave, and one team per participant.
func TestTeams(t *testing.T) {
	t.Parallel()
	e := newEnv(t, phaseOpts{})
	ann := e.registered("ann", "Alpha")
	if _, err := e.svc.Register(e.ctx, e.user("bob"), "esr", true, "alpha"); kind(err) != domain.KindConflict {
		t.Errorf("a taken team name (case-insensitive): %v", err)
	}
	if _, err := e.svc.Register(e.ctx, ann, "esr", true, ""); kind(err) != domain.KindConflict {
		t.Errorf("registering twice: %v", err)
	}
	if _, err := e.svc.CreateTeam(e.ctx, ann, "esr", "Beta"); kind(err) != domain.KindConflict {
		t.Errorf("a second team: %v", err)
	}
	if _, err := e.svc.RenameTeam(e.ctx, ann, "esr", strings.Repeat("x", 61)); kind(err) != domain.KindInvalid {
		t.Errorf("a long name: %v", err)
	}
	if _, err := e.svc.RenameTeam(e.ctx, ann, "esr", "bad\x00name"); kind(err) != domain.KindInvalid {
		t.Errorf("a NUL in the name: %v", err)
	}
	tm, err := e.svc.RenameTeam(e.ctx, ann, "esr", "Gamma")
	if err != nil || tm.Name != "Gamma" {
		t.Fatalf("rename: %+v, %v", tm, err)
	}
	id, err := e.submit(ann, "")
	if err != nil {
		t.Fatal(err)
	}
	if err := e.svc.LeaveTeam(e.ctx, ann, "esr"); err != nil {
		t.Fatal(err)
	}
	// The team and its submission stay; ann may form another team.
	if n := e.count(`SELECT count(*) FROM submissions s JOIN teams t ON t.id = s.team_id WHERE s.id = $1 AND t.name = 'Gamma'`, id); n != 1 {
		t.Error("the submission left with its member")
	}
	if _, err := e.submit(ann, ""); kind(err) != domain.KindForbidden {
		t.Errorf("submit without a team: %v", err)
	}
	if _, err := e.svc.Submission(e.ctx, ann, id); kind(err) != domain.KindNotFound {
		t.Errorf("a former member still sees the team's submission: %v", err)
	}
	if _, err := e.svc.CreateTeam(e.ctx, ann, "esr", ""); err != nil {
		t.Fatalf("a solo team after leaving: %v", err)
	}
	// Any name is a name: "-" makes a team like any other.
	if reg, err := e.svc.Register(e.ctx, e.user("dash"), "esr", true, "-"); err != nil || reg.TeamID == nil {
		t.Errorf("team named -: %+v, %v", reg, err)
	}
}

// TestEntryRulesAndVisibility: one row per team by the phase's rule; the
// hidden phase shows its rows to organizers only until revealed.
func TestEntryRulesAndVisibility(t *testing.T) {
	t.Parallel()
	e := newEnv(t, phaseOpts{entry: store.EntrySelected})
	ann, bob := e.registered("ann", "A"), e.registered("bob", "B")
	// The baseline of dev, on its device.
	var baseID int64
	if err := e.pool.QueryRow(e.ctx, `INSERT INTO submissions (challenge_id, dataset_id, model_sha256, model_bytes, is_baseline, label)
		VALUES ($1, $2, $3, 1, true, 'bicubic') RETURNING id`, e.chID, e.devDS, strings.Repeat("e", 64)).Scan(&baseID); err != nil {
		t.Fatal(err)
	}
	e.finish(baseID, 30, 50, "cpu")
	a1, _ := e.submit(ann, "")
	a2, _ := e.submit(ann, "")
	b1, _ := e.submit(bob, "")
	e.finish(a1, 31, 10, "cpu") // ann's fastest
	e.finish(a2, 31, 40, "cpu") // ann's newest
	e.finish(b1, 4.723634376256447, 5, "cpu")
	_, board, err := e.svc.Leaderboard(e.ctx, domain.Viewer{}, "esr", "dev")
	if err != nil {
		t.Fatal(err)
	}
	rows := map[string]domain.LeaderRow{}
	for _, r := range board.Rows {
		rows[r.Name] = r
	}
	if len(board.Rows) != 3 || rows["A"].RuntimeMS != 40 || rows["A"].Entry != domain.EntryWordNoneChosen || rows["A"].Rank != 1 {
		t.Fatalf("none chosen: the newest stands: %+v", board.Rows)
	}
	if rows["B"].Unranked != "PSNR 4.72 dB is below the baseline's 30.00 dB" {
		t.Errorf("B's reason: %q", rows["B"].Unranked)
	}
	// bob cannot choose ann's entry (not found), ann can.
	if err := e.svc.SelectEntry(e.ctx, bob, a1); kind(err) != domain.KindNotFound {
		t.Errorf("another team's choice: %v", err)
	}
	if err := e.svc.SelectEntry(e.ctx, ann, a1); err != nil {
		t.Fatal(err)
	}
	_, board, _ = e.svc.Leaderboard(e.ctx, domain.Viewer{}, "esr", "dev")
	for _, r := range board.Rows {
		if r.Name == "A" && (r.RuntimeMS != 10 || r.Entry != domain.EntryWordSelected) {
			t.Errorf("after choosing: %+v", r)
		}
	}
	// The hidden final phase.
	e.setNow(time.Date(2027, 1, 2, 0, 0, 0, 0, time.UTC))
	f1, err := e.submit(ann, "final")
	if err != nil {
		t.Fatal(err)
	}
	e.finish(f1, 29, 12, "cpu")
	e.exec(`INSERT INTO submission_logs (submission_id, line) VALUES ($1, 'image 1/1: 12.00 ms'), ($1, 'evaluation finished: PSNR 29.0000 dB, SSIM 0.8, runtime 12 ms')`, f1)
	admin := e.user("root")
	e.exec(`UPDATE users SET is_admin = true WHERE username = 'root'`)
	admin.IsAdmin = true
	for _, tc := range []struct {
		name   string
		v      domain.Viewer
		hidden bool
	}{{"anonymous", domain.Viewer{}, true}, {"ann", ann, true}, {"bob", bob, true}, {"admin", admin, false}} {
		_, b, err := e.svc.Leaderboard(e.ctx, tc.v, "esr", "final")
		if err != nil || b.Hidden != tc.hidden || (len(b.Rows) > 0) == tc.hidden {
			t.Errorf("%s: final board hidden=%v rows=%d, %v", tc.name, b.Hidden, len(b.Rows), err)
		}
	}
	si, err := e.svc.Submission(e.ctx, ann, f1)
	if err != nil || !si.ScoresHidden || si.Result != nil {
		t.Fatalf("ann's own hidden-phase submission: hidden=%v result=%v %v", si.ScoresHidden, si.Result, err)
	}
	logs, _ := e.svc.Logs(e.ctx, ann, f1, 0, 100)
	for _, l := range logs {
		if strings.Contains(l.Line, "PSNR") || strings.Contains(l.Line, "ms") {
			t.Errorf("log line shows a score before the reveal: %q", l.Line)
		}
	}
	subs, _ := e.svc.TeamSubmissions(e.ctx, ann, "esr", "final")
	if len(subs) != 1 || subs[0].Result != nil {
		t.Errorf("team list shows hidden scores: %+v", subs)
	}
	if err := e.st.RevealPhase(e.ctx, si.PhaseID, e.clock()); err != nil {
		t.Fatal(err)
	}
	if _, b, _ := e.svc.Leaderboard(e.ctx, domain.Viewer{}, "esr", "final"); b.Hidden || len(b.Rows) != 1 {
		t.Errorf("after the reveal: %+v", b)
	}
}

// TestSubmissionAccess: only the team's members (and organizers) see a
// submission, its logs and its model, or cancel it.
func TestSubmissionAccess(t *testing.T) {
	t.Parallel()
	e := newEnv(t, phaseOpts{})
	ann, bob := e.registered("ann", "A"), e.registered("bob", "B")
	id, err := e.submit(ann, "")
	if err != nil {
		t.Fatal(err)
	}
	org := e.user("org")
	e.exec(`INSERT INTO challenge_organizers (challenge_id, user_id) VALUES ($1, $2)`, e.chID, org.UserID)
	for _, tc := range []struct {
		name string
		v    domain.Viewer
		ok   bool
	}{{"anonymous", domain.Viewer{}, false}, {"other team", bob, false}, {"own team", ann, true}, {"organizer", org, true}} {
		_, err := e.svc.Submission(e.ctx, tc.v, id)
		_, lerr := e.svc.Logs(e.ctx, tc.v, id, 0, 10)
		_, merr := e.svc.ModelFile(e.ctx, tc.v, id)
		for what, err := range map[string]error{"page": err, "logs": lerr, "model": merr} {
			if (err == nil) != tc.ok || (err != nil && kind(err) != domain.KindNotFound) {
				t.Errorf("%s reads the %s: %v", tc.name, what, err)
			}
		}
		if !tc.ok {
			if err := e.svc.Cancel(e.ctx, tc.v, id); kind(err) != domain.KindNotFound {
				t.Errorf("%s cancels: %v", tc.name, err)
			}
		}
	}
	if _, err := e.svc.Submission(e.ctx, ann, 999999); kind(err) != domain.KindNotFound {
		t.Errorf("unknown id: %v", err)
	}
}
