package worker

import (
	"bufio"
	"cmp"
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"

	"github.com/srarena/srarena/blob"
	"github.com/srarena/srarena/internal/fixtures"
	"github.com/srarena/srarena/internal/pgtest"
	"github.com/srarena/srarena/jobs"
	"github.com/srarena/srarena/runner/evaluate"
	"github.com/srarena/srarena/runner/sandbox"
	"github.com/srarena/srarena/store"
)

// Short intervals for the test: a worker silent for 3 s is lost.
const (
	testBeat      = 500 * time.Millisecond
	testLostAfter = 3 * time.Second
	testSweep     = time.Second
)

// workerProcess is a complete worker (River client, heartbeat, sweeper)
// in its own process, configured from the environment: what
// `srarena worker` runs, with short intervals.
func workerProcess() int {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM)
	defer stop()
	log := slog.New(slog.NewTextHandler(os.Stderr, nil)).With("proc", os.Getenv("WORKER_NAME"))
	pool, err := pgxpool.New(ctx, os.Getenv("WORKER_DATABASE_URL"))
	if err != nil {
		log.Error("pool", "err", err)
		return 1
	}
	defer pool.Close()
	blobs, err := blob.NewDir(os.Getenv("WORKER_BLOBS"))
	if err != nil {
		log.Error("blobs", "err", err)
		return 1
	}
	lib, err := sandbox.FindORT()
	if err != nil {
		log.Error("ort", "err", err)
		return 1
	}
	st := store.New(pool)
	queue := cmp.Or(os.Getenv("WORKER_QUEUE"), jobs.QueueCPU)
	w := NewWorker(st, blobs, evaluate.Options{ORTLib: lib, Threads: 1, Repeats: 2, InsecureSandbox: os.Getuid() != 0,
		Device: DeviceForQueue(queue)}, log)
	sw := NewSweeper(st, SweeperOptions{LostAfter: testLostAfter, Interval: testSweep, Log: log})
	client, err := river.NewClient(riverpgxv5.New(pool), RiverConfig(w, sw, queue, 1, log))
	if err != nil {
		log.Error("client", "err", err)
		return 1
	}
	go w.RunHeartbeat(ctx, HeartbeatOptions{Queue: queue, Interval: testBeat})
	if err := client.Start(ctx); err != nil {
		log.Error("start", "err", err)
		return 1
	}
	fmt.Println("worker", w.ID())
	<-ctx.Done()
	client.StopAndCancel(context.Background())
	return 0
}

type workerProc struct {
	cmd *exec.Cmd
	id  string
}

func startWorkerProcess(t *testing.T, name, dbURL, blobs string, env ...string) *workerProc {
	t.Helper()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(exe, "__worker-process")
	cmd.Env = append(append(os.Environ(), "WORKER_DATABASE_URL="+dbURL, "WORKER_BLOBS="+blobs, "WORKER_NAME="+name), env...)
	logf, err := os.Create(filepath.Join(t.TempDir(), name+".log"))
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = logf
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
		logf.Close()
		if t.Failed() {
			b, _ := os.ReadFile(logf.Name())
			t.Logf("%s log:\n%s", name, b)
		}
	})
	line, err := bufio.NewReader(out).ReadString('\n')
	id, ok := strings.CutPrefix(strings.TrimSpace(line), "worker ")
	if err != nil || !ok {
		t.Fatalf("%s did not start: %q %v", name, line, err)
	}
	go io.Copy(io.Discard, out)
	return &workerProc{cmd: cmd, id: id}
}

