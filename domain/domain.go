// Package domain holds the rules of the platform: who may submit what and
// when, quotas, teams and registration, which submission represents a team,
// ranking a phase, and what a viewer may see. The HTML handlers, the JSON
// API and the CLI's server side all call a *Service; they only parse,
// call and render. SQL stays in store.
//
// Every method takes the Viewer it acts for and checks what that viewer may
// do. Refusals are *Error values of a Kind (not found, forbidden, conflict,
// quota with the time a slot frees, window closed with the window,
// invalid) whose Msg is written for the person who will read it; Status
// maps a kind to an HTTP status. Anything not the viewer's is reported as
// not found, so ids of other teams' submissions reveal nothing.
//
// Times: phase windows are stored in UTC at minute precision; the daily
// quota resets at 00:00 UTC.
package domain

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/jackc/pgx/v5"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"

	"github.com/srarena/srarena/blob"
	"github.com/srarena/srarena/scoring"
	"github.com/srarena/srarena/store"
)

// Viewer is who a call acts for. The zero Viewer is anonymous.
type Viewer struct {
	UserID   int64
	Username string
	IsAdmin  bool // site admin: organizer rights everywhere
}

// ViewerOf turns the signed-in user (nil: anonymous) into a Viewer.
func ViewerOf(u *store.User) Viewer {
	if u == nil {
		return Viewer{}
	}
	return Viewer{UserID: u.ID, Username: u.Username, IsAdmin: u.IsAdmin}
}

// Anonymous reports whether nobody is signed in.
func (v Viewer) Anonymous() bool { return v.UserID == 0 }

// Jobs enqueues and cancels evaluation jobs inside a transaction;
// *river.Client[pgx.Tx] is one (an insert-only client is enough).
type Jobs interface {
	InsertTx(ctx context.Context, tx pgx.Tx, args river.JobArgs, opts *river.InsertOpts) (*rivertype.JobInsertResult, error)
	JobCancelTx(ctx context.Context, tx pgx.Tx, jobID int64) (*rivertype.JobRow, error)
}

// Blobs is the blob store (a local directory or S3): Submit makes sure the
// model is (still) stored when its submission commits.
type Blobs = blob.Store

// Options tune a Service; zero values take the defaults.
type Options struct {
	Now func() time.Time // the clock; nil: time.Now
	// BoardTTL is how long a computed board is served again per phase
	// (per process); 0: DefaultBoardTTL; negative: no cache.
	BoardTTL time.Duration
	// InvitationTTL is how long an invitation link works; 0: 7 days.
	InvitationTTL time.Duration
}

// DefaultBoardTTL is the board cache's lifetime by default.
const DefaultBoardTTL = 5 * time.Second

// Service is the domain layer. Safe for concurrent use.
type Service struct {
	st     *store.Store
	jobs   Jobs
	blobs  Blobs
	now    func() time.Time
	ttl    time.Duration
	invTTL time.Duration

	cacheMu sync.Mutex
	cache   map[int64]*boardEntry // by phase id
}

// New returns a Service on the store, the job queue and the blob store.
func New(st *store.Store, jobs Jobs, blobs Blobs, opt Options) *Service {
	s := &Service{st: st, jobs: jobs, blobs: blobs, now: opt.Now, ttl: opt.BoardTTL, invTTL: opt.InvitationTTL}
	if s.now == nil {
		s.now = time.Now
	}
	if s.ttl == 0 {
		s.ttl = DefaultBoardTTL
	}
	if s.invTTL == 0 {
		s.invTTL = 7 * 24 * time.Hour
	}
	return s
}

// Now is the service's clock.
func (s *Service) Now() time.Time { return s.now() }

// Phase states.
const (
	PhaseUpcoming = "upcoming"
	PhaseOpen     = "open"
	PhaseClosed   = "closed"
)

// PhaseInfo is a phase as a viewer sees it.
type PhaseInfo struct {
	store.Phase
	State string // PhaseUpcoming, PhaseOpen, PhaseClosed
	// Window says the window in words, with its zone:
	// "2026-12-01 00:00 UTC – 2027-01-31 23:59 UTC".
	Window string
	// ScoresVisible: the viewer may see scores of this phase (public,
	// revealed, or the viewer organizes the challenge).
	ScoresVisible bool
	// Quota is the viewer's team's usage; nil without a team.
	Quota *QuotaInfo
}

// Open reports whether the phase accepts submissions now.
func (p PhaseInfo) Open() bool { return p.State == PhaseOpen }

// Primary is the dataset new submissions are evaluated on; ok is false
// when the phase has none yet.
func (p PhaseInfo) Primary() (store.Dataset, bool) {
	for _, d := range p.Datasets {
		if d.Primary {
			return d, true
		}
	}
	if len(p.Datasets) > 0 {
		return p.Datasets[0], true
	}
	return store.Dataset{}, false
}

