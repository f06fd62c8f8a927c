package store_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/srarena/srarena/internal/pgtest"
	"github.com/srarena/srarena/store"
)

// fixture is one user, one challenge and one validation dataset.
type fixture struct {
	pool               *pgxpool.Pool
	s                  *store.Store
	userID, chID, dsID int64
	phaseID, teamID    int64
}

func newFixture(t *testing.T) fixture {
	t.Helper()
	ctx := context.Background()
	pool := pgtest.NewPool(t)
	s := store.New(pool)
	u, err := s.CreateUser(ctx, "f@example.org", "fix", "h")
	if err != nil {
		t.Fatal(err)
	}
	f := fixture{pool: pool, s: s, userID: u.ID}
	err = s.InTx(ctx, func(tx pgx.Tx) error {
		var err error
		f.chID, err = store.CreateChallenge(ctx, tx, store.NewChallenge{Slug: "lk", Title: "L", Scale: 4, Rules: []byte(`{}`), MaxUploadBytes: 100})
		if err != nil {
			return err
		}
		f.dsID, err = store.CreateDataset(ctx, tx, f.chID, "val", "validation", nil)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	ps, err := s.PhasesOfChallenge(ctx, f.chID)
	if err != nil || len(ps) != 1 {
		t.Fatalf("phases: %+v, %v", ps, err)
	}
	reg, err := s.Register(ctx, f.chID, u.ID, store.RegistrationApproved, true, "", time.Now())
	if err != nil {
		t.Fatal(err)
	}
	f.phaseID, f.teamID = ps[0].ID, *reg.TeamID
	return f
}

// TestChallengeQueueAndDataRange: the new columns round-trip through the
// queries the web side uses, with their defaults for old rows.
func TestChallengeQueueAndDataRange(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	f := newFixture(t)
	tests := []struct {
		name      string
		queue     string
		dataRange float32
		wantRange float32
	}{
		{"defaults", "", 0, 1},
		{"gpu, [0,255]", "eval_gpu", 255, 255},
		{"cpu, [0,1]", "eval_cpu", 1, 1},
	}
	for _, tc := range tests {
		if tc.queue != "" {
			f.pool.Exec(ctx, `UPDATE challenges SET queue = $1 WHERE id = $2`, tc.queue, f.chID)
		}
		c, err := f.s.ChallengeByID(ctx, f.chID)
		want := tc.queue
		if want == "" {
			want = "eval_cpu"
		}
		if err != nil || c.Queue != want {
			t.Errorf("%s: challenge queue %q, %v; want %q", tc.name, c.Queue, err, want)
		}
		id, err := f.s.CreateSubmission(ctx, store.NewSubmission{ChallengeID: f.chID, PhaseID: f.phaseID, TeamID: f.teamID, UserID: f.userID, DatasetID: f.dsID,
			ModelSHA256: strings.Repeat("c", 64), ModelBytes: 1, DataRange: tc.dataRange}, store.Quota{},
			func(context.Context, pgx.Tx, int64) error { return nil })
		if err != nil {
			t.Fatal(err)
		}
		sub, err := f.s.SubmissionByID(ctx, id)
		if err != nil || sub.DataRange != tc.wantRange {
			t.Errorf("%s: data range %v, %v; want %v", tc.name, sub.DataRange, err, tc.wantRange)
		}
	}
	// The column's CHECK keeps anything else out, whatever the caller does.
	_, err := f.s.CreateSubmission(ctx, store.NewSubmission{ChallengeID: f.chID, PhaseID: f.phaseID, TeamID: f.teamID, UserID: f.userID, DatasetID: f.dsID,
		ModelSHA256: strings.Repeat("c", 64), ModelBytes: 1, DataRange: 2}, store.Quota{},
		func(context.Context, pgx.Tx, int64) error { return nil })
	if err == nil {
		t.Error("data range 2 stored")
	}
	if d, err := f.s.DatasetByID(ctx, f.dsID); err != nil || d.Split != "validation" {
		t.Errorf("DatasetByID: %+v, %v", d, err)
	}
}

// TestModelLock: a refused upload's check-and-delete and a submission insert
// of the same digest serialise on the digest's advisory lock, in both
// orders. Without the lock in CreateSubmission the delete would run while the
// insert is uncommitted and remove a blob the new row is about to reference.
func TestModelLock(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	digest := strings.Repeat("d", 64)
	const hold = 300 * time.Millisecond

	t.Run("insert first: the delete waits, then sees the row", func(t *testing.T) {
		f := newFixture(t)
		inside, release := make(chan struct{}), make(chan struct{})
		insertDone := make(chan error, 1)
		go func() {
			_, err := f.s.CreateSubmission(ctx, store.NewSubmission{ChallengeID: f.chID, PhaseID: f.phaseID, TeamID: f.teamID, UserID: f.userID, DatasetID: f.dsID,
				ModelSHA256: digest, ModelBytes: 1}, store.Quota{}, func(context.Context, pgx.Tx, int64) error {
				close(inside)
				<-release
				return nil
			})
			insertDone <- err
		}()
		<-inside
		delDone := make(chan bool, 1)
		delCalled := make(chan struct{}, 1)
		go func() {
			deleted, err := f.s.DeleteModelIfUnused(ctx, digest, func() error { delCalled <- struct{}{}; return nil })
			if err != nil {
				t.Error(err)
			}
			delDone <- deleted
		}()
		select {
		case <-delCalled: // t.Error, not Fatal: the insert must still be released
			t.Error("blob deleted while a submission referencing it was being inserted")
		case <-time.After(hold):
		}
		close(release)
		if err := <-insertDone; err != nil {
			t.Fatal(err)
		}
		if <-delDone {
			t.Error("blob deleted although a submission references it")
		}
	})

	t.Run("delete first: the insert waits until the delete is done", func(t *testing.T) {
		f := newFixture(t)
		inDel, release := make(chan struct{}), make(chan struct{})
		delDone := make(chan bool, 1)
		go func() {
			deleted, err := f.s.DeleteModelIfUnused(ctx, digest, func() error { close(inDel); <-release; return nil })
			if err != nil {
				t.Error(err)
			}
			delDone <- deleted
		}()
		<-inDel
		enqueued := make(chan struct{}, 1)
		insertDone := make(chan error, 1)
		go func() {
			_, err := f.s.CreateSubmission(ctx, store.NewSubmission{ChallengeID: f.chID, PhaseID: f.phaseID, TeamID: f.teamID, UserID: f.userID, DatasetID: f.dsID,
				ModelSHA256: digest, ModelBytes: 1}, store.Quota{}, func(context.Context, pgx.Tx, int64) error {
				enqueued <- struct{}{}
				return nil
			})
			insertDone <- err
		}()
		select {
		case <-enqueued:
			t.Error("insert went ahead while the blob was being deleted")
		case <-time.After(hold):
		}
		close(release)
		if !<-delDone {
			t.Error("unused blob not deleted")
		}
		if err := <-insertDone; err != nil {
			t.Fatal(err)
		}
	})

	t.Run("delete error rolls back and is returned", func(t *testing.T) {
		f := newFixture(t)
		if _, err := f.s.DeleteModelIfUnused(ctx, digest, func() error { return errors.New("disk gone") }); err == nil {
			t.Error("delete error swallowed")
		}
	})
}

// A refused upload whose bytes equal a dataset image (a public DIV2K PNG, or
// the demo images srarena always draws the same way) must not delete that
// image's blob: models and images share one content-addressed store.
func TestDeleteModelKeepsDatasetImages(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	f := newFixture(t)
	lr, hr := strings.Repeat("1", 64), strings.Repeat("2", 64)
	err := f.s.InTx(ctx, func(tx pgx.Tx) error {
		_, err := store.CreateDataset(ctx, tx, f.chID, "test", "test", []store.DatasetImage{{Name: "0901", LRSHA256: lr, HRSHA256: hr}})
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, digest := range []string{lr, hr, strings.Repeat("3", 64)} {
		called := false
		deleted, err := f.s.DeleteModelIfUnused(ctx, digest, func() error { called = true; return nil })
		if err != nil {
			t.Fatal(err)
		}
		want := digest == strings.Repeat("3", 64)
		if deleted != want || called != want {
			t.Errorf("digest %s…: deleted=%v called=%v, want %v", digest[:4], deleted, called, want)
		}
	}
}

// TestResultWarmupAndRankingColumns: results.warmup round-trips through
// every query that reads results, and the ranking query leaves the per-image
// table out (the leaderboard must not read it) while the others keep it.
func TestResultWarmupAndRankingColumns(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	f := newFixture(t)
	var id int64
	if err := f.pool.QueryRow(ctx, `
		INSERT INTO submissions (challenge_id, user_id, dataset_id, model_sha256, model_bytes, status, phase_id, team_id)
		VALUES ($1, $2, $3, $4, 1, 'finished', $5, $6) RETURNING id`, f.chID, f.userID, f.dsID, strings.Repeat("c", 64),
		f.phaseID, f.teamID).Scan(&id); err != nil {
		t.Fatal(err)
	}
	per := `[{"name": "0801", "psnr": 30, "runtime_ms": 5}]`
	if _, err := f.pool.Exec(ctx, `INSERT INTO results (submission_id, psnr, runtime_ms, repeats, warmup, device, per_image)
		VALUES ($1, 30, 5, 7, 3, 'cuda', $2)`, id, per); err != nil {
		t.Fatal(err)
	}
	one, err := f.s.ResultBySubmission(ctx, id)
	if err != nil || one.Warmup != 3 || one.Repeats != 7 || !strings.Contains(string(one.PerImage), "0801") {
		t.Errorf("ResultBySubmission: %+v, %v", one, err)
	}
	mine, err := f.s.SubmissionsOfTeam(ctx, f.teamID, f.phaseID)
	if err != nil || len(mine) != 1 || mine[0].Result == nil || mine[0].Result.Warmup != 3 ||
		!strings.Contains(string(mine[0].Result.PerImage), "0801") {
		t.Errorf("SubmissionsOfTeam: %+v, %v", mine, err)
	}
	board, err := f.s.FinishedWithResults(ctx, f.phaseID, f.dsID)
	if err != nil || len(board) != 1 || board[0].Result == nil {
		t.Fatalf("FinishedWithResults: %+v, %v", board, err)
	}
	if r := board[0].Result; r.Warmup != 3 || r.Device != "cuda" || r.PerImage != nil {
		t.Errorf("FinishedWithResults result: warmup %d device %q per_image %q; want 3, cuda, none", r.Warmup, r.Device, r.PerImage)
	}
}
