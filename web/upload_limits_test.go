package web_test

import (
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/srarena/srarena/handlers"
)

// gatedInspect is the real model check, except that the calls that match
// block until release is closed; entered gets a value as each one blocks.
type gatedInspect struct {
	match   func(data []byte, call int64) bool
	calls   atomic.Int64
	entered chan struct{}
	release chan struct{}
}

func newGatedInspect(match func(data []byte, call int64) bool) *gatedInspect {
	return &gatedInspect{match: match, entered: make(chan struct{}, 64), release: make(chan struct{})}
}

func (g *gatedInspect) inspect(data []byte, scale int) (handlers.Inspection, error) {
	if g.match(data, g.calls.Add(1)) {
		g.entered <- struct{}{}
		<-g.release
	}
	return handlers.ONNXInspect(data, scale)
}

func (g *gatedInspect) wait(t *testing.T, n int) {
	t.Helper()
	for i := range n {
		select {
		case <-g.entered:
		case <-time.After(20 * time.Second):
			t.Fatalf("only %d uploads reached the model check", i)
		}
	}
}

// TestUploadConcurrency: a user has at most UploadsInFlightPerUser uploads
// in progress (the next is refused with 429 before its body is read), and
// with every inspection slot taken another user's upload waits, then gets
// 503 "retry in a minute", without counting as a refused upload.
func TestUploadConcurrency(t *testing.T) {
	t.Parallel()
	g := newGatedInspect(func(_ []byte, call int64) bool { return call <= handlers.UploadInspections })
	a := newApp(t, challengeOpts{inspect: g.inspect, slotWait: 300 * time.Millisecond})
	model := espcn(t)
	ann, bob := a.browser(), a.browser()
	ann.signup("ann")
	bob.signup("bob")
	annTok, bobTok := ann.csrf("/c/esr"), bob.csrf("/c/esr")

	done := make(chan resp, handlers.UploadsInFlightPerUser)
	for range handlers.UploadsInFlightPerUser {
		go func() { done <- ann.upload(annTok, "m.onnx", model) }()
	}
	g.wait(t, handlers.UploadsInFlightPerUser) // both hold a slot now
	r := ann.upload(annTok, "m.onnx", model)
	if r.status != http.StatusTooManyRequests || !strings.Contains(r.body, "uploads in progress") {
		t.Errorf("third upload of one user: %d\n%s", r.status, r.body)
	}
	start := time.Now()
	r = bob.upload(bobTok, "m.onnx", model)
	if r.status != http.StatusServiceUnavailable || !strings.Contains(r.body, "retry in a minute") {
		t.Errorf("upload with every slot busy: %d\n%s", r.status, r.body)
	}
	if d := time.Since(start); d < 300*time.Millisecond {
		t.Errorf("refused after %v, before the slot wait", d)
	}
	close(g.release)
	for range handlers.UploadsInFlightPerUser {
		if r := <-done; r.status != http.StatusSeeOther {
			t.Errorf("held upload: %d\n%s", r.status, r.body)
		}
	}
	if n := a.count(`SELECT count(*) FROM submissions`); n != handlers.UploadsInFlightPerUser {
		t.Errorf("%d submissions, want %d", n, handlers.UploadsInFlightPerUser)
	}
	// The slots are free again, and bob's 503 did not count against him.
	if r := bob.upload(bobTok, "m.onnx", model); r.status != http.StatusSeeOther {
		t.Errorf("upload after the slots freed: %d", r.status)
	}
}

// TestUploadRejectCountedInFlight: an upload counts against the reject
// limit from before its body is read, so an upload running in parallel
// cannot slip past the limit; once it succeeds, its count is taken back.
func TestUploadRejectCountedInFlight(t *testing.T) {
	t.Parallel()
	g := newGatedInspect(func(data []byte, _ int64) bool { return len(data) > 100 }) // the real model blocks
	a := newApp(t, challengeOpts{inspect: g.inspect})
	model := espcn(t)
	b := a.browser()
	b.signup("tess")
	tok := b.csrf("/c/esr")
	junk := []byte("not a model")
	for i := range handlers.UploadRejectsPerHour - 1 {
		if r := b.upload(tok, "m.onnx", junk); r.status != 422 {
			t.Fatalf("reject %d: %d", i, r.status)
		}
	}
	done := make(chan resp, 1)
	go func() { done <- b.upload(tok, "m.onnx", model) }()
	g.wait(t, 1)
	r := b.upload(tok, "m.onnx", junk)
	if r.status != http.StatusTooManyRequests || !strings.Contains(r.body, "Too many refused uploads") {
		t.Errorf("upload while the last allowed one runs: %d, want 429", r.status)
	}
	close(g.release)
	if r := <-done; r.status != http.StatusSeeOther {
		t.Fatalf("valid upload: %d\n%s", r.status, r.body)
	}
	// The valid upload's count was taken back: one more reject fits.
	if r := b.upload(tok, "m.onnx", junk); r.status != 422 {
		t.Errorf("reject after a success: %d, want 422", r.status)
	}
	if r := b.upload(tok, "m.onnx", junk); r.status != http.StatusTooManyRequests {
		t.Errorf("reject over the limit: %d, want 429", r.status)
	}
}
