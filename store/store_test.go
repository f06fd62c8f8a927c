package store_test

import (
	"context"
	"errors"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/srarena/srarena/internal/pgtest"
	"github.com/srarena/srarena/store"
)

func TestMain(m *testing.M) { os.Exit(pgtest.Main(m)) }

func TestUsers(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := store.New(pgtest.NewPool(t))
	u, err := s.CreateUser(ctx, "Ann@example.org", "Ann", "h")
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, email, username string
		constraint            string
	}{
		{"same username other case", "x@example.org", "ANN", "users_username_key"},
		{"same email other case", "ann@EXAMPLE.org", "ann2", "users_email_key"},
	}
	for _, tc := range tests {
		_, err := s.CreateUser(ctx, tc.email, tc.username, "h")
		if !errors.Is(err, store.ErrConflict) || !strings.Contains(err.Error(), tc.constraint) {
			t.Errorf("%s: err %v, want ErrConflict naming %s", tc.name, err, tc.constraint)
		}
	}
	for _, login := range []string{"ann", "ANN@example.org"} {
		got, err := s.UserByLogin(ctx, login)
		if err != nil || got.ID != u.ID {
			t.Errorf("UserByLogin(%q) = %v, %v", login, got.ID, err)
		}
	}
	if _, err := s.UserByLogin(ctx, "nobody"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("unknown login: %v", err)
	}
}

func TestSessions(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := store.New(pgtest.NewPool(t))
	u, err := s.CreateUser(ctx, "b@example.org", "bob", "h")
	if err != nil {
		t.Fatal(err)
	}
	live, expired := []byte("live-hash"), []byte("old-hash")
	if err := s.CreateSession(ctx, live, u.ID, "csrf", time.Now().Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	if err := s.CreateSession(ctx, expired, u.ID, "csrf2", time.Now().Add(-time.Minute)); err != nil {
		t.Fatal(err)
	}
	ss, err := s.SessionByTokenHash(ctx, live)
	if err != nil || ss.User.Username != "bob" || ss.CSRFToken != "csrf" {
		t.Errorf("live session: %+v, %v", ss, err)
	}
	if _, err := s.SessionByTokenHash(ctx, expired); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("expired session: %v", err)
	}
	if n, err := s.DeleteExpiredSessions(ctx); n != 1 || err != nil {
		t.Errorf("swept %d, %v; want 1", n, err)
	}
	if err := s.DeleteSession(ctx, live); err != nil {
		t.Fatal(err)
	}
	if _, err := s.SessionByTokenHash(ctx, live); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("deleted session: %v", err)
	}
}

func TestCreateSubmissionQuotaAndRollback(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	pool := pgtest.NewPool(t)
	s := store.New(pool)
	u, _ := s.CreateUser(ctx, "c@example.org", "cat", "h")
	var chID, dsID int64
	err := s.InTx(ctx, func(tx pgx.Tx) error {
		var err error
		chID, err = store.CreateChallenge(ctx, tx, store.NewChallenge{Slug: "qq", Title: "Q", Scale: 4, Rules: []byte(`{}`), MaxUploadBytes: 100, DailyQuota: 2})
		if err != nil {
			return err
		}
		dsID, err = store.CreateDataset(ctx, tx, chID, "val", "validation", nil)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	if d, err := s.EvaluationDataset(ctx, chID); err != nil || d.ID != dsID {
		t.Fatalf("EvaluationDataset: %+v %v", d, err)
	}
	phases, err := s.PhasesOfChallenge(ctx, chID)
	if err != nil || len(phases) != 1 || len(phases[0].Datasets) != 1 || phases[0].Datasets[0].ID != dsID || phases[0].QuotaDaily != 2 {
		t.Fatalf("default phase: %+v, %v", phases, err)
	}
	reg, err := s.Register(ctx, chID, u.ID, store.RegistrationApproved, true, "", time.Now())
	if err != nil || reg.TeamID == nil {
		t.Fatalf("Register: %+v, %v", reg, err)
	}
	ns := store.NewSubmission{ChallengeID: chID, PhaseID: phases[0].ID, TeamID: *reg.TeamID, UserID: u.ID, DatasetID: dsID,
		ModelSHA256: strings.Repeat("a", 64), ModelBytes: 10}
	noop := func(context.Context, pgx.Tx, int64) error { return nil }
	quota := store.Quota{Daily: 2}
	used := func() int {
		t.Helper()
		u, err := s.QuotaUsage(ctx, *reg.TeamID, phases[0].ID, time.Now())
		if err != nil {
			t.Fatal(err)
		}
		return u.Today
	}

	// A failing enqueue rolls the row back.
	if _, err := s.CreateSubmission(ctx, ns, quota, func(context.Context, pgx.Tx, int64) error { return errors.New("queue down") }); err == nil {
		t.Fatal("enqueue failure not reported")
	}
	if used, _ := s.ModelInUse(ctx, ns.ModelSHA256); used {
		t.Fatal("row survived a failed enqueue")
	}
	for i := range 2 {
		if _, err := s.CreateSubmission(ctx, ns, quota, noop); err != nil {
			t.Fatalf("submission %d: %v", i, err)
		}
	}
	if _, err := s.CreateSubmission(ctx, ns, quota, noop); !errors.Is(err, store.ErrQuotaExceeded) {
		t.Fatalf("third submission: %v, want ErrQuotaExceeded", err)
	}
	if n := used(); n != 2 {
		t.Errorf("QuotaUsage = %d, want 2", n)
	}
	// Failed after a worker started it: still counts. Failed before: not.
	pool.Exec(ctx, `UPDATE submissions SET status = 'failed', started_at = now() WHERE id = (SELECT min(id) FROM submissions)`)
	if n := used(); n != 2 {
		t.Errorf("after a run failure: %d counted, want 2", n)
	}
	pool.Exec(ctx, `UPDATE submissions SET started_at = NULL WHERE status = 'failed'`)
	if n := used(); n != 1 {
		t.Errorf("after an infrastructure failure: %d counted, want 1", n)
	}
	if used, _ := s.ModelInUse(ctx, ns.ModelSHA256); !used {
		t.Error("ModelInUse false for a stored model")
	}
	subs, err := s.SubmissionsOfTeam(ctx, *reg.TeamID, 0)
	if err != nil || len(subs) != 2 || subs[0].Result != nil || subs[0].Username != "cat" || subs[0].TeamName != "cat" {
		t.Errorf("SubmissionsOfTeam: %+v, %v", subs, err)
	}
}
