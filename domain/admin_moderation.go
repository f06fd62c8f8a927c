package domain

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/riverqueue/river"

	"github.com/srarena/srarena/jobs"
	"github.com/srarena/srarena/scoring"
	"github.com/srarena/srarena/store"
)

// SubmissionQuery filters the organizers' submission table by names, as a
// form or query string gives them.
type SubmissionQuery struct {
	Phase  string // phase name; "" for all
	TeamID int64
	Status string
	Search string
}

// AdminSubmissions lists a challenge's submissions for its organizers.
func (s *Service) AdminSubmissions(ctx context.Context, v Viewer, slug string, q SubmissionQuery) (AdminChallenge, []store.Scored, error) {
	a, err := s.AdminChallengeOf(ctx, v, slug)
	if err != nil {
		return a, nil, err
	}
	f := store.SubmissionFilter{TeamID: q.TeamID, Status: q.Status, Search: strings.TrimSpace(q.Search)}
	if q.Phase != "" {
		p, err := a.PhaseNamed(q.Phase)
		if err != nil {
			return a, nil, err
		}
		f.PhaseID = p.ID
	}
	switch q.Status {
	case "", store.StatusQueued, store.StatusRunning, store.StatusFinished, store.StatusFailed, store.StatusCancelled:
	default:
		return a, nil, newErr(KindInvalid, "Unknown status %q.", q.Status)
	}
	subs, err := s.st.ChallengeSubmissions(ctx, a.ID, f)
	return a, subs, err
}

// challengeOfSubmission returns the challenge of a submission v organizes;
// KindNotFound when there is none or v does not organize it.
func (s *Service) challengeOfSubmission(ctx context.Context, v Viewer, id int64) (store.Challenge, error) {
	if err := s.requireUser(v); err != nil {
		return store.Challenge{}, err
	}
	sub, err := s.st.SubmissionByID(ctx, id)
	if errors.Is(err, store.ErrNotFound) {
		return store.Challenge{}, notFound(err)
	} else if err != nil {
		return store.Challenge{}, err
	}
	c, err := s.st.ChallengeByID(ctx, sub.ChallengeID)
	if err != nil {
		return c, err
	}
	return s.organizes(ctx, v, c.Slug)
}

// ChallengeSlugOfSubmission returns the slug of the challenge of a
// submission v organizes (KindNotFound otherwise): pages redirect there.
func (s *Service) ChallengeSlugOfSubmission(ctx context.Context, v Viewer, id int64) (string, error) {
	c, err := s.challengeOfSubmission(ctx, v, id)
	return c.Slug, err
}

func queueOf(c store.Challenge) string {
	if c.Queue == jobs.QueueGPU {
		return jobs.QueueGPU
	}
	return jobs.QueueCPU
}

// Rerun queues an ended submission (finished, failed or cancelled) for a
// new evaluation. Its old result counts until the new one replaces it.
func (s *Service) Rerun(ctx context.Context, v Viewer, id int64) error {
	c, err := s.challengeOfSubmission(ctx, v, id)
	if err != nil {
		return err
	}
	err = s.st.InTx(ctx, func(tx pgx.Tx) error { return s.rerunTx(ctx, tx, v, c, id, true) })
	s.dropBoards()
	return err
}

func (s *Service) rerunTx(ctx context.Context, tx pgx.Tx, v Viewer, c store.Challenge, id int64, strict bool) error {
	status, _, _, err := store.SubmissionForUpdate(ctx, tx, c.ID, id)
	if err != nil {
		return notFound(err)
	}
	if status == store.StatusQueued || status == store.StatusRunning {
		if strict {
			return newErr(KindConflict, "Submission #%d is %s: it can be re-run once it has ended.", id, status)
		}
		return nil
	}
	// The run being replaced goes to the history first (admin_content.go):
	// a re-run never overwrites a result silently.
	run, err := s.archiveRun(ctx, tx, v, id)
	if err != nil {
		return err
	}
	if err := store.RequeueSubmission(ctx, tx, id, v.Username); err != nil {
		return err
	}
	if _, err := s.jobs.InsertTx(ctx, tx, jobs.Evaluate{SubmissionID: id}, &river.InsertOpts{Queue: queueOf(c)}); err != nil {
		return fmt.Errorf("enqueue re-run: %w", err)
	}
	return s.audit(ctx, tx, v, c.ID, "submission.rerun", "submission "+strconv.FormatInt(id, 10),
		map[string]any{"status": status, "archived_run": run}, map[string]any{"status": store.StatusQueued, "run": run + 1}, "")
}

