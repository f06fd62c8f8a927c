package domain

// Account bans, manual score overrides and re-run history: the rules of
// the organizer actions that change what a result means without touching
// what was measured. Each action writes its audit row in its transaction.

import (
	"context"
	"errors"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5"

	"github.com/srarena/srarena/store"
)

// BanUser bans an account with a reason shown to its owner at login; its
// sessions and tokens stop working at once (the lookups skip banned
// accounts). Site admins only; they cannot ban themselves or another site
// admin (take the admin flag away first, outside the panel).
func (s *Service) BanUser(ctx context.Context, v Viewer, username, reason string) error {
	if err := s.requireAdmin(v); err != nil {
		return err
	}
	reason, err := checkText("reason", reason, 500, false)
	if err != nil {
		return err
	}
	if reason == "" {
		return newErr(KindInvalid, "Give the reason for the ban: its owner sees it when logging in.")
	}
	u, err := s.st.UserByUsername(ctx, strings.TrimSpace(username))
	if errors.Is(err, store.ErrNotFound) {
		return newErr(KindInvalid, "There is no account named %q.", username)
	} else if err != nil {
		return err
	}
	if u.ID == v.UserID || u.IsAdmin {
		return newErr(KindConflict, "%s is a site admin; a site admin cannot be banned from the panel.", u.Username)
	}
	return s.st.InTx(ctx, func(tx pgx.Tx) error {
		before, err := store.BanForUpdate(ctx, tx, u.ID)
		if err != nil {
			return err
		}
		if before.Banned {
			return newErr(KindConflict, "%s is banned already (%s).", u.Username, before.Reason)
		}
		at := s.now().UTC()
		if err := store.SetBan(ctx, tx, u.ID, &at, reason, v.Username); err != nil {
			return err
		}
		return s.audit(ctx, tx, v, 0, "user.ban", "user "+u.Username, map[string]any{"banned": false},
			map[string]any{"banned": true, "reason": reason}, reason)
	})
}

// UnbanUser lifts a ban. Site admins only.
func (s *Service) UnbanUser(ctx context.Context, v Viewer, username string) error {
	if err := s.requireAdmin(v); err != nil {
		return err
	}
	u, err := s.st.UserByUsername(ctx, strings.TrimSpace(username))
	if errors.Is(err, store.ErrNotFound) {
		return newErr(KindInvalid, "There is no account named %q.", username)
	} else if err != nil {
		return err
	}
	return s.st.InTx(ctx, func(tx pgx.Tx) error {
		before, err := store.BanForUpdate(ctx, tx, u.ID)
		if err != nil {
			return err
		}
		if !before.Banned {
			return newErr(KindConflict, "%s is not banned.", u.Username)
		}
		if err := store.SetBan(ctx, tx, u.ID, nil, "", ""); err != nil {
			return err
		}
		return s.audit(ctx, tx, v, 0, "user.unban", "user "+u.Username,
			map[string]any{"banned": true, "reason": before.Reason, "by": before.By}, map[string]any{"banned": false}, "")
	})
}

// BannedUsers lists banned accounts (site admins only).
func (s *Service) BannedUsers(ctx context.Context, v Viewer) ([]store.BannedUser, error) {
	if err := s.requireAdmin(v); err != nil {
		return nil, err
	}
	return s.st.BannedUsers(ctx)
}

// SiteAudit returns the newest site-level audit events (bans, unbans):
// site admins only.
func (s *Service) SiteAudit(ctx context.Context, v Viewer) ([]store.AuditEvent, error) {
	if err := s.requireAdmin(v); err != nil {
		return nil, err
	}
	return s.st.SiteAuditEvents(ctx, 200)
}

// Score override metrics: the result fields an organizer may set.
const (
	OverridePSNR    = "psnr"
	OverrideSSIM    = "ssim"
	OverrideRuntime = "runtime_ms"
	OverrideMemory  = "memory_mb"
)

// OverrideMetrics lists the metrics an override may set.
var OverrideMetrics = []string{OverridePSNR, OverrideSSIM, OverrideRuntime, OverrideMemory}

