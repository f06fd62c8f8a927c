// Command scale measures how the job queue behaves with many workers on one
// PostgreSQL: it starts a private cluster, seeds a challenge with one tiny
// image (8×8 → 32×32) and a nearest ×4 model, then for each worker count
// starts that many real `srarena worker` processes and reports
//
//   - jobs per second over a burst of jobs (insert to last result),
//
//   - claim latency (River's attempted_at − scheduled_at) of single jobs
//     inserted into an idle queue, p50/p99: the dispatch cost alone,
//
//   - PostgreSQL connections (pg_stat_activity) idle and at peak,
//
//   - memory available, stopping early when it runs low.
//
//     make build && go run ./bench/scale -srarena bin/srarena -workers 8,32,128
//
// Results go to stdout as a Markdown table. Workers share a local blob
// directory (one machine), run one evaluation at a time with one thread and
// one timed repeat, and use at most -pool-conns database connections each.
package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"

	"github.com/srarena/srarena/blob"
	"github.com/srarena/srarena/internal/pgcluster"
	"github.com/srarena/srarena/jobs"
	"github.com/srarena/srarena/migrations"
	"github.com/srarena/srarena/onnxmodel"
	"github.com/srarena/srarena/onnxmodel/onnxbuild"
	"github.com/srarena/srarena/scoring"
	"github.com/srarena/srarena/store"
)

func main() {
	bin := flag.String("srarena", "bin/srarena", "srarena binary (make build)")
	counts := flag.String("workers", "8,32,128", "worker process counts, comma-separated")
	burstPer := flag.Int("burst", 3, "jobs per worker in the throughput burst")
	probes := flag.Int("probes", 40, "single jobs inserted into the idle queue for the claim latency")
	poolConns := flag.Int("pool-conns", 3, "database connections per worker (pgxpool pool_max_conns)")
	minAvailMB := flag.Int("min-avail-mb", 3072, "stop when MemAvailable falls below this")
	flag.Parse()
	if err := run(*bin, *counts, *burstPer, *probes, *poolConns, *minAvailMB); err != nil {
		fmt.Fprintln(os.Stderr, "scale:", err)
		os.Exit(1)
	}
}

type env struct {
	pool        *pgxpool.Pool
	url         string
	river       *river.Client[pgx.Tx]
	st          *store.Store
	dataDir     string
	challengeID int64
	datasetID   int64
	modelSHA    string
	modelBytes  int64
	profile     []byte
}

func run(bin, counts string, burstPer, probes, poolConns, minAvailMB int) error {
	// Ctrl-C stops the workers and the cluster before exiting.
	ctx, cancel := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer cancel()
	if _, err := os.Stat(bin); err != nil {
		return fmt.Errorf("srarena binary: %w (run make build)", err)
	}
	bin, _ = filepath.Abs(bin)
	dir, err := os.MkdirTemp("", "srarena-scale-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	os.Chmod(dir, 0o755)
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	cl, err := pgcluster.New(filepath.Join(dir, "pg"), log)
	if err != nil {
		return err
	}
	if err := cl.Start(ctx); err != nil {
		return err
	}
	defer func() {
		sctx, c := context.WithTimeout(context.Background(), time.Minute)
		defer c()
		cl.Stop(sctx)
	}()
	// 128 workers × a few connections each is above the default of 100.
	if err := setMaxConnections(ctx, cl, 1000); err != nil {
		return err
	}
	e := &env{url: cl.URL("srarena"), dataDir: filepath.Join(dir, "data")}
	if e.pool, err = pgxpool.New(ctx, e.url); err != nil {
		return err
	}
	defer e.pool.Close()
	if _, err := migrations.Up(ctx, e.pool); err != nil {
		return err
	}
	e.st = store.New(e.pool)
	if e.river, err = river.NewClient(riverpgxv5.New(e.pool), &river.Config{Logger: log}); err != nil {
		return err
	}
	if err := seed(ctx, e); err != nil {
		return err
	}

	fmt.Println("| workers | burst jobs | completed jobs/s | claim p50 (ms) | claim p99 (ms) | worker PG conns idle | worker PG conns peak | worker RSS (MiB, mean) | MemAvailable min (MiB) | failed evaluations |")
	fmt.Println("|---|---|---|---|---|---|---|---|---|---|")
	for _, s := range strings.Split(counts, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(s))
		if err != nil || n < 1 {
			return fmt.Errorf("bad worker count %q", s)
		}
		if avail := memAvailableMB(); avail < minAvailMB+n*60 {
			fmt.Printf("| %d | – | stopped: %d MiB available, need about %d | | | | | | |\n", n, avail, minAvailMB+n*60)
			break
		}
		row, err := step(ctx, e, bin, n, burstPer*n, probes, poolConns, minAvailMB)
		if err != nil {
			return fmt.Errorf("%d workers: %w", n, err)
		}
		fmt.Println(row)
	}
	return nil
}

