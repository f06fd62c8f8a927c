package handlers

import (
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

// add records one event for key.
func (w *window) add(key string) {
	if w == nil || w.limit <= 0 {
		return
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

// LoginThrottle limits failed logins per client IP and per login name, in
// memory (per process; see window). The per-name limit stops guessing one
// account's password from many addresses; the per-IP one stops one address
// from trying many accounts. The per-IP limit is higher because many users
// may share an address (NAT, a campus proxy).
type LoginThrottle struct {
	byIP, byName *window
}

// Login throttle defaults: 10 failures per name, 50 per IP, per 15 minutes.
const (
	LoginFailuresPerName = 10
	LoginFailuresPerIP   = 50
	LoginWindow          = 15 * time.Minute
)

// NewLoginThrottle returns a throttle; limits <= 0 disable that key.
func NewLoginThrottle(perName, perIP int, span time.Duration, now func() time.Time) *LoginThrottle {
	return &LoginThrottle{byIP: newWindow(perIP, span, now), byName: newWindow(perName, span, now)}
}

// UploadRejectLimit caps a user's rejected uploads per hour: each costs the
// server a hash and an inspection of up to the challenge's size limit, so a
// client looping on a bad file must stop.
const (
	UploadRejectsPerHour = 30
	UploadRejectWindow   = time.Hour
)
