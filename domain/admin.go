package domain

// The organizers' side: templates, creating and editing challenges and
// phases, organizer rights, and the audit log every organizer action
// writes in the same transaction as its change. Organizer rights are per
// challenge; site admins have them everywhere. Anything a viewer does not
// organize is reported as not found, like other teams' submissions.

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/srarena/srarena/jobs"
	"github.com/srarena/srarena/scoring"
	"github.com/srarena/srarena/store"
)

// TemplatePhase is a phase a template creates; Days is its default length.
type TemplatePhase struct {
	Name, Title                             string
	Days                                    int
	QuotaDaily, QuotaTotal, QuotaConcurrent int
	EntryRule, Visibility                   string
	// Fair runtimes (issue #10 §4); empty keeps the phase's current value.
	// RuntimeReferenceMS nil: the newest baseline's measured runtime.
	RuntimeBasis       string
	RuntimeReferenceMS *float64
	TimingProtocol     string
}

// Template pre-fills a new challenge from one of scoring's presets.
type Template struct {
	Name   string // the preset: aim2020, ntire2022 … ntire2026
	Title  string
	Rules  scoring.Rules
	Phases []TemplatePhase
}

var templateTitles = map[string]string{
	"aim2020":   "AIM 2020 efficient SR: keep MSRResNet's PSNR, rank by runtime",
	"ntire2022": "NTIRE 2022 ESR: runtime track, model complexity and overall rank sums",
	"ntire2023": "NTIRE 2023 ESR: runtime track, rank sums",
	"ntire2024": "NTIRE 2024 ESR: PSNR gates, exponential score of runtime, FLOPs, params",
	"ntire2025": "NTIRE 2025 ESR: PSNR gates, exponential score",
	"ntire2026": "NTIRE 2026 ESR: PSNR gates, exponential score",
}

// Templates lists the challenge templates, one per scoring preset. Each
// has the two phases of those challenges: development on the validation
// set with public scores and a chosen entry, then a final test whose
// scores stay hidden until the organizers reveal them.
func Templates() []Template {
	var out []Template
	for _, name := range scoring.PresetNames() {
		r, _ := scoring.Preset(name)
		title := templateTitles[name]
		if title == "" {
			title = name
		}
		out = append(out, Template{Name: name, Title: title, Rules: r, Phases: []TemplatePhase{
			{Name: "development", Title: "Development", Days: 60, QuotaDaily: 20, QuotaConcurrent: 3,
				EntryRule: store.EntrySelected, Visibility: store.VisibilityPublic},
			{Name: "final", Title: "Final test", Days: 7, QuotaDaily: 3, QuotaTotal: 10, QuotaConcurrent: 1,
				EntryRule: store.EntryLast, Visibility: store.VisibilityHidden},
		}})
	}
	return out
}

// TemplateNamed returns a template; ok is false for an unknown name.
func TemplateNamed(name string) (Template, bool) {
	for _, t := range Templates() {
		if t.Name == name {
			return t, true
		}
	}
	return Template{}, false
}

// ChallengeForm is what an organizer sets on a challenge. Rules, when
// not empty, replaces the template's rules (JSON of a scoring.Rules).
type ChallengeForm struct {
	Title, Description, Terms string
	Scale                     int
	MaxUploadMB               int
	TeamSizeLimit             int
	Registration              string // open, approval
	Queue                     string // eval_cpu, eval_gpu
	Rules                     string
}

// NewChallengeForm creates a challenge from a template. PhaseWindows may
// give a phase's window by phase name; without one, the first phase opens
// now and each next one opens when the one before closes.
type NewChallengeForm struct {
	Template string
	Slug     string
	ChallengeForm
	PhaseWindows map[string]Window
}

// Window is a phase's window; nil ends are open.
type Window struct{ Opens, Closes *time.Time }

var slugRE = regexp.MustCompile(`^[a-z0-9][a-z0-9-]{1,62}$`)

// MaxUploadMBLimit caps an organizer's upload cap (1 GiB).
const MaxUploadMBLimit = 1024