// RerunMany queues every ended submission of a phase again: only the
// failed ones when failedOnly, else all of them (after a dataset fix). It
// returns how many were queued. One transaction: all or none.
func (s *Service) RerunMany(ctx context.Context, v Viewer, slug, phase string, failedOnly bool) (int, error) {
	c, err := s.organizes(ctx, v, slug)
	if err != nil {
		return 0, err
	}
	ci, err := s.challengeInfo(ctx, v, c)
	if err != nil {
		return 0, err
	}
	p, err := ci.PhaseNamed(phase)
	if err != nil {
		return 0, err
	}
	f := store.SubmissionFilter{PhaseID: p.ID, Limit: 100000}
	if failedOnly {
		f.Status = store.StatusFailed
	}
	subs, err := s.st.ChallengeSubmissions(ctx, c.ID, f)
	if err != nil {
		return 0, err
	}
	n := 0
	err = s.st.InTx(ctx, func(tx pgx.Tx) error {
		for _, sub := range subs {
			if sub.Status == store.StatusQueued || sub.Status == store.StatusRunning {
				continue
			}
			if err := s.rerunTx(ctx, tx, v, c, sub.ID, false); err != nil {
				return err
			}
			n++
		}
		what := "all"
		if failedOnly {
			what = "failed"
		}
		return s.audit(ctx, tx, v, c.ID, "phase.rerun", "phase "+phase, nil, map[string]any{"which": what, "queued": n}, "")
	})
	s.dropBoards()
	return n, err
}

// CancelAsOrganizer cancels a queued or running submission of a challenge
// v organizes, with an audit event.
func (s *Service) CancelAsOrganizer(ctx context.Context, v Viewer, id int64) error {
	c, err := s.challengeOfSubmission(ctx, v, id)
	if err != nil {
		return err
	}
	if err := s.Cancel(ctx, v, id); err != nil {
		return err
	}
	return s.st.InTx(ctx, func(tx pgx.Tx) error {
		return s.audit(ctx, tx, v, c.ID, "submission.cancel", "submission "+strconv.FormatInt(id, 10), nil,
			map[string]any{"status": store.StatusCancelled}, "")
	})
}

// HideSubmission hides a submission from the board with a reason its team
// sees on the submission's page; an empty reason shows it again.
func (s *Service) HideSubmission(ctx context.Context, v Viewer, id int64, reason string) error {
	c, err := s.challengeOfSubmission(ctx, v, id)
	if err != nil {
		return err
	}
	if reason, err = checkText("reason", reason, 500, false); err != nil {
		return err
	}
	err = s.st.InTx(ctx, func(tx pgx.Tx) error {
		_, old, _, err := store.SubmissionForUpdate(ctx, tx, c.ID, id)
		if err != nil {
			return err
		}
		if err := store.SetHidden(ctx, tx, id, reason); err != nil {
			return err
		}
		action := "submission.hide"
		if reason == "" {
			action = "submission.unhide"
		}
		return s.audit(ctx, tx, v, c.ID, action, "submission "+strconv.FormatInt(id, 10),
			map[string]any{"hidden_reason": old}, map[string]any{"hidden_reason": reason}, reason)
	})
	s.dropBoards()
	return err
}

// Disqualify disqualifies a team with a reason its members see; it can no
// longer submit and leaves every board. An empty reason lifts it.
func (s *Service) Disqualify(ctx context.Context, v Viewer, slug string, teamID int64, reason string) error {
	c, err := s.organizes(ctx, v, slug)
	if err != nil {
		return err
	}
	if reason, err = checkText("reason", reason, 500, false); err != nil {
		return err
	}
	err = s.st.InTx(ctx, func(tx pgx.Tx) error {
		t, err := store.TeamForUpdate(ctx, tx, c.ID, teamID)
		if err != nil {
			return notFound(err)
		}
		if err := store.SetDisqualified(ctx, tx, teamID, reason); err != nil {
			return err
		}
		action := "team.disqualify"
		if reason == "" {
			action = "team.requalify"
		}
		return s.audit(ctx, tx, v, c.ID, action, "team "+t.Name,
			map[string]any{"disqualified_reason": t.DisqualifiedReason}, map[string]any{"disqualified_reason": reason}, reason)
	})
	s.dropBoards()
	return err
}

