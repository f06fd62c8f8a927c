package handlers

import (
	"context"
	"encoding/json"
	"errors"
	"math"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-chi/chi/v5"

	"github.com/srarena/srarena/scoring"
	"github.com/srarena/srarena/store"
)

// TestSafeNext: every value a browser could resolve to another origin must
// fall back to "/". Browsers drop tabs and newlines inside URLs and read "\"
// as "/", so the nasty cases are the ones that only become "//host" after
// that normalisation.
func TestSafeNext(t *testing.T) {
	t.Parallel()
	tests := []struct{ in, want string }{
		{"", "/"},
		{"/", "/"},
		{"/c/esr", "/c/esr"},
		{"/c/esr/submissions?x=1#top", "/c/esr/submissions?x=1#top"},
		{"/submissions/12", "/submissions/12"},
		{"//evil.example", "/"},
		{"///evil.example", "/"},
		{"/\\evil.example", "/"},
		{"\\\\evil.example", "/"},
		{"/\t/evil.example", "/"}, // what /login?next=/%09/evil.example decodes to
		{"/\n/evil.example", "/"},
		{"/\r\n/evil.example", "/"},
		{"/\x00/evil.example", "/"},
		{"/\x7f/evil.example", "/"},
		{"https://evil.example", "/"},
		{"https:evil.example", "/"},
		{"HTTP://evil.example/", "/"},
		{"javascript:alert(1)", "/"},
		{"JavaScript:alert(1)", "/"},
		{"data:text/html,hi", "/"},
		{"evil.example", "/"},
		{"c/esr", "/"},
		{"/%2F/evil.example", "/"}, // decodes to a path starting with "//"
		{"/a\r\nSet-Cookie: x=y", "/"},
		{"/%zz", "/"}, // does not parse
	}
	for _, tc := range tests {
		if got := safeNext(tc.in); got != tc.want {
			t.Errorf("safeNext(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

// TestHasherSemaphore: with every slot taken, a hash waits and gives up
// when the request's context ends instead of taking another 19 MiB.
func TestHasherSemaphore(t *testing.T) {
	t.Parallel()
	h, err := NewHasher(Argon2Params{MemoryKiB: 64, Time: 1, Threads: 1})
	if err != nil {
		t.Fatal(err)
	}
	if cap(h.sem) != MaxConcurrentHashes {
		t.Fatalf("%d slots, want %d", cap(h.sem), MaxConcurrentHashes)
	}
	for range MaxConcurrentHashes {
		h.sem <- struct{}{}
	}
	enc := h.dummy
	tests := []struct {
		name string
		run  func(ctx context.Context) error
	}{
		{"hash", func(ctx context.Context) error { _, err := h.HashContext(ctx, "pw"); return err }},
		{"verify", func(ctx context.Context) error { _, err := h.VerifyContext(ctx, "pw", enc); return err }},
		{"dummy", func(ctx context.Context) error { return h.VerifyDummy(ctx, "pw") }},
	}
	for _, tc := range tests {
		ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
		err := tc.run(ctx)
		cancel()
		if !errors.Is(err, ErrHasherBusy) {
			t.Errorf("%s with all slots taken: %v, want ErrHasherBusy", tc.name, err)
		}
	}
	<-h.sem // one slot frees up: work proceeds
	if _, err := h.HashContext(context.Background(), "pw"); err != nil {
		t.Errorf("hash with a free slot: %v", err)
	}
}

// TestMeasuredGates: a board evaluates one split, so that split's PSNR gate
// applies and a gate on the other split is dropped; but when the rules gate
// only the other split, the gate moves onto this split's PSNR, relative to
// the baseline, so no board ranks without a PSNR gate. The preset passed in
// is never modified.
func TestMeasuredGates(t *testing.T) {
	t.Parallel()
	type moved struct {
		metric, inPlaceOf string
		min               float64
	}
	tests := []struct {
		preset, split string
		applied       []moved
		skipped       []string
	}{
		{"ntire2023", "validation", []moved{{scoring.MetricPSNRVal, "", 28.91}}, []string{scoring.MetricPSNRTest}},
		{"ntire2023", "test", []moved{{scoring.MetricPSNRTest, "", 26.95}}, []string{scoring.MetricPSNRVal}},
		{"ntire2024", "validation", []moved{{scoring.MetricPSNRVal, "", 26.90}}, []string{scoring.MetricPSNRTest}},
		{"aim2020", "validation", []moved{{scoring.MetricPSNRVal, "", 0}}, nil},
		{"aim2020", "test", []moved{{scoring.MetricPSNRTest, scoring.MetricPSNRVal, 0}}, nil},
	}
	for _, tc := range tests {
		r, _ := scoring.Preset(tc.preset)
		before := slices.Clone(r.Gates)
		got, applied, skipped := measuredGates(r, tc.split)
		var gotApplied []moved
		for _, g := range applied {
			gotApplied = append(gotApplied, moved{g.Metric, g.InPlaceOf, g.Min})
		}
		var gotSkipped []string
		for _, g := range skipped {
			gotSkipped = append(gotSkipped, g.Metric)
		}
		if !slices.Equal(gotApplied, tc.applied) || !slices.Equal(gotSkipped, tc.skipped) {
			t.Errorf("%s on %s: applied %v skipped %v, want %v %v", tc.preset, tc.split, gotApplied, gotSkipped, tc.applied, tc.skipped)
		}
		if len(got.Gates) != len(applied) || len(got.Gates) == 0 {
			t.Errorf("%s on %s: rules gates %v; want the %d applied, never none", tc.preset, tc.split, got.Gates, len(applied))
		}
		for i, g := range applied {
			if i < len(got.Gates) && got.Gates[i] != g.Gate {
				t.Errorf("%s on %s: rules gate %d = %+v, applied %+v", tc.preset, tc.split, i, got.Gates[i], g.Gate)
			}
		}
		if !slices.Equal(before, r.Gates) {
			t.Errorf("%s: preset's gates modified: %+v, was %+v", tc.preset, r.Gates, before)
		}
	}
	// An absolute gate on the other split keeps its margin over the rules'
	// baseline; without a published baseline it becomes "≥ the baseline's".
	abs := scoring.Rules{Gates: []scoring.Gate{{Metric: scoring.MetricPSNRVal, Min: 28.5}},
		Baseline: map[string]float64{scoring.MetricPSNRVal: 29.0}}
	if _, applied, _ := measuredGates(abs, "test"); len(applied) != 1 ||
		applied[0].Gate != (scoring.Gate{Metric: scoring.MetricPSNRTest, Min: -0.5, FromBaseline: true}) ||
		!strings.Contains(applied[0].describe(), "gate applied to test PSNR in place of validation PSNR") {
		t.Errorf("absolute gate on test: %+v", applied)
	}
	abs.Baseline = nil
	if _, applied, _ := measuredGates(abs, "test"); len(applied) != 1 ||
		applied[0].Gate != (scoring.Gate{Metric: scoring.MetricPSNRTest, FromBaseline: true}) {
		t.Errorf("absolute gate, no baseline: %+v", applied)
	}
}

// TestLeaderRowJSON: non-finite metrics become null instead of failing the
// whole encoding.
func TestLeaderRowJSON(t *testing.T) {
	t.Parallel()
	nan, inf := math.NaN(), math.Inf(1)
	tests := []struct {
		name string
		row  LeaderRow
		want string
	}{
		{"inf psnr", LeaderRow{Name: "a", PSNR: inf, RuntimeMS: 3}, `"psnr":null`},
		{"nan runtime", LeaderRow{Name: "a", PSNR: 30, RuntimeMS: nan}, `"runtime_ms":null`},
		{"nan ssim", LeaderRow{Name: "a", SSIM: &nan}, `"ssim":null`},
		{"finite", LeaderRow{Name: "a", PSNR: 30.5}, `"psnr":30.5`},
	}
	for _, tc := range tests {
		b, err := json.Marshal(Board{Rows: []LeaderRow{tc.row}})
		if err != nil || !strings.Contains(string(b), tc.want) || strings.Count(string(b), `"psnr"`) != 1 {
			t.Errorf("%s: %s, %v; want %s once", tc.name, b, err, tc.want)
		}
	}
}

// countingBoardStore is a LeaderboardStore that counts board computations.
type countingBoardStore struct {
	mu    sync.Mutex
	calls int
}

func (s *countingBoardStore) ChallengeBySlug(_ context.Context, slug string) (store.Challenge, error) {
	if slug != "esr" {
		return store.Challenge{}, store.ErrNotFound
	}
	return store.Challenge{ID: 1, Slug: "esr", Rules: json.RawMessage(`{"name": "x", "tracks": [{"name": "t", "method": "value", "terms": [{"metric": "runtime"}]}]}`)}, nil
}

func (s *countingBoardStore) EvaluationDataset(context.Context, int64) (store.Dataset, error) {
	return store.Dataset{ID: 1, Name: "val", Split: "validation"}, nil
}

func (s *countingBoardStore) FinishedWithResults(context.Context, int64, int64) ([]store.Scored, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.calls++
	return nil, nil
}

// TestLeaderboardCacheExpires: a board is computed once per CacheTTL,
// whatever the number of requests, and again once it expired; unknown
// challenges are not kept.
func TestLeaderboardCacheExpires(t *testing.T) {
	t.Parallel()
	now := time.Unix(1e9, 0)
	var clock sync.Mutex
	st := &countingBoardStore{}
	h := &Leaderboard{Base: &Base{Now: func() time.Time { clock.Lock(); defer clock.Unlock(); return now }}, Store: st, CacheTTL: 5 * time.Second}
	get := func(slug string) int {
		rc := chi.NewRouteContext()
		rc.URLParams.Add("slug", slug)
		req := httptest.NewRequest(http.MethodGet, "/c/"+slug+"/leaderboard.json", nil)
		req = req.WithContext(context.WithValue(req.Context(), chi.RouteCtxKey, rc))
		w := httptest.NewRecorder()
		if err := h.JSON(w, req); err != nil {
			return 404
		}
		return w.Code
	}
	var wg sync.WaitGroup
	for range 20 {
		wg.Go(func() { get("esr") })
	}
	wg.Wait()
	if st.calls != 1 {
		t.Errorf("%d computations for 20 requests within the TTL, want 1", st.calls)
	}
	clock.Lock()
	now = now.Add(5 * time.Second)
	clock.Unlock()
	if get("esr") != 200 || st.calls != 2 {
		t.Errorf("after the TTL: %d computations, want 2", st.calls)
	}
	for range 3 {
		if code := get("nope"); code != 404 {
			t.Errorf("unknown challenge: %d", code)
		}
	}
	h.cacheMu.Lock()
	n := len(h.cache)
	h.cacheMu.Unlock()
	if n != 1 {
		t.Errorf("%d cached boards, want 1 (unknown slugs are not kept)", n)
	}
}