func (f ChallengeForm) settings(fallback json.RawMessage) (store.ChallengeSettings, error) {
	var c store.ChallengeSettings
	var err error
	if c.Title, err = checkText("title", f.Title, 120, false); err != nil {
		return c, err
	}
	if c.Title == "" {
		return c, newErr(KindInvalid, "Give the challenge a title.")
	}
	if c.Description, err = checkText("description", f.Description, 20000, true); err != nil {
		return c, err
	}
	if c.Terms, err = checkText("terms", f.Terms, 20000, true); err != nil {
		return c, err
	}
	if f.Scale < 2 || f.Scale > 8 {
		return c, newErr(KindInvalid, "The scale must be between 2 and 8; %d is not.", f.Scale)
	}
	c.Scale = f.Scale
	if f.MaxUploadMB < 1 || f.MaxUploadMB > MaxUploadMBLimit {
		return c, newErr(KindInvalid, "The upload cap must be between 1 and %d MB.", MaxUploadMBLimit)
	}
	c.MaxUploadBytes = int64(f.MaxUploadMB) << 20
	if f.TeamSizeLimit < 1 || f.TeamSizeLimit > 100 {
		return c, newErr(KindInvalid, "The team size limit must be between 1 and 100.")
	}
	c.TeamSizeLimit = f.TeamSizeLimit
	switch f.Registration {
	case "open", "approval":
		c.Registration = f.Registration
	default:
		return c, newErr(KindInvalid, "Registration is either open or needs approval.")
	}
	switch f.Queue {
	case jobs.QueueCPU, jobs.QueueGPU:
		c.Queue = f.Queue
	default:
		return c, newErr(KindInvalid, "The hardware class is %s or %s.", jobs.QueueCPU, jobs.QueueGPU)
	}
	raw := fallback
	if strings.TrimSpace(f.Rules) != "" {
		raw = json.RawMessage(f.Rules)
	}
	r, err := ParseRules(raw)
	if err != nil {
		return c, &Error{Kind: KindInvalid, Msg: "The rules are not a valid rule set: " + err.Error(), Err: err}
	}
	if c.Rules, err = json.Marshal(r); err != nil {
		return c, err
	}
	return c, nil
}

// audit writes one organizer action in tx.
func (s *Service) audit(ctx context.Context, tx pgx.Tx, v Viewer, challengeID int64, action, target string, before, after any, reason string) error {
	e := store.AuditEvent{Actor: v.Username, Action: action, Target: target, Reason: reason, At: s.now()}
	if challengeID != 0 {
		e.ChallengeID = &challengeID
	}
	if v.UserID != 0 {
		id := v.UserID
		e.ActorID = &id
	}
	var err error
	if before != nil {
		if e.Before, err = json.Marshal(before); err != nil {
			return err
		}
	}
	if after != nil {
		if e.After, err = json.Marshal(after); err != nil {
			return err
		}
	}
	return store.InsertAudit(ctx, tx, e)
}

// organizes returns the challenge if v organizes it; KindNotFound
// otherwise (anonymous viewers get KindUnauthenticated), so a challenge's
// admin pages reveal nothing to others.
func (s *Service) organizes(ctx context.Context, v Viewer, slug string) (store.Challenge, error) {
	if err := s.requireUser(v); err != nil {
		return store.Challenge{}, err
	}
	c, err := s.st.ChallengeBySlug(ctx, slug)
	if errors.Is(err, store.ErrNotFound) {
		return c, notFound(err)
	} else if err != nil {
		return c, err
	}
	ok, err := s.organizer(ctx, v, c.ID)
	if err != nil {
		return c, err
	}
	if !ok {
		return c, notFound(nil)
	}
	return c, nil
}