// DecideRegistration approves or rejects a user's registration.
func (s *Service) DecideRegistration(ctx context.Context, v Viewer, slug string, userID int64, approve bool) error {
	c, err := s.organizes(ctx, v, slug)
	if err != nil {
		return err
	}
	state := store.RegistrationRejected
	if approve {
		state = store.RegistrationApproved
	}
	return s.st.InTx(ctx, func(tx pgx.Tx) error {
		old, err := store.DecideRegistration(ctx, tx, c.ID, userID, state)
		if err != nil {
			return notFound(err)
		}
		return s.audit(ctx, tx, v, c.ID, "registration."+map[bool]string{true: "approve", false: "reject"}[approve],
			"user "+strconv.FormatInt(userID, 10), map[string]any{"state": old}, map[string]any{"state": state}, "")
	})
}

// ExportColumns are the leading columns of a phase's results export; the
// metric columns are those `srarena rank` reads, the rank columns those it
// writes.
var ExportColumns = []string{"team", "method", "submission_id", "baseline", "submitted_at",
	"psnr_val", "psnr_test", "ssim", "ave_time_ms", "params_m", "flops_g", "acts_m", "mem_mb", "conv", "device",
	// override marks values organizers set by hand (admin_content.go):
	// "overridden by organizers: metric set to value: reason".
	"override"}

func fmtOpt(f *float64, div float64) string {
	if f == nil {
		return ""
	}
	return strconv.FormatFloat(*f/div, 'f', -1, 64)
}

// ExportPhase returns a phase's results as a results table ranked with the
// challenge's rules by scoring.RankResults, the code `srarena rank` runs:
// ranking the exported metric columns again with the same rules gives the
// same ranks and scores. One row per board entry (the phase's entry rule
// applied; hidden submissions and disqualified teams left out), baselines
// marked. Organizers only.
func (s *Service) ExportPhase(ctx context.Context, v Viewer, slug, phase string) (*scoring.Results, scoring.Rules, error) {
	c, err := s.organizes(ctx, v, slug)
	if err != nil {
		return nil, scoring.Rules{}, err
	}
	ci, err := s.challengeInfo(ctx, v, c)
	if err != nil {
		return nil, scoring.Rules{}, err
	}
	p, err := ci.PhaseNamed(phase)
	if err != nil {
		return nil, scoring.Rules{}, err
	}
	return s.exportRanked(ctx, c, p, true)
}

