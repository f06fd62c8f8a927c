// Package load is the public leaderboard's load benchmark (issue #9): a
// challenge with 1,000 synthetic teams (srarena seed's code), the real
// server on 127.0.0.1, and 64 concurrent keep-alive clients requesting, in
// interleaved rounds, a static file of the same server, the leaderboard page
// and its JSON. It prints requests/s and latency percentiles per target and
// the ratio to the static file. Opt-in (it loads the machine for ~30 s):
//
//	SRARENA_LOAD=1 go run ./internal/pgtest/pgtestd -- go test -count=1 -v ./bench/load/
//
// SRARENA_LOAD_TEAMS, SRARENA_LOAD_CLIENTS, SRARENA_LOAD_SECONDS (per
// target and round) and SRARENA_LOAD_ROUNDS change the defaults (1000, 64,
// 3, 3).
package load

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"

	"github.com/srarena/srarena/blob"
	"github.com/srarena/srarena/internal/pgtest"
	"github.com/srarena/srarena/scoring"
	"github.com/srarena/srarena/store"
	"github.com/srarena/srarena/web"
)

func TestMain(m *testing.M) { os.Exit(pgtest.Main(m)) }

func envInt(name string, def int) int {
	if v, err := strconv.Atoi(os.Getenv(name)); err == nil && v > 0 {
		return v
	}
	return def
}

// stats is one target's measurement in one round.
type stats struct {
	Target   string  `json:"target"`
	Round    int     `json:"round"`
	Requests int     `json:"requests"`
	Errors   int     `json:"errors"`
	RPS      float64 `json:"rps"`
	P50ms    float64 `json:"p50_ms"`
	P99ms    float64 `json:"p99_ms"`
	Bytes    int64   `json:"bytes_per_response"`
}

