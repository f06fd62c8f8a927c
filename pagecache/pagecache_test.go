package pagecache

import (
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/andybalholm/brotli"
)

func TestPageServe(t *testing.T) {
	body := []byte(strings.Repeat("<tr><td>row</td></tr>", 200))
	p := NewPage("text/html; charset=utf-8", body)
	get := func(hdr ...string) *httptest.ResponseRecorder {
		r := httptest.NewRequest(http.MethodGet, "/", nil)
		for i := 0; i+1 < len(hdr); i += 2 {
			r.Header.Set(hdr[i], hdr[i+1])
		}
		w := httptest.NewRecorder()
		p.Serve(w, r)
		return w
	}
	w := get()
	if w.Code != 200 || !bytes.Equal(w.Body.Bytes(), body) || w.Header().Get("Content-Encoding") != "" ||
		w.Header().Get("Vary") != "Accept-Encoding" || w.Header().Get("ETag") == "" {
		t.Errorf("plain: %d %q %v", w.Code, w.Header().Get("Content-Encoding"), w.Header())
	}
	w = get("Accept-Encoding", "gzip, deflate")
	zr, err := gzip.NewReader(w.Body)
	if err != nil || w.Header().Get("Content-Encoding") != "gzip" {
		t.Fatalf("gzip: %v %v", err, w.Header())
	}
	if b, _ := io.ReadAll(zr); !bytes.Equal(b, body) {
		t.Error("gzip body differs")
	}
	w = get("Accept-Encoding", "gzip;q=0.5, br")
	if b, _ := io.ReadAll(brotli.NewReader(w.Body)); w.Header().Get("Content-Encoding") != "br" || !bytes.Equal(b, body) {
		t.Errorf("brotli: %v", w.Header())
	}
	if w = get("Accept-Encoding", "br;q=0, gzip;q=0"); w.Header().Get("Content-Encoding") != "" {
		t.Errorf("q=0 refused codings, got %q", w.Header().Get("Content-Encoding"))
	}
	for _, inm := range []string{p.ETag, `W/` + p.ETag, `"x", ` + p.ETag, "*"} {
		if w = get("If-None-Match", inm); w.Code != http.StatusNotModified || w.Body.Len() != 0 {
			t.Errorf("If-None-Match %s: %d", inm, w.Code)
		}
	}
	if w = get("If-None-Match", `"other"`); w.Code != 200 {
		t.Errorf("stale ETag: %d", w.Code)
	}
	if small := NewPage("text/plain", []byte("hi")); small.Gzip != nil || small.Brotli != nil {
		t.Error("tiny bodies are not worth compressing")
	}
}

func TestCacheInvalidation(t *testing.T) {
	v := NewVersions(nil, nil)
	c := New(v, 2)
	var builds atomic.Int32
	var until time.Time
	build := func(ctx context.Context) (Value, error) {
		n := builds.Add(1)
		return Value{ChallengeID: 7, Until: until, Val: n}, nil
	}
	get := func(key string) int32 {
		x, err := c.Get(context.Background(), key, build)
		if err != nil {
			t.Fatal(err)
		}
		return x.(int32)
	}
	// Not listening: nothing is cached.
	if get("a") != 1 || get("a") != 2 {
		t.Error("cached while not live")
	}
	v.setLive(true)
	if get("a") != 3 || get("a") != 3 {
		t.Error("not cached while live")
	}
	v.changed(8) // another challenge
	if get("a") != 3 {
		t.Error("another challenge's change dropped the page")
	}
	v.changed(7)
	if get("a") != 4 || get("a") != 4 {
		t.Error("the challenge's change did not drop the page once")
	}
	v.setLive(false)
	v.setLive(true) // reconnected: notifications may have been missed
	if get("a") != 5 {
		t.Error("a reconnection kept old pages")
	}
	until = time.Now().Add(-time.Second) // a phase boundary already passed
	if get("b") != 6 || get("b") != 7 {
		t.Error("an expired page was served")
	}
	until = time.Time{}
	// Bounded: a third key clears the map.
	get("c")
	get("d")
	if len(c.m) > 2 {
		t.Errorf("%d entries, bound 2", len(c.m))
	}
}

