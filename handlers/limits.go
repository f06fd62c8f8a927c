package handlers

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/srarena/srarena/ratelimit"
)

var minutesLeft = ratelimit.MinutesLeft

// LoginThrottle limits failed logins per client IP and per (login name,
// client IP), in PostgreSQL, so the limits hold across web processes.
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
	byIP, byNameIP *ratelimit.Window
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
func NewLoginThrottle(st ratelimit.Store, perName, perIP int, span time.Duration, now func() time.Time) *LoginThrottle {
	return &LoginThrottle{byIP: ratelimit.New(st, "login_ip", perIP, span, now),
		byNameIP: ratelimit.New(st, "login_name_ip", perName, span, now)}
}

// nameIPKey is the (name, IP) key of LoginThrottle; the name is at most
// maxLogin bytes (checked before), so keys stay small.
func nameIPKey(name, ip string) string { return ip + " " + name } // an IP has no space

// Limits on what the login and sign-up forms accept, checked before any
// hashing and before a value becomes a throttle key.
const (
	maxLogin    = 254  // bytes: an email address's maximum
	maxPassword = 1024 // bytes
)

// SignupThrottle limits sign-up attempts per client IP (in PostgreSQL,
// across processes): each attempt that reaches password hashing counts,
// successful or not. New accounts would otherwise get around the per-user
// quota and reject limits, and a flood of sign-ups would hold every argon2
// slot so nobody could log in.
type SignupThrottle struct{ byIP *ratelimit.Window }

// Sign-up defaults: 5 attempts per IP per hour.
const (
	SignupsPerIP = 5
	SignupWindow = time.Hour
)

// NewSignupThrottle returns a throttle; perIP <= 0 disables it.
func NewSignupThrottle(st ratelimit.Store, perIP int, span time.Duration, now func() time.Time) *SignupThrottle {
	return &SignupThrottle{byIP: ratelimit.New(st, "signup_ip", perIP, span, now)}
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
//
// They are per process on purpose, unlike the other upload limits: they
// guard this process's own CPUs and memory (an inspection parses up to
// the upload cap in memory), which a limit shared across processes could
// not do — a cluster-wide count would let every upload land on one busy
// process while others idle, and leave a process's resources unguarded
// once the others' slots were free. Each `serve` process adds its own
// UploadInspections slots; capacity grows with the processes, as it should.
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

// InFlight counts uploads in progress per key (user), up to a limit. Built
// by NewSharedInFlight it counts in PostgreSQL leases, across every web
// process (a per-process count would let a user run the limit times the
// number of processes); built by NewInFlight, in this process only.
type InFlight struct {
	mu     sync.Mutex
	limit  int
	n      map[string]int
	shared *ratelimit.Leases
}

// NewSharedInFlight returns a counter allowing limit uploads in progress
// per key across every process on st's database. Leases expire
// ratelimit.LeaseTTL after a process dies, so a killed process blocks its
// users' uploads for at most that long.
func NewSharedInFlight(st ratelimit.LeaseStore, limit int) *InFlight {
	return &InFlight{limit: limit, shared: ratelimit.NewLeases(st, "upload_user", limit, 0)}
}

// admit counts one more upload of key, unless key has limit in progress
// (ok false). leave ends it. A nil *InFlight always admits.
func (f *InFlight) admit(ctx context.Context, key string) (leave func(), ok bool, err error) {
	if f == nil {
		return func() {}, true, nil
	}
	if f.shared != nil {
		return f.shared.Acquire(ctx, key)
	}
	if !f.enter(key) {
		return nil, false, nil
	}
	return func() { f.leave(key) }, true, nil
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

// AnalysisThrottle limits runtime analyses (the /analysis form and POST
// /api/v1/analysis together) per client address, in PostgreSQL so the
// limit holds across web processes. Both are public and unauthenticated,
// and one table of 5,000 rows costs Kendall's τ (O(n²)) for six measures:
// without a limit one client could keep the server's CPUs busy. Every
// attempt counts, read or refused, since the work starts with the body.
type AnalysisThrottle struct{ byIP *ratelimit.Window }

// Analysis defaults: 20 analyses per address per 10 minutes; a person
// analysing their own tables needs a handful.
const (
	AnalysesPerIP  = 20
	AnalysisWindow = 10 * time.Minute
)

// NewAnalysisThrottle returns a throttle; perIP <= 0 disables it.
func NewAnalysisThrottle(st ratelimit.Store, perIP int, span time.Duration, now func() time.Time) *AnalysisThrottle {
	return &AnalysisThrottle{byIP: ratelimit.New(st, "analysis_ip", perIP, span, now)}
}

// admit counts one analysis for r's client address (after --trusted-proxies
// named it), or refuses it: then the message to show, with Retry-After set
// on w. A nil throttle admits everyone.
func (t *AnalysisThrottle) admit(w http.ResponseWriter, r *http.Request) (string, error) {
	if t == nil {
		return "", nil
	}
	ip := clientIP(r)
	blocked, wait, err := t.byIP.Blocked(r.Context(), ip)
	if err != nil {
		return "", err
	}
	if blocked {
		w.Header().Set("Retry-After", strconv.Itoa(retryAfterSeconds(wait)))
		return fmt.Sprintf("Too many analyses from your address: at most %d per %d minutes. Try again in %d minutes, or run `srarena correlate` on your own machine.",
			t.byIP.Limit, int(t.byIP.Span/time.Minute), minutesLeft(wait)), nil
	}
	_, err = t.byIP.Add(r.Context(), ip)
	return "", err
}

// retryAfterSeconds is a wait as a Retry-After value: whole seconds,
// rounded up, at least 1.
func retryAfterSeconds(d time.Duration) int {
	return max(int((d+time.Second-1)/time.Second), 1)
}