func checkOverride(metric string, value float64) error {
	if !slices.Contains(OverrideMetrics, metric) {
		return newErr(KindInvalid, "An override sets one of %s; %q is not one.", strings.Join(OverrideMetrics, ", "), metric)
	}
	if math.IsNaN(value) || math.IsInf(value, 0) {
		return newErr(KindInvalid, "The overriding value must be a finite number.")
	}
	switch metric {
	case OverridePSNR:
		if value < 0 || value > 200 {
			return newErr(KindInvalid, "A PSNR is between 0 and 200 dB.")
		}
	case OverrideSSIM:
		if value < -1 || value > 1 {
			return newErr(KindInvalid, "An SSIM is between -1 and 1.")
		}
	default:
		if value <= 0 || value > 1e9 {
			return newErr(KindInvalid, "A %s is a positive number.", metric)
		}
	}
	return nil
}

// OverrideScore sets one metric of a finished submission's result, with a
// mandatory reason, as a separate record: the measured value stays in the
// result, the board and exports use the override and say so. An active
// override of the same metric is replaced (the old record is revoked).
func (s *Service) OverrideScore(ctx context.Context, v Viewer, id int64, metric string, value float64, reason string) error {
	c, err := s.challengeOfSubmission(ctx, v, id)
	if err != nil {
		return err
	}
	metric = strings.TrimSpace(metric)
	if err := checkOverride(metric, value); err != nil {
		return err
	}
	if reason, err = checkText("reason", reason, 500, false); err != nil {
		return err
	}
	if reason == "" {
		return newErr(KindInvalid, "Give the reason for the override: the board shows it.")
	}
	res, err := s.st.ResultBySubmission(ctx, id)
	if errors.Is(err, store.ErrNotFound) {
		return newErr(KindConflict, "Submission #%d has no result to override yet.", id)
	} else if err != nil {
		return err
	}
	err = s.st.InTx(ctx, func(tx pgx.Tx) error {
		if _, _, _, err := store.SubmissionForUpdate(ctx, tx, c.ID, id); err != nil {
			return notFound(err)
		}
		var before map[string]any
		old, err := store.ActiveOverride(ctx, tx, id, metric)
		switch {
		case err == nil:
			before = map[string]any{"override": old.Value, "reason": old.Reason, "by": old.CreatedBy}
			if err := store.RevokeOverride(ctx, tx, old.ID, v.Username, s.now()); err != nil {
				return err
			}
		case errors.Is(err, store.ErrNotFound):
			before = map[string]any{"measured": measuredValue(res, metric)}
		default:
			return err
		}
		if _, err := store.InsertOverride(ctx, tx, store.ScoreOverride{ChallengeID: c.ID, SubmissionID: id, Metric: metric,
			Value: value, Reason: reason, CreatedBy: v.Username, CreatedAt: s.now()}); err != nil {
			return err
		}
		return s.audit(ctx, tx, v, c.ID, "score.override", "submission "+strconv.FormatInt(id, 10)+" "+metric, before,
			map[string]any{"metric": metric, "override": value, "measured": measuredValue(res, metric)}, reason)
	})
	s.dropBoards()
	return err
}

// RevertOverride ends a submission's active override of metric: the
// measured value counts again. The record stays, marked revoked.
func (s *Service) RevertOverride(ctx context.Context, v Viewer, id int64, metric string) error {
	c, err := s.challengeOfSubmission(ctx, v, id)
	if err != nil {
		return err
	}
	err = s.st.InTx(ctx, func(tx pgx.Tx) error {
		if _, _, _, err := store.SubmissionForUpdate(ctx, tx, c.ID, id); err != nil {
			return notFound(err)
		}
		old, err := store.ActiveOverride(ctx, tx, id, metric)
		if errors.Is(err, store.ErrNotFound) {
			return newErr(KindConflict, "Submission #%d has no override of %q.", id, metric)
		} else if err != nil {
			return err
		}
		if err := store.RevokeOverride(ctx, tx, old.ID, v.Username, s.now()); err != nil {
			return err
		}
		return s.audit(ctx, tx, v, c.ID, "score.revert", "submission "+strconv.FormatInt(id, 10)+" "+metric,
			map[string]any{"metric": metric, "override": old.Value, "reason": old.Reason}, map[string]any{"metric": metric, "override": nil}, "")
	})
	s.dropBoards()
	return err
}