// OrganizedChallenges lists the challenges v organizes (every one for a
// site admin). KindNotFound for a viewer who organizes none: the panel is
// not there for them.
func (s *Service) OrganizedChallenges(ctx context.Context, v Viewer) ([]store.Challenge, error) {
	if err := s.requireUser(v); err != nil {
		return nil, err
	}
	if v.IsAdmin {
		return s.st.ListChallenges(ctx)
	}
	cs, err := s.st.OrganizedChallenges(ctx, v.UserID)
	if err != nil {
		return nil, err
	}
	if len(cs) == 0 {
		return nil, notFound(nil)
	}
	return cs, nil
}

func (s *Service) requireAdmin(v Viewer) error {
	if err := s.requireUser(v); err != nil {
		return err
	}
	if !v.IsAdmin {
		return notFound(nil)
	}
	return nil
}

// CreateChallenge creates a challenge from a template: its rules and
// phases, the creator as its first organizer, and the audit event, in one
// transaction. Site admins only.
func (s *Service) CreateChallenge(ctx context.Context, v Viewer, f NewChallengeForm) (string, error) {
	if err := s.requireAdmin(v); err != nil {
		return "", err
	}
	t, ok := TemplateNamed(f.Template)
	if !ok {
		return "", newErr(KindInvalid, "Choose a template: %s.", strings.Join(scoring.PresetNames(), ", "))
	}
	if !slugRE.MatchString(f.Slug) {
		return "", newErr(KindInvalid, "The slug is 2–63 lowercase letters, digits and dashes, starting with a letter or digit.")
	}
	rules, err := json.Marshal(t.Rules)
	if err != nil {
		return "", err
	}
	c, err := f.settings(rules)
	if err != nil {
		return "", err
	}
	phases, err := templatePhases(t.Phases, f.PhaseWindows, s.now())
	if err != nil {
		return "", err
	}
	err = s.st.InTx(ctx, func(tx pgx.Tx) error {
		id, err := store.CreateChallenge(ctx, tx, store.NewChallenge{Slug: f.Slug, Title: c.Title, Description: c.Description,
			Scale: c.Scale, Rules: c.Rules, MaxUploadBytes: c.MaxUploadBytes, DailyQuota: phases[0].QuotaDaily, Queue: c.Queue,
			Terms: c.Terms, TeamSizeLimit: c.TeamSizeLimit, Registration: c.Registration, Phases: phases})
		if err != nil {
			return err
		}
		if err := store.SetChallengeTemplate(ctx, tx, id, t.Name); err != nil {
			return err
		}
		if err := store.AddOrganizerTx(ctx, tx, id, v.UserID); err != nil {
			return err
		}
		return s.audit(ctx, tx, v, id, "challenge.create", "challenge "+f.Slug, nil,
			map[string]any{"template": t.Name, "settings": c, "phases": phases}, "")
	})
	if errors.Is(err, store.ErrConflict) {
		return "", &Error{Kind: KindConflict, Msg: fmt.Sprintf("The slug %q is taken; choose another.", f.Slug), Err: err}
	}
	return f.Slug, err
}

// templatePhases lays out a template's phases in time: given windows are
// kept; a phase without a start opens when the one before closes (the
// first: now), one without an end lasts its template's days.
func templatePhases(tps []TemplatePhase, windows map[string]Window, now time.Time) ([]store.NewPhase, error) {
	next := now.UTC().Truncate(time.Minute)
	var out []store.NewPhase
	for _, tp := range tps {
		w := windows[tp.Name]
		opens, closes := w.Opens, w.Closes
		if opens == nil {
			o := next
			opens = &o
		}
		if closes == nil {
			c := opens.Add(time.Duration(tp.Days) * 24 * time.Hour)
			closes = &c
		}
		if !opens.Before(*closes) {
			return nil, newErr(KindInvalid, "The %s phase must open before it closes (%s, %s).", tp.Name, FormatTime(*opens), FormatTime(*closes))
		}
		next = closes.UTC().Truncate(time.Minute)
		out = append(out, store.NewPhase{Name: tp.Name, Title: tp.Title, OpensAt: opens, ClosesAt: closes,
			QuotaDaily: tp.QuotaDaily, QuotaTotal: tp.QuotaTotal, QuotaConcurrent: tp.QuotaConcurrent,
			EntryRule: tp.EntryRule, Visibility: tp.Visibility})
	}
	return out, nil
}