func setMaxConnections(ctx context.Context, cl *pgcluster.Cluster, n int) error {
	c, err := pgx.Connect(ctx, cl.URL("postgres"))
	if err != nil {
		return err
	}
	_, err = c.Exec(ctx, fmt.Sprintf("ALTER SYSTEM SET max_connections = %d", n))
	c.Close(ctx)
	if err != nil {
		return err
	}
	if err := cl.Stop(ctx); err != nil {
		return err
	}
	return cl.Start(ctx)
}

func seed(ctx context.Context, e *env) error {
	blobs, err := blob.NewDir(filepath.Join(e.dataDir, "blobs"))
	if err != nil {
		return err
	}
	hr := scoring.NewImage(32, 32)
	for i := range hr.Pix {
		hr.Pix[i] = uint8(i * 37)
	}
	lr, err := scoring.ResizeBicubic(hr, 4)
	if err != nil {
		return err
	}
	put := func(img *scoring.Image) (string, error) {
		var b bytes.Buffer
		if err := scoring.EncodePNG(&b, img); err != nil {
			return "", err
		}
		return blob.PutBytes(ctx, blobs, b.Bytes())
	}
	hrSHA, err := put(hr)
	if err != nil {
		return err
	}
	lrSHA, err := put(lr)
	if err != nil {
		return err
	}
	model, err := onnxbuild.Nearest(4)
	if err != nil {
		return err
	}
	if e.modelSHA, err = blob.PutBytes(ctx, blobs, model); err != nil {
		return err
	}
	e.modelBytes = int64(len(model))
	rep, err := onnxmodel.Inspect(model, onnxmodel.Options{Scale: 4})
	if err != nil {
		return err
	}
	if e.profile, err = json.Marshal(rep.Profile); err != nil {
		return err
	}
	rules, _ := scoring.Preset("aim2020")
	rules.Baseline = nil
	rulesJSON, _ := json.Marshal(rules)
	return e.st.InTx(ctx, func(tx pgx.Tx) error {
		if e.challengeID, err = store.CreateChallenge(ctx, tx, store.NewChallenge{Slug: "scale", Title: "scale", Scale: 4,
			Rules: rulesJSON, MaxUploadBytes: 1 << 20, DailyQuota: 1}); err != nil {
			return err
		}
		e.datasetID, err = store.CreateDataset(ctx, tx, e.challengeID, "tiny", "validation",
			[]store.DatasetImage{{Name: "tiny", LRSHA256: lrSHA, HRSHA256: hrSHA}})
		return err
	})
}

// enqueue inserts n submissions and their jobs, 50 per transaction, and
// returns their ids.
func enqueue(ctx context.Context, e *env, n int) ([]int64, error) {
	var ids []int64
	for len(ids) < n {
		err := e.st.InTx(ctx, func(tx pgx.Tx) error {
			for i := 0; i < 50 && len(ids) < n; i++ {
				id, err := store.CreateBaselineSubmission(ctx, tx, e.challengeID, e.datasetID, "nearest", e.modelSHA, e.modelBytes, e.profile)
				if err != nil {
					return err
				}
				if _, err := e.river.InsertTx(ctx, tx, jobs.Evaluate{SubmissionID: id}, &river.InsertOpts{Queue: jobs.QueueCPU}); err != nil {
					return err
				}
				ids = append(ids, id)
			}
			return nil
		})
		if err != nil {
			return nil, err
		}
	}
	return ids, nil
}