// A change during a build leaves the built value stale at once.
func TestCacheChangeDuringBuild(t *testing.T) {
	v := NewVersions(nil, nil)
	v.setLive(true)
	c := New(v, 10)
	var n atomic.Int32
	first := true
	build := func(ctx context.Context) (Value, error) {
		if first {
			first = false
			v.changed(1) // the result arrives while the board is being read
		}
		return Value{ChallengeID: 1, Val: n.Add(1)}, nil
	}
	c.Get(context.Background(), "k", build)
	if x, _ := c.Get(context.Background(), "k", build); x.(int32) != 2 {
		t.Error("a value built across a change was kept")
	}
}

// Concurrent requests for a missing page wait for one build.
func TestCacheSingleBuild(t *testing.T) {
	// Many rounds of requests released at once: the look-up and the
	// insertion of the entry must be one step, or two requests that look
	// up together both build.
	for round := 0; round < 50; round++ {
		v := NewVersions(nil, nil)
		v.setLive(true)
		c := New(v, 10)
		var builds atomic.Int32
		release, start := make(chan struct{}), make(chan struct{})
		build := func(ctx context.Context) (Value, error) {
			builds.Add(1)
			<-release
			return Value{ChallengeID: 1, Val: "page"}, nil
		}
		var wg sync.WaitGroup
		for i := 0; i < 20; i++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				<-start
				if v, err := c.Get(context.Background(), "k", build); err != nil || v != "page" {
					t.Errorf("Get = %v, %v", v, err)
				}
			}()
		}
		close(start)
		time.Sleep(2 * time.Millisecond)
		close(release)
		wg.Wait()
		if b := builds.Load(); b != 1 {
			t.Fatalf("round %d: %d builds for 20 concurrent requests", round, b)
		}
	}
}

// TestCacheFailedBuild: requests waiting on a build that fails get its
// error (one build, not one after another for each of them); when the
// build failed because its own request went away, they build instead.
func TestCacheFailedBuild(t *testing.T) {
	for _, tc := range []struct {
		name       string
		err        error
		wantBuilds int32
	}{
		{"database error", errors.New("database is down"), 1},
		{"builder's request gone", context.Canceled, 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			v := NewVersions(nil, nil)
			v.setLive(true)
			c := New(v, 10)
			var builds atomic.Int32
			release := make(chan struct{})
			build := func(ctx context.Context) (Value, error) {
				if builds.Add(1) == 1 {
					<-release
					return Value{}, tc.err
				}
				return Value{ChallengeID: 1, Val: "page"}, nil
			}
			first := make(chan error, 1)
			go func() { _, err := c.Get(context.Background(), "k", build); first <- err }()
			for builds.Load() == 0 {
				time.Sleep(time.Millisecond)
			}
			var wg sync.WaitGroup
			errs := make(chan error, 5)
			for i := 0; i < 5; i++ {
				wg.Add(1)
				go func() { defer wg.Done(); _, err := c.Get(context.Background(), "k", build); errs <- err }()
			}
			time.Sleep(50 * time.Millisecond) // the waiters wait on the first build
			close(release)
			wg.Wait()
			close(errs)
			if err := <-first; !errors.Is(err, tc.err) {
				t.Errorf("the builder got %v", err)
			}
			// A waiter that a loaded machine started only after the
			// failure builds for itself (and gets the page); none may
			// build after sharing the error.
			shared, pages := 0, 0
			for err := range errs {
				switch {
				case err == nil:
					pages++
				case errors.Is(err, tc.err) && tc.wantBuilds == 1:
					shared++
				default:
					t.Errorf("a waiter got %v", err)
				}
			}
			late := int32(0)
			if tc.wantBuilds == 1 {
				late = int32(pages)
				if shared == 0 {
					t.Error("no waiter shared the failed build's error")
				}
			}
			if b := builds.Load(); b != tc.wantBuilds+late {
				t.Errorf("%d builds, want %d", b, tc.wantBuilds+late)
			}
		})
	}
}