// TestLostWorkerRecovery: two workers on one PostgreSQL; the one that took
// a submission is SIGKILLed mid-evaluation; the other finishes it within
// 60 s, with exactly one result row, the participant told, and the quota
// unchanged.
func TestLostWorkerRecovery(t *testing.T) {
	ortLib(t)
	ctx := context.Background()
	dbURL := pgtest.URL(t)
	pool, err := pgxpool.New(ctx, dbURL)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	st := store.New(pool)
	blobDir := t.TempDir()
	blobs, err := blob.NewDir(blobDir)
	if err != nil {
		t.Fatal(err)
	}
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	// A ×2 model that computes for about a second per run: long enough to
	// be killed in the middle.
	model, err := os.ReadFile(filepath.Join(fixtures.Dir(t, "adversarial"), "27_slow_compute.onnx"))
	must(err)
	modelSHA, err := blob.PutBytes(ctx, blobs, model)
	must(err)
	var user, chal, ds int64
	must(pool.QueryRow(ctx, `INSERT INTO users (email, username, password_hash) VALUES ('a@b.c', 'alice', 'x') RETURNING id`).Scan(&user))
	must(pool.QueryRow(ctx, `INSERT INTO challenges (slug, title, scale, rules, daily_quota) VALUES ('x2', 'x2', 2, '{}', 5) RETURNING id`).Scan(&chal))
	must(pool.QueryRow(ctx, `INSERT INTO datasets (challenge_id, name, split) VALUES ($1, 'val', 'validation') RETURNING id`, chal).Scan(&ds))
	env := &workerEnv{blobs: blobs}
	for i, name := range []string{"0801", "0802"} {
		lr, hr := randImage(32, 24, uint64(i)), randImage(64, 48, uint64(i+10))
		_, err := pool.Exec(ctx, `INSERT INTO dataset_images (dataset_id, name, lr_sha256, hr_sha256) VALUES ($1, $2, $3, $4)`,
			ds, name, env.putPNG(t, lr), env.putPNG(t, hr))
		must(err)
	}

	a := startWorkerProcess(t, "worker-A", dbURL, blobDir)
	inserter, err := river.NewClient(riverpgxv5.New(pool), &river.Config{})
	must(err)
	id, err := st.CreateSubmission(ctx, store.NewSubmission{ChallengeID: chal, UserID: user, DatasetID: ds, ModelSHA256: modelSHA,
		ModelBytes: int64(len(model)), DataRange: 1}, store.Quota{Daily: 5}, func(ctx context.Context, tx pgx.Tx, id int64) error {
		_, err := inserter.InsertTx(ctx, tx, jobs.Evaluate{SubmissionID: id}, &river.InsertOpts{Queue: jobs.QueueCPU})
		return err
	})
	must(err)
	// The quota is the submitter's team's in the submission's phase.
	quotaUsed := func() (int, int, error) {
		var team, phase int64
		if err := pool.QueryRow(ctx, `SELECT team_id, phase_id FROM submissions WHERE id = $1`, id).Scan(&team, &phase); err != nil {
			return 0, 0, err
		}
		u, err := st.QuotaUsage(ctx, team, phase, time.Now())
		return u.Total, 0, err
	}
	quotaBefore, _, err := quotaUsed()
	must(err)

	// Worker A starts it; only then does B exist.
	waitFor(t, 60*time.Second, "worker A to start the evaluation", func() bool {
		var worker, status string
		pool.QueryRow(ctx, `SELECT worker, status FROM submissions WHERE id = $1`, id).Scan(&worker, &status)
		return status == "running" && worker == a.id
	})
	b := startWorkerProcess(t, "worker-B", dbURL, blobDir)
	time.Sleep(time.Second) // inside the evaluation
	must(a.cmd.Process.Signal(syscall.SIGKILL))
	a.cmd.Wait()
	killed := time.Now()

	var status string
	waitFor(t, 60*time.Second, "the submission to finish on worker B", func() bool {
		pool.QueryRow(ctx, `SELECT status FROM submissions WHERE id = $1`, id).Scan(&status)
		return status == "finished" || status == "failed"
	})
	took := time.Since(killed)
	var worker, outcome string
	var charged bool
	var results int
	must(pool.QueryRow(ctx, `SELECT worker, coalesce(outcome, ''), charged FROM submissions WHERE id = $1`, id).Scan(&worker, &outcome, &charged))
	must(pool.QueryRow(ctx, `SELECT count(*) FROM results WHERE submission_id = $1`, id).Scan(&results))
	t.Logf("finished on %s %v after worker A's SIGKILL: status %s, outcome %s", worker, took.Round(100*time.Millisecond), status, outcome)
	if status != "finished" || worker != b.id || outcome != "succeeded" || !charged {
		t.Errorf("status %s on %q (outcome %q, charged %v), want finished on worker B %q", status, worker, outcome, charged, b.id)
	}
	if results != 1 {
		t.Errorf("%d result rows, want 1", results)
	}
	if quotaAfter, _, err := quotaUsed(); err != nil || quotaAfter != quotaBefore {
		t.Errorf("quota used %d → %d (%v), want unchanged", quotaBefore, quotaAfter, err)
	}
	logs := env.logsOf(t, pool, id)
	if !strings.Contains(strings.Join(logs, "\n"), LostMessage) {
		t.Errorf("the participant was not told %q: %q", LostMessage, logs)
	}
	var lost int
	must(pool.QueryRow(ctx, `SELECT count(*) FROM workers WHERE id = $1 AND lost_at IS NOT NULL`, a.id).Scan(&lost))
	if lost != 1 {
		t.Errorf("worker A is not marked lost in the workers table")
	}
	var lostJobs int
	must(pool.QueryRow(ctx, `SELECT count(*) FROM river_job WHERE kind = 'evaluate' AND state = 'discarded'
		AND errors::text LIKE '%worker lost%'`).Scan(&lostJobs))
	if lostJobs != 1 {
		t.Errorf("%d discarded jobs naming the lost worker, want 1", lostJobs)
	}
}

func (e *workerEnv) logsOf(t *testing.T, pool *pgxpool.Pool, id int64) []string {
	rows, err := pool.Query(context.Background(), `SELECT line FROM submission_logs WHERE submission_id = $1 ORDER BY id`, id)
	if err != nil {
		t.Fatal(err)
	}
	lines, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		t.Fatal(err)
	}
	return lines
}

func waitFor(t *testing.T, limit time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(limit)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", limit, what)
		}
		time.Sleep(100 * time.Millisecond)
	}
}