// QuotaInfo is what a team has used of a phase's quotas; limits of 0 are
// unlimited.
type QuotaInfo struct {
	Daily, Total, Concurrent     int // the phase's limits
	UsedToday, UsedTotal, Active int
	// DailyResetAt is the next 00:00 UTC, when the daily count restarts.
	DailyResetAt time.Time
}

// ChallengeInfo is a challenge as a viewer sees it.
type ChallengeInfo struct {
	store.Challenge
	Phases []PhaseInfo
	// Current is the index in Phases of the phase the pages show first:
	// the open one (the last of several), else the next upcoming one, else
	// the last; -1 when there are none.
	Current      int
	Organizer    bool                // the viewer organizes it (or is a site admin)
	Registration *store.Registration // the viewer's; nil when not registered
	Team         *store.Team         // the viewer's team; nil without one
}

// TimeLayout is how the domain writes times in messages.
const TimeLayout = "2006-01-02 15:04 MST"

// FormatTime writes t in UTC at minute precision with its zone.
func FormatTime(t time.Time) string { return t.UTC().Format(TimeLayout) }

// WindowText says a phase's window in words, in UTC.
func WindowText(p store.Phase) string {
	switch {
	case p.OpensAt == nil && p.ClosesAt == nil:
		return "always open"
	case p.OpensAt == nil:
		return "until " + FormatTime(*p.ClosesAt)
	case p.ClosesAt == nil:
		return "from " + FormatTime(*p.OpensAt)
	}
	return FormatTime(*p.OpensAt) + " – " + FormatTime(*p.ClosesAt)
}

func phaseState(p store.Phase, now time.Time) string {
	switch {
	case p.OpensAt != nil && now.Before(*p.OpensAt):
		return PhaseUpcoming
	case p.ClosesAt != nil && !now.Before(*p.ClosesAt):
		return PhaseClosed
	}
	return PhaseOpen
}

// revealed reports whether everyone may see the phase's scores.
func revealed(p store.Phase, now time.Time) bool {
	switch p.Visibility {
	case store.VisibilityPublic:
		return true
	case store.VisibilityHidden:
		return p.RevealedAt != nil && !now.Before(*p.RevealedAt)
	}
	return false
}

// Challenges lists every challenge, newest first.
func (s *Service) Challenges(ctx context.Context, v Viewer) ([]store.Challenge, error) {
	return s.st.ListChallenges(ctx)
}

// organizer reports whether v organizes the challenge.
func (s *Service) organizer(ctx context.Context, v Viewer, challengeID int64) (bool, error) {
	if v.Anonymous() {
		return false, nil
	}
	if v.IsAdmin {
		return true, nil
	}
	return s.st.IsOrganizer(ctx, challengeID, v.UserID)
}

// Challenge returns a challenge with its phases, the viewer's registration,
// team and quota usage.
func (s *Service) Challenge(ctx context.Context, v Viewer, slug string) (ChallengeInfo, error) {
	c, err := s.st.ChallengeBySlug(ctx, slug)
	if errors.Is(err, store.ErrNotFound) {
		return ChallengeInfo{}, notFound(err)
	} else if err != nil {
		return ChallengeInfo{}, err
	}
	return s.challengeInfo(ctx, v, c)
}

func (s *Service) challengeInfo(ctx context.Context, v Viewer, c store.Challenge) (ChallengeInfo, error) {
	now := s.now()
	ci := ChallengeInfo{Challenge: c, Current: -1}
	var err error
	if ci.Organizer, err = s.organizer(ctx, v, c.ID); err != nil {
		return ci, err
	}
	if !v.Anonymous() {
		reg, err := s.st.RegistrationOf(ctx, c.ID, v.UserID)
		switch {
		case err == nil:
			ci.Registration = &reg
			if reg.TeamID != nil {
				t, err := s.st.TeamByID(ctx, *reg.TeamID)
				if err != nil {
					return ci, err
				}
				ci.Team = &t
			}
		case !errors.Is(err, store.ErrNotFound):
			return ci, err
		}
	}
	phases, err := s.st.PhasesOfChallenge(ctx, c.ID)
	if err != nil {
		return ci, err
	}
	for _, p := range phases {
		pi := PhaseInfo{Phase: p, State: phaseState(p, now), Window: WindowText(p)}
		pi.ScoresVisible = ci.Organizer || revealed(p, now)
		if ci.Team != nil {
			u, err := s.st.QuotaUsage(ctx, ci.Team.ID, p.ID, now)
			if err != nil {
				return ci, err
			}
			pi.Quota = &QuotaInfo{Daily: p.QuotaDaily, Total: p.QuotaTotal, Concurrent: p.QuotaConcurrent,
				UsedToday: u.Today, UsedTotal: u.Total, Active: u.Active, DailyResetAt: u.DayStart.Add(24 * time.Hour)}
		}
		ci.Phases = append(ci.Phases, pi)
	}
	ci.Current = currentPhase(ci.Phases)
	return ci, nil
}