// exportRanked is ExportPhase for a challenge and phase already
// authorized; withFinal applies the phase's final re-timed runtimes.
func (s *Service) exportRanked(ctx context.Context, c store.Challenge, p PhaseInfo, withFinal bool) (*scoring.Results, scoring.Rules, error) {
	rules, err := ParseRules(c.Rules)
	if err != nil {
		return nil, rules, &Error{Kind: KindConflict, Msg: "The challenge's rules are invalid: " + err.Error(), Err: err}
	}
	tab := &scoring.Results{Header: append([]string(nil), ExportColumns...)}
	ds, ok := p.Primary()
	if !ok {
		out, _, err := scoring.RankResults(tab, rules, nil)
		return out, rules, err
	}
	scored, err := s.st.FinishedWithResults(ctx, p.ID, ds.ID)
	if err != nil {
		return nil, rules, err
	}
	if withFinal {
		if _, err := s.applyFinalTimings(ctx, p.ID, scored); err != nil {
			return nil, rules, err
		}
	}
	scored, overridden, err := s.withOverrides(ctx, c.ID, scored)
	if err != nil {
		return nil, rules, err
	}
	scored, _ = pickEntries(p.EntryRule, scored)
	fv := fvcoreRules(rules.Name)
	// Under "best", a team's best-ranked submission stands for it: rank
	// every one, keep each team's first row.
	seen := map[string]bool{}
	for _, sc := range scored {
		_, row := entryFor(sc, ds.Split, fv)
		// Each split's PSNR (entryFor: a phase on several datasets has both).
		psnrVal, psnrTest := fmtOpt(row.PSNRVal, 1), fmtOpt(row.PSNRTest, 1)
		base := "0"
		if sc.IsBaseline {
			base = "1"
		}
		tab.Rows = append(tab.Rows, []string{row.Name, sc.MethodName, strconv.FormatInt(sc.ID, 10), base,
			sc.CreatedAt.UTC().Format(time.RFC3339), psnrVal, psnrTest, fmtOpt(row.SSIM, 1),
			strconv.FormatFloat(row.RuntimeMS, 'f', -1, 64), fmtOpt(row.Params, 1e6), fmtOpt(row.FLOPs, 1e9),
			fmtOpt(row.Activations, 1e6), fmtOpt(row.MemoryMB, 1), fmtOpt(row.ConvLayers, 1), row.Device,
			overridden[sc.ID]})
	}
	ranked, _, err := scoring.RankResults(tab, rules, nil)
	if err != nil {
		return nil, rules, err
	}
	if p.EntryRule == store.EntryBest {
		// Keep the first (best-ranked) row of each team, then rank the
		// kept rows again so ranks have no gaps.
		kept := &scoring.Results{Header: tab.Header}
		idCol := ranked.Col("submission_id")
		byID := map[string][]string{}
		for _, r := range tab.Rows {
			byID[r[2]] = r
		}
		for _, r := range ranked.Rows {
			orig := byID[r[idCol]]
			key := orig[0]
			if orig[3] == "0" && seen[key] {
				continue
			}
			seen[key] = true
			kept.Rows = append(kept.Rows, orig)
		}
		if ranked, _, err = scoring.RankResults(kept, rules, nil); err != nil {
			return nil, rules, err
		}
	}
	return ranked, rules, nil
}

// ExportCSV writes ExportPhase's table as CSV.
func (s *Service) ExportCSV(ctx context.Context, v Viewer, slug, phase string) ([]byte, error) {
	t, _, err := s.ExportPhase(ctx, v, slug, phase)
	if err != nil {
		return nil, err
	}
	var buf bytes.Buffer
	if err := t.WriteCSV(&buf); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// Freeze stores the phase's current ranking (ExportCSV) as a new version
// of its final ranking and returns the version. Later re-runs change the
// live board only.
func (s *Service) Freeze(ctx context.Context, v Viewer, slug, phase string) (int, error) {
	c, err := s.organizes(ctx, v, slug)
	if err != nil {
		return 0, err
	}
	csv, err := s.ExportCSV(ctx, v, slug, phase)
	if err != nil {
		return 0, err
	}
	_, p, err := s.Phase(ctx, v, slug, phase)
	if err != nil {
		return 0, err
	}
	note, err := s.RuntimeNote(ctx, v, slug, phase)
	if err != nil {
		return 0, err
	}
	var version int
	err = s.st.InTx(ctx, func(tx pgx.Tx) error {
		now := s.now()
		if version, err = store.FreezeRanking(ctx, tx, p.ID, now, v.Username, string(csv)); err != nil {
			return err
		}
		if note != "" {
			if err := store.SetFrozenNote(ctx, tx, p.ID, version, note); err != nil {
				return err
			}
		}
		return s.audit(ctx, tx, v, c.ID, "phase.freeze", "phase "+phase, nil,
			map[string]any{"version": version, "frozen_at": now.UTC(), "rows": bytes.Count(csv, []byte("\n")) - 1, "runtime_note": note}, "")
	})
	return version, err
}

// FrozenRankings lists a phase's frozen rankings, newest first; withCSV
// includes their tables.
func (s *Service) FrozenRankings(ctx context.Context, v Viewer, slug, phase string, withCSV bool) ([]store.FrozenRanking, error) {
	if _, err := s.organizes(ctx, v, slug); err != nil {
		return nil, err
	}
	_, p, err := s.Phase(ctx, v, slug, phase)
	if err != nil {
		return nil, err
	}
	return s.st.FrozenRankings(ctx, p.ID, withCSV)
}