func TestLeaderboardLoad(t *testing.T) {
	if os.Getenv("SRARENA_LOAD") == "" {
		t.Skip("load benchmark: set SRARENA_LOAD=1 to run it")
	}
	teams, clients := envInt("SRARENA_LOAD_TEAMS", 1000), envInt("SRARENA_LOAD_CLIENTS", 64)
	dur := time.Duration(envInt("SRARENA_LOAD_SECONDS", 3)) * time.Second
	rounds := envInt("SRARENA_LOAD_ROUNDS", 3)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()

	pool := pgtest.NewPool(t)
	st := store.New(pool)
	rules, _ := scoring.Preset("ntire2023")
	rj, _ := json.Marshal(rules)
	var chID int64
	err := st.InTx(ctx, func(tx pgx.Tx) error {
		var err error
		chID, err = store.CreateChallenge(ctx, tx, store.NewChallenge{Slug: "load", Title: "Load test", Scale: 4, Rules: rj,
			MaxUploadBytes: 1 << 20, DailyQuota: 5})
		if err != nil {
			return err
		}
		_, err = store.CreateDataset(ctx, tx, chID, "DIV2K-val", "validation",
			[]store.DatasetImage{{Name: "0801", LRSHA256: strings.Repeat("a", 64), HRSHA256: strings.Repeat("b", 64)}})
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	if _, err := st.SeedSynthetic(ctx, chID, store.SeedOptions{Teams: teams, Seed: 1}); err != nil {
		t.Fatal(err)
	}
	t.Logf("seeded %d synthetic teams in %v", teams, time.Since(start).Round(time.Millisecond))

	blobs, err := blob.NewDir(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	rc, err := river.NewClient(riverpgxv5.New(pool), &river.Config{})
	if err != nil {
		t.Fatal(err)
	}
	// Request logs are formatted as in production, and thrown away.
	log := slog.New(slog.NewJSONHandler(io.Discard, nil))
	// The 64 simulated clients share one loopback address: the per-address
	// connection cap (64 by default) would refuse a client's reconnection
	// while its old connection is still counted. Off, as behind a proxy.
	s, err := web.New(web.Config{Addr: "127.0.0.1:0", MaxConnsPerIP: -1}, web.Deps{Log: log, Store: st, Blobs: blobs, Jobs: rc})
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go s.Serve(ctx, ln)
	base := "http://" + ln.Addr().String()
	for i := 0; !s.PagesLive(); i++ {
		if i > 500 {
			t.Fatal("change listener not live")
		}
		time.Sleep(10 * time.Millisecond)
	}

	tr := &http.Transport{MaxIdleConns: clients * 2, MaxIdleConnsPerHost: clients * 2, DisableCompression: true}
	client := &http.Client{Transport: tr, Timeout: 10 * time.Second}
	get := func(path string) (int, []byte) {
		req, _ := http.NewRequest(http.MethodGet, base+path, nil)
		req.Header.Set("Accept-Encoding", "gzip")
		res, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		return res.StatusCode, b
	}
	plain, err := http.Get(base + "/c/load/leaderboard")
	if err != nil {
		t.Fatal(err)
	}
	page, _ := io.ReadAll(plain.Body)
	plain.Body.Close()
	css := regexp.MustCompile(`href="(/static/style\.[0-9a-f]+\.css)"`).FindSubmatch(page)
	if css == nil {
		t.Fatal("no stylesheet link on the leaderboard page")
	}
	targets := []string{string(css[1]), "/c/load/leaderboard", "/c/load/leaderboard.json"}
	for _, p := range targets {
		code, b := get(p)
		if code != 200 {
			t.Fatalf("%s: %d", p, code)
		}
		t.Logf("%s: %d bytes as served (gzip accepted)", p, len(b))
	}

	var all []stats
	for round := 1; round <= rounds; round++ {
		for _, p := range targets { // interleaved: static, page, JSON, static, …
			all = append(all, hammer(ln.Addr().String(), p, clients, dur, round))
		}
	}
	t.Logf("%d clients, %v per target and round, %d rounds, %d teams", clients, dur, rounds, teams)
	t.Logf("%-34s %6s %10s %9s %9s %8s", "target", "round", "req/s", "p50 ms", "p99 ms", "errors")
	for _, s := range all {
		t.Logf("%-34s %6d %10.0f %9.2f %9.2f %8d", s.Target, s.Round, s.RPS, s.P50ms, s.P99ms, s.Errors)
	}
	static := median(all, targets[0])
	for _, p := range targets[1:] {
		m := median(all, p)
		t.Logf("%s: median %.0f req/s = %.2f × the static file's %.0f (goal ≥ 0.5); median p99 %.2f ms (goal < 20)",
			p, m.RPS, m.RPS/static.RPS, static.RPS, m.P99ms)
	}
	if out := os.Getenv("SRARENA_LOAD_OUT"); out != "" {
		b, _ := json.MarshalIndent(all, "", "  ")
		os.WriteFile(out, b, 0o644)
	}
	for _, s := range all {
		if s.Errors > 0 {
			t.Errorf("%s round %d: %d failed requests", s.Target, s.Round, s.Errors)
		}
	}
}

// median is the target's round with the median requests/s.
func median(all []stats, target string) stats {
	var xs []stats
	for _, s := range all {
		if s.Target == target {
			xs = append(xs, s)
		}
	}
	slices.SortFunc(xs, func(a, b stats) int { return int(a.RPS - b.RPS) })
	return xs[len(xs)/2]
}

// hammer runs clients goroutines requesting path for d (at most 2 million
// requests in all), each over its own keep-alive connection with a minimal
// HTTP/1.1 client: net/http's client costs several times the CPU of the
// exchange itself, and on a 2-core machine it would measure mostly itself.
func hammer(addr, path string, clients int, d time.Duration, round int) stats {
	const maxRequests = 2_000_000
	var (
		mu    sync.Mutex
		lat   []time.Duration
		errs  int
		size  int64
		wg    sync.WaitGroup
		count atomic.Int64
	)
	req := []byte("GET " + path + " HTTP/1.1\r\nHost: " + addr + "\r\nAccept-Encoding: gzip, deflate, br\r\nUser-Agent: srarena-load\r\n\r\n")
	deadline := time.Now().Add(d)
	start := time.Now()
	for i := 0; i < clients; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var mine []time.Duration
			var bad int
			var n int64
			var conn net.Conn
			var br *bufio.Reader
			for time.Now().Before(deadline) && count.Add(1) <= maxRequests {
				if conn == nil {
					c, err := net.Dial("tcp", addr)
					if err != nil {
						bad++
						time.Sleep(time.Millisecond)
						continue
					}
					conn, br = c, bufio.NewReaderSize(c, 64<<10)
				}
				t0 := time.Now()
				k, code, err := exchange(conn, br, req)
				if err != nil {
					bad++
					conn.Close()
					conn = nil
					continue
				}
				mine = append(mine, time.Since(t0))
				if code != 200 {
					bad++
				}
				n = k
			}
			if conn != nil {
				conn.Close()
			}
			mu.Lock()
			lat = append(lat, mine...)
			errs += bad
			size = n
			mu.Unlock()
		}()
	}
	wg.Wait()
	el := time.Since(start)
	slices.Sort(lat)
	pct := func(p float64) float64 {
		if len(lat) == 0 {
			return 0
		}
		return float64(lat[int(p*float64(len(lat)-1))]) / 1e6
	}
	return stats{Target: path, Round: round, Requests: len(lat), Errors: errs, RPS: float64(len(lat)) / el.Seconds(),
		P50ms: pct(0.50), P99ms: pct(0.99), Bytes: size}
}

// exchange sends one request and reads the response (status, headers,
// Content-Length bytes of body), returning the body size and status.
func exchange(conn net.Conn, br *bufio.Reader, req []byte) (int64, int, error) {
	if _, err := conn.Write(req); err != nil {
		return 0, 0, err
	}
	line, err := br.ReadSlice('\n')
	if err != nil {
		return 0, 0, err
	}
	f := strings.Fields(string(line))
	if len(f) < 2 {
		return 0, 0, fmt.Errorf("bad status line %q", line)
	}
	code, _ := strconv.Atoi(f[1])
	length := int64(-1)
	for {
		h, err := br.ReadSlice('\n')
		if err != nil {
			return 0, 0, err
		}
		if len(h) <= 2 {
			break
		}
		if k, v, ok := strings.Cut(string(h), ":"); ok && strings.EqualFold(k, "Content-Length") {
			length, _ = strconv.ParseInt(strings.TrimSpace(v), 10, 64)
		}
	}
	if length < 0 {
		return 0, code, fmt.Errorf("no Content-Length")
	}
	_, err = br.Discard(int(length))
	return length, code, err
}