// AdminChallenge is a challenge as its organizers see it in the panel.
type AdminChallenge struct {
	ChallengeInfo
	Organizers    []string
	Audit         []store.AuditEvent
	Teams         []store.Team
	Registrations []store.PendingRegistration
}

// AdminChallengeOf returns a challenge with what the panel shows: its
// phases, organizers, teams, registrations and the newest audit events.
func (s *Service) AdminChallengeOf(ctx context.Context, v Viewer, slug string) (AdminChallenge, error) {
	c, err := s.organizes(ctx, v, slug)
	if err != nil {
		return AdminChallenge{}, err
	}
	var a AdminChallenge
	if a.ChallengeInfo, err = s.challengeInfo(ctx, v, c); err != nil {
		return a, err
	}
	if a.Organizers, err = s.st.Organizers(ctx, c.ID); err != nil {
		return a, err
	}
	if a.Audit, err = s.st.AuditEvents(ctx, c.ID, 200); err != nil {
		return a, err
	}
	if a.Teams, err = s.st.TeamsOfChallenge(ctx, c.ID); err != nil {
		return a, err
	}
	a.Registrations, err = s.st.RegistrationsOf(ctx, c.ID)
	return a, err
}

// UpdateChallenge changes a challenge's settings, logging before and after.
func (s *Service) UpdateChallenge(ctx context.Context, v Viewer, slug string, f ChallengeForm) error {
	c, err := s.organizes(ctx, v, slug)
	if err != nil {
		return err
	}
	next, err := f.settings(c.Rules)
	if err != nil {
		return err
	}
	err = s.st.InTx(ctx, func(tx pgx.Tx) error {
		before, err := store.ChallengeSettingsForUpdate(ctx, tx, c.ID)
		if err != nil {
			return err
		}
		if err := store.UpdateChallenge(ctx, tx, c.ID, next); err != nil {
			return err
		}
		return s.audit(ctx, tx, v, c.ID, "challenge.update", "challenge "+slug, before, next, "")
	})
	s.dropBoards()
	return err
}

// PhaseForm is what an organizer sets on a phase.
type PhaseForm struct {
	Title                                   string
	Opens, Closes                           *time.Time
	QuotaDaily, QuotaTotal, QuotaConcurrent int
	EntryRule, Visibility                   string
	// Fair runtimes (issue #10 §4); empty keeps the phase's current value.
	// RuntimeReferenceMS nil: the newest baseline's measured runtime.
	RuntimeBasis       string
	RuntimeReferenceMS *float64
	TimingProtocol     string
	// Threads: ORT intra-op threads of the phase's evaluations; nil: the
	// worker's own setting. Always the form's (the panel sends it).
	Threads *int
}

