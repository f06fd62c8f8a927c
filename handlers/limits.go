package handlers

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"
)

// window counts events per key over a sliding time window, in memory. It is
// per process: several web processes each keep their own counts, so the
// effective limit is the configured one times the number of processes, and
// a restart forgets everything. That is enough to stop a loop from one
// client; a shared table would be needed for more.
type window struct {
	mu     sync.Mutex
	span   time.Duration
	limit  int
	events map[string][]time.Time // oldest first
	now    func() time.Time
	sweeps int
}

func newWindow(limit int, span time.Duration, now func() time.Time) *window {
	if now == nil {
		now = time.Now
	}
	return &window{span: span, limit: limit, events: map[string][]time.Time{}, now: now}
}

// prune drops events older than the window; the caller holds mu.
func (w *window) prune(key string, now time.Time) []time.Time {
	ev := w.events[key]
	i := 0
	for i < len(ev) && now.Sub(ev[i]) >= w.span {
		i++
	}
	ev = ev[i:]
	if len(ev) == 0 {
		delete(w.events, key)
	} else {
		w.events[key] = ev
	}
	return ev
}

// blocked reports whether key has reached the limit, and if so how long
// until its oldest event leaves the window.
func (w *window) blocked(key string) (bool, time.Duration) {
	if w == nil || w.limit <= 0 {
		return false, 0
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	now := w.now()
	ev := w.prune(key, now)
	if len(ev) < w.limit {
		return false, 0
	}
	return true, w.span - now.Sub(ev[len(ev)-w.limit])
}

// add records one event for key and returns its time (for remove).
func (w *window) add(key string) time.Time {
	if w == nil || w.limit <= 0 {
		return time.Time{}
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	now := w.now()
	ev := w.prune(key, now)
	if len(ev) >= 4*w.limit { // bound memory per key: old events beyond the limit change nothing
		ev = ev[len(ev)-w.limit:]
	}
	w.events[key] = append(ev, now)
	// Every so often drop keys whose events all expired, so that many
	// distinct keys cannot grow the map without bound.
	if w.sweeps++; w.sweeps >= 1024 {
		w.sweeps = 0
		for k := range w.events {
			w.prune(k, now)
		}
	}
	return now
}

// remove forgets one event of key recorded at t (by add, which returned
// t): a tentatively counted event that turned out not to count.
func (w *window) remove(key string, t time.Time) {
	if w == nil || w.limit <= 0 {
		return
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	ev := w.events[key]
	for i := len(ev) - 1; i >= 0; i-- {
		if ev[i].Equal(t) {
			ev = append(ev[:i:i], ev[i+1:]...)
			break
		}
	}
	if len(ev) == 0 {
		delete(w.events, key)
	} else {
		w.events[key] = ev
	}
}

// reset forgets key's events (after a successful login for its name).
func (w *window) reset(key string) {
	if w == nil {
		return
	}
	w.mu.Lock()
	delete(w.events, key)
	w.mu.Unlock()
}

// minutesLeft rounds a wait up to whole minutes, at least 1, for messages.
func minutesLeft(d time.Duration) int {
	m := int((d + time.Minute - 1) / time.Minute)
	return max(m, 1)
}

// LoginThrottle limits failed logins per client IP and per (login name,
// client IP), in memory (per process; see window).
//
// The per-(name, IP) limit stops one address from guessing one account's
// password; the per-IP limit on top stops one address from trying many
// accounts (or one account under many spellings). The name is not counted
// on its own: then anyone could lock the real owner out of their account
// with 10 wrong guesses, from anywhere. The price is that guessing one
// account from many addresses is bounded only per address (each gets
// LoginFailuresPerName tries per window), which argon2's cost and the
// password length minimum make slow. The per-IP limit is higher because many
// users may share an address (NAT, a campus proxy).
type LoginThrottle struct {
	byIP, byNameIP *window
}

// Login throttle defaults: 10 failures per (name, IP), 50 per IP, per 15
// minutes.
const (
	LoginFailuresPerName = 10
	LoginFailuresPerIP   = 50
	LoginWindow          = 15 * time.Minute
)

// NewLoginThrottle returns a throttle; limits <= 0 disable that key.
// perName limits failures per (name, IP).
func NewLoginThrottle(perName, perIP int, span time.Duration, now func() time.Time) *LoginThrottle {
	return &LoginThrottle{byIP: newWindow(perIP, span, now), byNameIP: newWindow(perName, span, now)}
}

// nameIPKey is the (name, IP) key of LoginThrottle; the name is at most
// maxLogin bytes (checked before), so keys stay small.
func nameIPKey(name, ip string) string { return ip + "\x00" + name }

// Limits on what the login and sign-up forms accept, checked before any
// hashing and before a value becomes a throttle key.
const (
	maxLogin    = 254  // bytes: an email address's maximum
	maxPassword = 1024 // bytes
)

// SignupThrottle limits sign-up attempts per client IP (in memory, per
// process; see window): each attempt that reaches password hashing counts,
// successful or not. New accounts would otherwise get around the per-user
// quota and reject limits, and a flood of sign-ups would hold every argon2
// slot so nobody could log in.
type SignupThrottle struct{ byIP *window }

// Sign-up defaults: 5 attempts per IP per hour.
const (
	SignupsPerIP = 5
	SignupWindow = time.Hour
)

// NewSignupThrottle returns a throttle; perIP <= 0 disables it.
func NewSignupThrottle(perIP int, span time.Duration, now func() time.Time) *SignupThrottle {
	return &SignupThrottle{byIP: newWindow(perIP, span, now)}
}

// UploadRejectLimit caps a user's rejected uploads per hour: each costs the
// server a hash and an inspection of up to the challenge's size limit, so a
// client looping on a bad file must stop.
const (
	UploadRejectsPerHour = 30
	UploadRejectWindow   = time.Hour
)

// Upload concurrency: reading a model into memory and inspecting it costs
// up to the challenge's upload limit in memory and a parse, so at most
// UploadInspections uploads do it at once; the others wait up to
// UploadSlotWait for a slot (or until the client gives up) and then get 503.
// Each user has at most UploadsInFlightPerUser uploads in progress; more are
// refused (429) before their body is read.
const (
	UploadInspections      = 2
	UploadSlotWait         = 30 * time.Second
	UploadsInFlightPerUser = 2
)

// errUploadBusy: no inspection slot freed up in time.
var errUploadBusy = errors.New("upload: all inspection slots busy")

// UploadSlots bounds concurrent model reads and inspections.
type UploadSlots struct {
	sem  chan struct{}
	wait time.Duration
}

// NewUploadSlots returns n slots; a request waits at most wait for one
// (0 means UploadSlotWait).
func NewUploadSlots(n int, wait time.Duration) *UploadSlots {
	if wait <= 0 {
		wait = UploadSlotWait
	}
	return &UploadSlots{sem: make(chan struct{}, max(n, 1)), wait: wait}
}

// acquire waits for a slot until ctx ends or the wait passes; the returned
// func frees it. A nil *UploadSlots never waits.
func (s *UploadSlots) acquire(ctx context.Context) (func(), error) {
	if s == nil {
		return func() {}, nil
	}
	t := time.NewTimer(s.wait)
	defer t.Stop()
	select {
	case s.sem <- struct{}{}:
		return func() { <-s.sem }, nil
	case <-ctx.Done():
		return nil, fmt.Errorf("%w: %w", errUploadBusy, ctx.Err())
	case <-t.C:
		return nil, errUploadBusy
	}
}

// InFlight counts uploads in progress per key (user), up to a limit.
type InFlight struct {
	mu    sync.Mutex
	limit int
	n     map[string]int
}

// NewInFlight returns a counter allowing limit uploads in progress per key.
func NewInFlight(limit int) *InFlight {
	return &InFlight{limit: limit, n: map[string]int{}}
}

// enter counts one more upload of key, unless key has limit in progress.
// A nil *InFlight always admits.
func (f *InFlight) enter(key string) bool {
	if f == nil {
		return true
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.n[key] >= f.limit {
		return false
	}
	f.n[key]++
	return true
}

// leave ends one upload of key.
func (f *InFlight) leave(key string) {
	if f == nil {
		return
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.n[key]--; f.n[key] <= 0 {
		delete(f.n, key)
	}
}