func measuredValue(r store.Result, metric string) any {
	switch metric {
	case OverridePSNR:
		return r.PSNR
	case OverrideSSIM:
		return r.SSIM
	case OverrideRuntime:
		return r.RuntimeMS
	default:
		return r.PeakMemoryMB
	}
}

// OverrideNote is how the board and the submission page mark overridden
// values.
func OverrideNote(os []store.ScoreOverride) string {
	if len(os) == 0 {
		return ""
	}
	parts := make([]string, len(os))
	for i, o := range os {
		parts[i] = fmt.Sprintf("%s set to %s: %s", o.Metric, strconv.FormatFloat(o.Value, 'f', -1, 64), o.Reason)
	}
	return "overridden by organizers: " + strings.Join(parts, "; ")
}

// applyOverride returns the result with the override's metric set; the
// pointers of r are not shared with the original.
func applyOverride(r store.Result, o store.ScoreOverride) store.Result {
	v := o.Value
	switch o.Metric {
	case OverridePSNR:
		r.PSNR = v
	case OverrideSSIM:
		r.SSIM = &v
	case OverrideRuntime:
		r.RuntimeMS, r.RuntimeSet = v, true
	case OverrideMemory:
		r.PeakMemoryMB = &v
	}
	return r
}

// withOverrides applies a challenge's active overrides to scored (a
// copy) and returns, per overridden submission, its note for the board.
func (s *Service) withOverrides(ctx context.Context, challengeID int64, scored []store.Scored) ([]store.Scored, map[int64]string, error) {
	os, err := s.st.ActiveOverrides(ctx, challengeID)
	if err != nil || len(os) == 0 {
		return scored, nil, err
	}
	by := map[int64][]store.ScoreOverride{}
	for _, o := range os {
		by[o.SubmissionID] = append(by[o.SubmissionID], o)
	}
	out := make([]store.Scored, len(scored))
	notes := map[int64]string{}
	for i, sc := range scored {
		out[i] = sc
		if list := by[sc.ID]; len(list) > 0 && sc.Result != nil {
			r := *sc.Result
			for _, o := range list {
				r = applyOverride(r, o)
			}
			out[i].Result = &r
			notes[sc.ID] = OverrideNote(list)
		}
	}
	return out, notes, nil
}

// SubmissionExtras is what the submission page shows beyond the current
// run: its active overrides and its earlier runs.
type SubmissionExtras struct {
	Overrides []store.ScoreOverride // active ones
	Note      string                // "overridden by organizers: …"
	Runs      []store.PastRun       // newest first
}

// SubmissionExtrasOf returns a submission's overrides and earlier runs to
// whoever may see the submission (its team, its organizers). Scores of a
// hidden phase stay hidden from the team: the override values and the
// earlier results are left out, the runs' statuses and times stay.
func (s *Service) SubmissionExtrasOf(ctx context.Context, v Viewer, id int64) (SubmissionExtras, error) {
	var x SubmissionExtras
	si, err := s.Submission(ctx, v, id)
	if err != nil {
		return x, err
	}
	all, err := s.st.OverridesOfSubmission(ctx, id)
	if err != nil {
		return x, err
	}
	for _, o := range all {
		if o.RevokedAt == nil {
			x.Overrides = append(x.Overrides, o)
		}
	}
	if x.Runs, err = s.st.RunHistory(ctx, id); err != nil {
		return x, err
	}
	if si.ScoresHidden {
		for i := range x.Overrides {
			x.Overrides[i].Value = math.NaN()
		}
		for i := range x.Runs {
			x.Runs[i].Result, x.Runs[i].Log = nil, ""
		}
		if len(x.Overrides) > 0 {
			x.Note = "overridden by organizers (values hidden until the reveal)"
		}
		return x, nil
	}
	x.Note = OverrideNote(x.Overrides)
	return x, nil
}

// archiveRun copies submission id's current run into its history before a
// re-run and returns the archived run's number.
func (s *Service) archiveRun(ctx context.Context, tx pgx.Tx, v Viewer, id int64) (int, error) {
	var by *int64
	if v.UserID != 0 {
		uid := v.UserID
		by = &uid
	}
	return store.ArchiveRun(ctx, tx, id, v.Username, by, s.now())
}