func currentPhase(ps []PhaseInfo) int {
	cur := -1
	for i, p := range ps {
		if p.State == PhaseOpen {
			cur = i
		}
	}
	if cur >= 0 {
		return cur
	}
	for i, p := range ps {
		if p.State == PhaseUpcoming {
			return i
		}
	}
	return len(ps) - 1
}

// Phase returns the challenge and the named phase ("" for the current
// one); KindNotFound for an unknown name.
func (s *Service) Phase(ctx context.Context, v Viewer, slug, phase string) (ChallengeInfo, PhaseInfo, error) {
	ci, err := s.Challenge(ctx, v, slug)
	if err != nil {
		return ci, PhaseInfo{}, err
	}
	p, err := ci.PhaseNamed(phase)
	return ci, p, err
}

// PhaseNamed returns the named phase ("" for the current one).
func (ci ChallengeInfo) PhaseNamed(name string) (PhaseInfo, error) {
	if name == "" {
		if ci.Current < 0 {
			return PhaseInfo{}, newErr(KindNotFound, "This challenge has no phase yet.")
		}
		return ci.Phases[ci.Current], nil
	}
	for _, p := range ci.Phases {
		if p.Name == name {
			return p, nil
		}
	}
	return PhaseInfo{}, newErr(KindNotFound, "This challenge has no phase named %q.", name)
}

// ParseRules decodes a challenge's rules, falling back to the AIM 2020
// preset for an empty value.
func ParseRules(raw json.RawMessage) (scoring.Rules, error) {
	if len(raw) == 0 || string(raw) == "null" || string(raw) == "{}" {
		r, _ := scoring.Preset("aim2020")
		return r, nil
	}
	var r scoring.Rules
	if err := json.Unmarshal(raw, &r); err != nil {
		return r, fmt.Errorf("challenge rules: %w", err)
	}
	return r, r.Validate()
}

var metricNames = map[string]string{
	scoring.MetricPSNRVal: "PSNR (validation)", scoring.MetricPSNRTest: "PSNR (test)",
	scoring.MetricRuntime: "runtime", scoring.MetricRuntimeVal: "runtime (validation)",
	scoring.MetricRuntimeTest: "runtime (test)", scoring.MetricParams: "parameters",
	scoring.MetricFLOPs: "FLOPs", scoring.MetricActivations: "activations",
	scoring.MetricMemory: "memory", scoring.MetricConv: "conv layers",
}

// MetricName names a rules metric for pages.
func MetricName(m string) string {
	if n, ok := metricNames[m]; ok {
		return n
	}
	return m
}

// Profile is the subset of onnxmodel.Profile ranking and pages read;
// decoding only these fields keeps working if the profile gains fields.
type Profile struct {
	Params      *float64 `json:"params"`
	ConvMACs    *float64 `json:"conv_macs"`
	FlopsKAIR   *float64 `json:"flops_kair"`
	FlopsFvcore *float64 `json:"flops_fvcore"`
	Activations *float64 `json:"activations"`
	ConvLayers  *float64 `json:"conv_layers"`
	Nodes       *float64 `json:"nodes"`
	InputShape  []int64  `json:"input_shape"`
}

// ParseProfile decodes a stored profile; a malformed one is empty.
func ParseProfile(raw json.RawMessage) Profile {
	var p Profile
	if len(raw) > 0 {
		json.Unmarshal(raw, &p) //nolint:errcheck // a malformed profile shows as empty
	}
	return p
}

// checkText validates a free-text field: valid UTF-8, no control
// characters but newlines and tabs (when multiline), at most max runes.
func checkText(what, s string, max int, multiline bool) (string, error) {
	s = strings.TrimSpace(s)
	if !utf8.ValidString(s) {
		return "", newErr(KindInvalid, "The %s is not valid UTF-8 text.", what)
	}
	if n := utf8.RuneCountInString(s); n > max {
		return "", newErr(KindInvalid, "The %s is %d characters long; at most %d are allowed.", what, n, max)
	}
	for _, r := range s {
		if unicode.IsControl(r) && !(multiline && (r == '\n' || r == '\r' || r == '\t')) {
			return "", newErr(KindInvalid, "The %s contains a control character; use plain text.", what)
		}
	}
	return s, nil
}