// UpdatePhase changes a phase's window, quotas, entry rule and visibility.
func (s *Service) UpdatePhase(ctx context.Context, v Viewer, slug, phase string, f PhaseForm) error {
	c, err := s.organizes(ctx, v, slug)
	if err != nil {
		return err
	}
	title, err := checkText("phase title", f.Title, 100, false)
	if err != nil {
		return err
	}
	if f.QuotaDaily < 0 || f.QuotaTotal < 0 || f.QuotaConcurrent < 0 {
		return newErr(KindInvalid, "Quotas are 0 (unlimited) or more.")
	}
	switch f.EntryRule {
	case store.EntryBest, store.EntryLast, store.EntrySelected:
	default:
		return newErr(KindInvalid, "The entry rule is best, last or selected.")
	}
	switch f.Visibility {
	case store.VisibilityPublic, store.VisibilityHidden, store.VisibilityOrganizers:
	default:
		return newErr(KindInvalid, "The visibility is public, hidden (until revealed) or organizers.")
	}
	opens, closes := minutePtr(f.Opens), minutePtr(f.Closes)
	if opens != nil && closes != nil && !opens.Before(*closes) {
		return newErr(KindInvalid, "The phase must open before it closes.")
	}
	if err := checkRuntimeSettings(f); err != nil {
		return err
	}
	err = s.st.InTx(ctx, func(tx pgx.Tx) error {
		id, before, err := store.PhaseSettingsForUpdate(ctx, tx, c.ID, phase)
		if errors.Is(err, store.ErrNotFound) {
			return newErr(KindNotFound, "This challenge has no phase named %q.", phase)
		} else if err != nil {
			return err
		}
		next := store.PhaseSettings{Title: title, OpensAt: opens, ClosesAt: closes, QuotaDaily: f.QuotaDaily,
			QuotaTotal: f.QuotaTotal, QuotaConcurrent: f.QuotaConcurrent, EntryRule: f.EntryRule, Visibility: f.Visibility,
			RevealedAt: before.RevealedAt}
		next.RuntimeBasis, next.RuntimeReferenceMS, next.TimingProtocol = runtimeSettings(f, before)
		next.Threads = f.Threads
		if err := store.UpdatePhase(ctx, tx, id, next); err != nil {
			return err
		}
		return s.audit(ctx, tx, v, c.ID, "phase.update", "phase "+phase, before, next, "")
	})
	s.dropBoards()
	return err
}

func minutePtr(t *time.Time) *time.Time {
	if t == nil {
		return nil
	}
	m := t.UTC().Truncate(time.Minute)
	return &m
}

// Reveal makes a hidden phase's scores public from at on (now when at is
// zero). A phase whose visibility is "organizers" becomes "hidden" with
// that reveal time.
func (s *Service) Reveal(ctx context.Context, v Viewer, slug, phase string, at time.Time) error {
	c, err := s.organizes(ctx, v, slug)
	if err != nil {
		return err
	}
	if at.IsZero() {
		at = s.now()
	}
	at = at.UTC().Truncate(time.Minute)
	err = s.st.InTx(ctx, func(tx pgx.Tx) error {
		id, before, err := store.PhaseSettingsForUpdate(ctx, tx, c.ID, phase)
		if errors.Is(err, store.ErrNotFound) {
			return newErr(KindNotFound, "This challenge has no phase named %q.", phase)
		} else if err != nil {
			return err
		}
		if before.Visibility == store.VisibilityPublic {
			return newErr(KindConflict, "The %s phase's scores are public already.", phase)
		}
		next := before
		next.Visibility, next.RevealedAt = store.VisibilityHidden, &at
		if err := store.UpdatePhase(ctx, tx, id, next); err != nil {
			return err
		}
		return s.audit(ctx, tx, v, c.ID, "phase.reveal", "phase "+phase,
			map[string]any{"visibility": before.Visibility, "revealed_at": before.RevealedAt},
			map[string]any{"visibility": next.Visibility, "revealed_at": next.RevealedAt}, "")
	})
	s.dropBoards()
	return err
}

// GrantOrganizer gives a user organizer rights on a challenge. Site admins
// only: organizers cannot widen their own circle.
func (s *Service) GrantOrganizer(ctx context.Context, v Viewer, slug, username string) error {
	if err := s.requireAdmin(v); err != nil {
		return err
	}
	c, err := s.organizes(ctx, v, slug)
	if err != nil {
		return err
	}
	u, err := s.st.UserByUsername(ctx, strings.TrimSpace(username))
	if errors.Is(err, store.ErrNotFound) {
		return newErr(KindInvalid, "There is no account named %q.", username)
	} else if err != nil {
		return err
	}
	err = s.st.InTx(ctx, func(tx pgx.Tx) error {
		if err := store.AddOrganizerTx(ctx, tx, c.ID, u.ID); err != nil {
			return err
		}
		return s.audit(ctx, tx, v, c.ID, "organizer.grant", "user "+u.Username, nil, map[string]any{"organizer": u.Username}, "")
	})
	if errors.Is(err, store.ErrConflict) {
		return newErr(KindConflict, "%s organizes this challenge already.", u.Username)
	}
	return err
}
