package web_test

import (
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/srarena/srarena/onnxmodel/onnxbuild"
)

// BenchmarkSubmitAPI measures POST /api/v1/challenges/{slug}/submissions
// under 16 concurrent uploads of a ~1 MB model (a 7-layer 64-channel
// conv net), one participant (and token) per upload stream, through the
// whole pipeline: token check, domain checks, streamed body into the blob
// store, the model check (at most handlers.UploadInspections at once),
// the submission's transaction with its job. It reports the latency's p50
// and p99 and uploads per second.
//
//	go run ./internal/pgtest/pgtestd -- go test -run '^$' -bench SubmitAPI -benchtime 160x ./web/
func BenchmarkSubmitAPI(b *testing.B) {
	const clients = 16
	a := newApp(b, challengeOpts{maxUpload: 4 << 20})
	var tokens []string
	var models [][]byte
	for i := range clients {
		br := a.browserFrom("127.0.1." + strconv.Itoa(10+i)) // sign-ups are limited per address
		br.signup("bench" + strconv.Itoa(i))
		tokens = append(tokens, br.createToken("bench"))
		m, err := onnxbuild.ConvNet(4, 64, 7, int64(i))
		if err != nil {
			b.Fatal(err)
		}
		models = append(models, m)
	}
	b.Logf("model size %.2f MB", float64(len(models[0]))/1e6)
	lat := make([]time.Duration, b.N)
	var next int64 = -1
	var mu sync.Mutex
	b.ResetTimer()
	start := time.Now()
	var wg sync.WaitGroup
	for c := range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				mu.Lock()
				next++
				i := next
				mu.Unlock()
				if i >= int64(b.N) {
					return
				}
				t0 := time.Now()
				st, body := a.apiUpload(tokens[c], "main", models[c])
				lat[i] = time.Since(t0)
				if st != http.StatusCreated {
					b.Errorf("upload %d: %d %.200s", i, st, body)
					return
				}
			}
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	b.StopTimer()
	slices.Sort(lat)
	pct := func(p float64) time.Duration { return lat[min(len(lat)-1, int(p*float64(len(lat))))] }
	b.ReportMetric(float64(pct(0.50).Milliseconds()), "p50_ms")
	b.ReportMetric(float64(pct(0.99).Milliseconds()), "p99_ms")
	b.ReportMetric(float64(b.N)/elapsed.Seconds(), "uploads/s")
	b.Log(fmt.Sprintf("%d uploads, 16 concurrent: p50 %v p99 %v max %v", b.N, pct(0.50), pct(0.99), lat[len(lat)-1]))
}
