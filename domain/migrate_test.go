package domain_test

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"
	"github.com/srarena/srarena/blob"
	"github.com/srarena/srarena/domain"
	"github.com/srarena/srarena/internal/pgtest"
	"github.com/srarena/srarena/migrations"
	"github.com/srarena/srarena/scoring"
	"github.com/srarena/srarena/store"
)

// TestMigrateFromD5cafbf: a database created by the schema of commit
// d5cafbf (migrations 0001–0004, testdata/schema-d5cafbf), with users,
// submissions and results in it, migrates to phases and teams without
// loss: the challenge's window and quota move to its default phase, each
// submitter becomes a registered solo team, and the leaderboard shows the
// rows the old one did (each user's best submission, by the AIM 2020 rule).
func TestMigrateFromD5cafbf(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	pool := pgtest.NewPool(t)
	exec := func(sql string, args ...any) {
		t.Helper()
		if _, err := pool.Exec(ctx, sql, args...); err != nil {
			t.Fatalf("%v\n%s", err, sql)
		}
	}
	// Back to an empty database, then the old schema.
	exec(`DROP SCHEMA public CASCADE; CREATE SCHEMA public`)
	files, _ := filepath.Glob("testdata/schema-d5cafbf/*.sql")
	slices.Sort(files)
	if len(files) != 4 {
		t.Fatalf("old schema files: %v", files)
	}
	exec(`CREATE TABLE srarena_migrations (version int PRIMARY KEY, name text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())`)
	for i, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		exec(string(b))
		exec(`INSERT INTO srarena_migrations (version, name) VALUES ($1, $2)`, i+1, filepath.Base(f))
	}

	// The old data: a baseline, three users, a deleted user's submission,
	// a queued one; the challenge closes in a week, 7 submissions a day.
	rules, _ := scoring.Preset("aim2020")
	rules.Baseline = nil
	rj, _ := json.Marshal(rules)
	closes := time.Now().Add(7 * 24 * time.Hour).UTC().Truncate(time.Second).Add(17 * time.Second)
	exec(`INSERT INTO challenges (slug, title, rules, daily_quota, opens_at, closes_at) VALUES ('old', 'Old', $1, 7, now() - interval '1 day', $2)`, rj, closes)
	exec(`INSERT INTO datasets (challenge_id, name, split) VALUES (1, 'val', 'validation')`)
	for _, u := range []string{"ann", "ben", "cat", "dan"} {
		exec(`INSERT INTO users (email, username, password_hash) VALUES ($1, $2, 'x')`, u+"@example.org", u)
	}
	type old struct {
		user       string
		psnr, rt   float64
		label      string
		baseline   bool
		minutesAgo int
	}
	subs := []old{
		{"", 29.00, 80, "MSRResNet", true, 100},
		{"ann", 29.10, 50, "", false, 90},
		{"ann", 29.05, 40, "", false, 80}, // ann's best: faster, above the gate
		{"ben", 29.20, 30, "", false, 70},
		{"cat", 28.50, 10, "", false, 60}, // fastest, under the gate
		{"cat", 28.90, 12, "", false, 50}, // cat's highest PSNR: her unranked row
		{"dan", 28.00, 5, "gone", false, 40},
	}
	for i, s := range subs {
		var id int64
		err := pool.QueryRow(ctx, `
			INSERT INTO submissions (challenge_id, user_id, dataset_id, label, model_sha256, model_bytes, profile, is_baseline, status, created_at, started_at, finished_at)
			VALUES (1, (SELECT id FROM users WHERE username = $1), 1, $2, $3, 100, '{"params": 300000, "flops_kair": 1e10}', $4, 'finished',
			        now() - make_interval(mins => $5), now() - make_interval(mins => $5), now() - make_interval(mins => $5))
			RETURNING id`, s.user, s.label, strings.Repeat("0", 63)+string(rune('0'+i)), s.baseline, s.minutesAgo).Scan(&id)
		if err != nil {
			t.Fatal(err)
		}
		exec(`INSERT INTO results (submission_id, psnr, runtime_ms, device, warmup) VALUES ($1, $2, $3, 'cpu', 1)`, id, s.psnr, s.rt)
	}
	exec(`INSERT INTO submissions (challenge_id, user_id, dataset_id, model_sha256, model_bytes) VALUES (1, 1, 1, $1, 1)`, strings.Repeat("f", 64))
	exec(`DELETE FROM users WHERE username = 'dan'`)

	applied, err := migrations.Up(ctx, pool)
	if err != nil {
		t.Fatalf("migrate: %v (applied %v)", err, applied)
	}
	if !slices.Contains(applied, "0005_phases_teams.sql") {
		t.Fatalf("applied %v", applied)
	}

	st := store.New(pool)
	blobs, _ := blob.NewDir(t.TempDir())
	rc, err := river.NewClient(riverpgxv5.New(pool), &river.Config{})
	if err != nil {
		t.Fatal(err)
	}
	svc := domain.New(st, rc, blobs, domain.Options{BoardTTL: -1})
	_, board, err := svc.Leaderboard(ctx, domain.Viewer{}, "old", "")
	if err != nil {
		t.Fatal(err)
	}
	type row struct {
		Name     string
		Rank     int
		Runtime  float64
		Unranked string
	}
	var got []row
	for _, r := range board.Rows {
		got = append(got, row{r.Name, r.Rank, r.RuntimeMS, r.Unranked})
	}
	// The old board, row for row; only the reasons are now in words.
	want := []row{
		{"MSRResNet", 0, 80, "baseline"},
		{"ben", 1, 30, ""},
		{"ann", 2, 40, ""},
		{"cat", 0, 12, "PSNR 28.90 dB is below the baseline's 29.00 dB"},
		{"gone", 0, 5, "PSNR 28.00 dB is below the baseline's 29.00 dB"},
	}
	if !slices.Equal(got, want) {
		t.Errorf("board after migration:\n got %+v\nwant %+v", got, want)
	}

	// The default phase carries the window (to the minute) and the quota.
	ps, err := st.PhasesOfChallenge(ctx, 1)
	if err != nil || len(ps) != 1 {
		t.Fatalf("phases: %+v, %v", ps, err)
	}
	p := ps[0]
	if p.Name != "main" || p.QuotaDaily != 7 || p.ClosesAt == nil || !p.ClosesAt.Equal(closes.Truncate(time.Minute)) ||
		p.EntryRule != store.EntryBest || p.Visibility != store.VisibilityPublic || len(p.Datasets) != 1 || !p.Datasets[0].Primary {
		t.Errorf("default phase: %+v", p)
	}
	// Each submitter is a registered solo team holding their submissions;
	// ann's team has used 3 of 7 today (the queued one counts).
	ann := domain.Viewer{UserID: 1, Username: "ann"}
	ci, err := svc.Challenge(ctx, ann, "old")
	if err != nil || ci.Registration == nil || ci.Registration.State != store.RegistrationApproved || ci.Team == nil ||
		ci.Team.Name != "ann" || !ci.Team.Solo {
		t.Fatalf("ann after migration: %+v, %v", ci, err)
	}
	if q := ci.Phases[0].Quota; q == nil || q.UsedTotal != 3 || q.Active != 1 {
		t.Errorf("ann's quota: %+v", q)
	}
	mine, err := svc.TeamSubmissions(ctx, ann, "old", "")
	if err != nil || len(mine) != 3 {
		t.Errorf("ann's submissions: %d, %v", len(mine), err)
	}
	var n int
	pool.QueryRow(ctx, `SELECT count(*) FROM submissions WHERE phase_id IS NULL OR (team_id IS NULL AND NOT is_baseline AND user_id IS NOT NULL)`).Scan(&n)
	if n != 0 {
		t.Errorf("%d submissions without phase or team", n)
	}
}