// waitDone waits until every submission is finished or failed and returns
// how many failed, with one failure's message.
func waitDone(ctx context.Context, e *env, ids []int64, sample func()) (failed int, msg string, err error) {
	deadline := time.Now().Add(15 * time.Minute)
	for {
		var open int
		if err := e.pool.QueryRow(ctx, `SELECT count(*) FROM submissions WHERE id = ANY($1) AND status NOT IN ('finished','failed')`, ids).Scan(&open); err != nil {
			return 0, "", err
		}
		if open == 0 {
			e.pool.QueryRow(ctx, `SELECT count(*) FROM submissions WHERE id = ANY($1) AND status = 'failed'`, ids).Scan(&failed)
			if failed > 0 {
				e.pool.QueryRow(ctx, `SELECT message FROM submissions WHERE id = ANY($1) AND status = 'failed' LIMIT 1`, ids).Scan(&msg)
			}
			return failed, msg, nil
		}
		if time.Now().After(deadline) {
			return 0, "", fmt.Errorf("%d of %d jobs unfinished after 15 minutes", open, len(ids))
		}
		sample()
		time.Sleep(200 * time.Millisecond)
	}
}

func step(ctx context.Context, e *env, bin string, n, burst, probes, poolConns, minAvailMB int) (string, error) {
	url := e.url + fmt.Sprintf(" pool_max_conns=%d", poolConns)
	if strings.Contains(e.url, "://") {
		url = e.url + fmt.Sprintf("&pool_max_conns=%d", poolConns)
		if !strings.Contains(e.url, "?") {
			url = e.url + fmt.Sprintf("?pool_max_conns=%d", poolConns)
		}
	}
	conns := func() int {
		var c int
		e.pool.QueryRow(ctx, `SELECT count(*) FROM pg_stat_activity WHERE datname = 'srarena' AND backend_type = 'client backend'`).Scan(&c)
		return c
	}
	// The benchmark's own connections are not the workers'.
	own := conns()
	var procs []*exec.Cmd
	defer func() {
		for _, p := range procs {
			p.Process.Signal(syscall.SIGTERM)
		}
		for _, p := range procs {
			p.Wait()
		}
	}()
	for i := 0; i < n; i++ {
		cmd := exec.Command(bin, "worker", "--queue", "eval_cpu", "--concurrency", "1", "--threads", "1",
			"--repeats", "1", "--eval-timeout", "5m", "--memory-limit-mb", "1024")
		cmd.Env = append(os.Environ(), "DATABASE_URL="+url, "SRARENA_DATA_DIR="+e.dataDir,
			"SRARENA_LOG_LEVEL=error", "GOMAXPROCS=1", "GOGC=50")
		cmd.Stdout, cmd.Stderr = io.Discard, io.Discard
		cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
		if err := cmd.Start(); err != nil {
			return "", err
		}
		procs = append(procs, cmd)
	}
	// Workers are up when their connections stop growing.
	idle, stable := 0, 0
	for stable < 10 {
		time.Sleep(300 * time.Millisecond)
		if c := conns(); c == idle {
			stable++
		} else {
			idle, stable = c, 0
		}
	}
	peak, minAvail := idle-own, memAvailableMB()
	var lowMem bool
	sample := func() {
		peak = max(peak, conns()-own)
		a := memAvailableMB()
		minAvail = min(minAvail, a)
		if a < minAvailMB && !lowMem {
			lowMem = true
			for _, p := range procs {
				p.Process.Signal(syscall.SIGTERM)
			}
		}
	}
	rss := meanRSS(procs)
	idle -= own

	// Throughput: a burst of jobs, insert to last result.
	start := time.Now()
	ids, err := enqueue(ctx, e, burst)
	if err != nil {
		return "", err
	}
	failed, msg, err := waitDone(ctx, e, ids, sample)
	if err != nil {
		if lowMem {
			return fmt.Sprintf("| %d | %d | stopped: memory low (%d MiB available) | | | %d | %d | %.0f | %d |", n, burst, minAvail, idle, peak, rss, minAvail), nil
		}
		return "", err
	}
	var last time.Time
	if err := e.pool.QueryRow(ctx, `SELECT max(finalized_at) FROM river_job WHERE kind = 'evaluate' AND (args->>'submission_id')::bigint = ANY($1)`, ids).Scan(&last); err != nil {
		return "", fmt.Errorf("last finalized job: %w", err)
	}
	elapsed := last.Sub(start).Seconds()
	if elapsed <= 0 {
		elapsed = time.Since(start).Seconds()
	}
	rss = max(rss, meanRSS(procs))

	// Claim latency: single jobs into an idle queue, one at a time (the
	// next once the previous is claimed), so a free worker always waits.
	var probeIDs []int64
	for i := 0; i < probes; i++ {
		id, err := enqueue(ctx, e, 1)
		if err != nil {
			return "", err
		}
		probeIDs = append(probeIDs, id...)
		for claimed, t0 := false, time.Now(); !claimed && time.Since(t0) < time.Minute; {
			if err := e.pool.QueryRow(ctx, `SELECT attempted_at IS NOT NULL FROM river_job WHERE kind = 'evaluate' AND (args->>'submission_id')::bigint = $1`, id[0]).Scan(&claimed); err != nil {
				return "", err
			}
			time.Sleep(10 * time.Millisecond)
		}
		sample()
		time.Sleep(50 * time.Millisecond)
	}
	pfailed, pmsg, err := waitDone(ctx, e, probeIDs, sample)
	if err != nil {
		return "", err
	}
	failed += pfailed
	if msg == "" {
		msg = pmsg
	}
	rows, err := e.pool.Query(ctx, `SELECT extract(epoch FROM attempted_at - scheduled_at) * 1000 FROM river_job
		WHERE kind = $1 AND id IN (SELECT id FROM river_job ORDER BY id DESC LIMIT $2)`, jobs.Evaluate{}.Kind(), probes)
	if err != nil {
		return "", err
	}
	lat, err := pgx.CollectRows(rows, pgx.RowTo[float64])
	if err != nil {
		return "", err
	}
	slices.Sort(lat)
	failures := "0"
	if failed > 0 {
		failures = fmt.Sprintf("%d (%s)", failed, msg)
	}
	return fmt.Sprintf("| %d | %d | %.1f | %.1f | %.1f | %d | %d | %.0f | %d | %s |",
		n, burst, float64(burst-failed)/elapsed, pct(lat, 0.50), pct(lat, 0.99), idle, peak, rss, minAvail, failures), nil
}

func pct(sorted []float64, p float64) float64 {
	if len(sorted) == 0 {
		return 0
	}
	return sorted[min(len(sorted)-1, int(p*float64(len(sorted))))]
}

func memAvailableMB() int {
	f, err := os.Open("/proc/meminfo")
	if err != nil {
		return 1 << 30
	}
	defer f.Close()
	s := bufio.NewScanner(f)
	for s.Scan() {
		if v, ok := strings.CutPrefix(s.Text(), "MemAvailable:"); ok {
			kb, _ := strconv.Atoi(strings.TrimSuffix(strings.TrimSpace(v), " kB"))
			return kb / 1024
		}
	}
	return 1 << 30
}

func meanRSS(procs []*exec.Cmd) float64 {
	var sum, n float64
	for _, p := range procs {
		b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", p.Process.Pid))
		if err != nil {
			continue
		}
		for _, l := range strings.Split(string(b), "\n") {
			if v, ok := strings.CutPrefix(l, "VmRSS:"); ok {
				kb, _ := strconv.Atoi(strings.TrimSuffix(strings.TrimSpace(v), " kB"))
				sum += float64(kb) / 1024
				n++
			}
		}
	}
	if n == 0 {
		return 0
	}
	return sum / n
}
