package domain

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/riverqueue/river"

	"github.com/srarena/srarena/blob"
	"github.com/srarena/srarena/jobs"
	"github.com/srarena/srarena/store"
)

func itoa(n int) string { return strconv.Itoa(n) }

// Lengths of a submission's texts, in characters.
const (
	MaxLabel       = 100
	MaxMethodName  = 100
	MaxDescription = 2000
)

// Target is where a submission goes, checked by CheckSubmit before the
// model is read.
type Target struct {
	Challenge store.Challenge
	Phase     PhaseInfo
	Team      store.Team
	Dataset   store.Dataset // the phase's primary dataset
}

// CheckSubmit decides whether the viewer may submit to the phase ("" for
// the current one) now: signed in, registered and approved, in a team
// that is not disqualified, inside the phase's window, the phase has a
// dataset, and the team has quota left. Uploads call it before reading the
// body, so a large file is not read only to be refused.
func (s *Service) CheckSubmit(ctx context.Context, v Viewer, slug, phase string) (Target, error) {
	if err := s.requireUser(v); err != nil {
		return Target{}, &Error{Kind: KindUnauthenticated, Msg: "Log in to submit."}
	}
	ci, p, err := s.Phase(ctx, v, slug, phase)
	if err != nil {
		return Target{}, err
	}
	t := Target{Challenge: ci.Challenge, Phase: p}
	switch {
	case ci.Registration == nil:
		return t, newErr(KindForbidden, "Register for %s first: accept its terms on the challenge page.", ci.Title)
	case ci.Registration.State == store.RegistrationPending:
		return t, newErr(KindForbidden, "Your registration for %s is waiting for the organizers' approval; you can submit once it is approved.", ci.Title)
	case ci.Registration.State != store.RegistrationApproved:
		return t, newErr(KindForbidden, "Your registration for %s was not approved, so you cannot submit.", ci.Title)
	case ci.Team == nil:
		return t, newErr(KindForbidden, "Create a team (or a solo team) or join one through an invitation link before submitting.")
	case ci.Team.DisqualifiedReason != "":
		return t, newErr(KindForbidden, "Your team was disqualified: %s", ci.Team.DisqualifiedReason)
	}
	t.Team = *ci.Team
	if err := windowCheck(p.Phase, s.now()); err != nil {
		return t, err
	}
	ds, ok := p.Primary()
	if !ok {
		return t, newErr(KindConflict, "Phase %s has no evaluation dataset yet, so it cannot evaluate models. Try again once the organizers have added one.", phaseTitle(p.Phase))
	}
	t.Dataset = ds
	if p.Quota != nil {
		u := store.QuotaUsage{Today: p.Quota.UsedToday, Total: p.Quota.UsedTotal, Active: p.Quota.Active, DayStart: p.Quota.DailyResetAt.Add(-24 * time.Hour)}
		if qe := u.Exceeded(quotaOf(p.Phase)); qe != nil {
			return t, quotaErr(qe, p.Phase, u.DayStart)
		}
	}
	return t, nil
}

func phaseTitle(p store.Phase) string {
	if p.Title != "" {
		return "“" + p.Title + "”"
	}
	return "“" + p.Name + "”"
}

// windowCheck refuses a submission outside the phase's window, saying the
// window.
func windowCheck(p store.Phase, now time.Time) error {
	switch phaseState(p, now) {
	case PhaseUpcoming:
		return newErr(KindWindow, "Phase %s accepts submissions %s; it has not opened yet (now %s).", phaseTitle(p), WindowText(p), FormatTime(now))
	case PhaseClosed:
		return newErr(KindWindow, "Phase %s accepted submissions %s; it is closed (now %s).", phaseTitle(p), WindowText(p), FormatTime(now))
	}
	return nil
}

func quotaOf(p store.Phase) store.Quota {
	return store.Quota{Daily: p.QuotaDaily, Total: p.QuotaTotal, Concurrent: p.QuotaConcurrent}
}

// quotaErr words a used-up quota and when the next slot frees.
func quotaErr(qe *store.QuotaError, p store.Phase, dayStart time.Time) *Error {
	e := &Error{Kind: KindQuota, Err: qe}
	switch qe.Kind {
	case store.QuotaDaily:
		reset := dayStart.Add(24 * time.Hour)
		e.ResetAt = &reset
		e.Msg = fmt.Sprintf("Your team has used its %d submissions of today (UTC) in phase %s. The next one frees at %s.",
			qe.Limit, phaseTitle(p), FormatTime(reset))
	case store.QuotaTotal:
		e.Msg = fmt.Sprintf("Your team has used all %d submissions phase %s allows.", qe.Limit, phaseTitle(p))
	default:
		e.Msg = fmt.Sprintf("Your team has %d submissions queued or running, the most phase %s allows at once; "+
			"the next slot frees when one of them ends or is cancelled.", qe.Used, phaseTitle(p))
	}
	return e
}

// Upload is a model already stored in the blob store and found valid by
// the static check, with what the participant said about it.
type Upload struct {
	ModelSHA256 string
	ModelBytes  int64
	Profile     json.RawMessage // onnxmodel.Profile as JSON
	// Model is the verified bytes: stored again if a concurrent refused
	// upload of the same bytes deleted the blob before the submission
	// committed.
	Model       []byte
	DataRange   float32 // 1 or 255
	Label       string
	MethodName  string
	Description string
}

// ValidateText checks a submission's label, method name and description
// (the upload parsers call it before storing the model).
func ValidateText(label, method, description string) (string, string, string, error) {
	l, err := checkText("label", label, MaxLabel, false)
	if err != nil {
		return "", "", "", err
	}
	m, err := checkText("method name", method, MaxMethodName, false)
	if err != nil {
		return "", "", "", err
	}
	d, err := checkText("description", description, MaxDescription, true)
	return l, m, d, err
}

// Submit queues the model for evaluation in the target's phase on behalf
// of the viewer's team. The window is checked again and the quota is
// counted under the team's lock, so two uploads racing for the last slot
// cannot both get it. It returns the new submission's id.
func (s *Service) Submit(ctx context.Context, v Viewer, t Target, up Upload) (int64, error) {
	if err := s.requireUser(v); err != nil {
		return 0, err
	}
	if t.Team.ID == 0 || t.Phase.ID == 0 || t.Dataset.ID == 0 {
		return 0, errors.New("domain: Submit needs a Target from CheckSubmit")
	}
	var err error
	if up.Label, up.MethodName, up.Description, err = ValidateText(up.Label, up.MethodName, up.Description); err != nil {
		return 0, err
	}
	if up.DataRange != 1 && up.DataRange != 255 {
		return 0, newErr(KindInvalid, "The pixel range must be 1 ([0,1]) or 255 ([0,255]).")
	}
	now := s.now()
	if err := windowCheck(t.Phase.Phase, now); err != nil {
		return 0, err
	}
	queue := jobs.QueueCPU
	if t.Challenge.Queue == jobs.QueueGPU {
		queue = jobs.QueueGPU
	}
	id, err := s.st.CreateSubmission(ctx, store.NewSubmission{
		ChallengeID: t.Challenge.ID, PhaseID: t.Phase.ID, TeamID: t.Team.ID, UserID: v.UserID, DatasetID: t.Dataset.ID,
		Label: up.Label, MethodName: up.MethodName, Description: up.Description,
		ModelSHA256: up.ModelSHA256, ModelBytes: up.ModelBytes, Profile: up.Profile, DataRange: up.DataRange, Now: now,
	}, quotaOf(t.Phase.Phase), func(ctx context.Context, tx pgx.Tx, id int64) error {
		// The transaction holds the digest's lock, so no refused upload can
		// delete the blob from here to commit. One may have deleted it
		// before the lock was taken: store the verified bytes again.
		if s.blobs != nil && !blob.Exists(ctx, s.blobs, up.ModelSHA256) {
			if len(up.Model) == 0 {
				return fmt.Errorf("model %s vanished from the blob store", up.ModelSHA256)
			}
			if d, err := blob.PutBytes(ctx, s.blobs, up.Model); err != nil || d != up.ModelSHA256 {
				return fmt.Errorf("re-store model %s: %v", up.ModelSHA256, err)
			}
		}
		_, err := s.jobs.InsertTx(ctx, tx, jobs.Evaluate{SubmissionID: id}, &river.InsertOpts{Queue: queue})
		return err
	})
	var qe *store.QuotaError
	if errors.As(err, &qe) {
		return 0, quotaErr(qe, t.Phase.Phase, store.DayStart(now))
	}
	return id, err
}

// SubmissionInfo is a submission as its viewer may see it.
type SubmissionInfo struct {
	store.Submission
	Challenge store.Challenge
	Phase     PhaseInfo
	Dataset   store.Dataset
	// Result is nil while there is none, and when ScoresHidden.
	Result *store.Result
	// ScoresHidden: the phase's scores are hidden from this viewer (a
	// hidden phase before its reveal); only the status shows.
	ScoresHidden bool
	// PerImageScores: the viewer may see per-image PSNR/SSIM and image
	// names (a validation split, or an organizer).
	PerImageScores bool
	Organizer      bool
	CanCancel      bool // queued or running, and the viewer's team's (or an organizer)
	CanSelect      bool // finished, the phase's rule is "selected", and the viewer's team's
	Queue          *QueueInfo
}

// Submission returns a submission if the viewer may see it: a member of its
// team, or an organizer of its challenge. Everyone else gets KindNotFound,
// as for an unknown id.
func (s *Service) Submission(ctx context.Context, v Viewer, id int64) (SubmissionInfo, error) {
	var si SubmissionInfo
	if v.Anonymous() {
		return si, notFound(nil)
	}
	sub, err := s.st.SubmissionByID(ctx, id)
	if errors.Is(err, store.ErrNotFound) {
		return si, notFound(err)
	} else if err != nil {
		return si, err
	}
	c, err := s.st.ChallengeByID(ctx, sub.ChallengeID)
	if err != nil {
		return si, err
	}
	ci, err := s.challengeInfo(ctx, v, c)
	if err != nil {
		return si, err
	}
	member := ci.Team != nil && sub.TeamID != nil && *sub.TeamID == ci.Team.ID
	if !member && !ci.Organizer {
		return si, notFound(nil)
	}
	si = SubmissionInfo{Submission: sub, Challenge: c, Organizer: ci.Organizer}
	for _, p := range ci.Phases {
		if p.ID == sub.PhaseID {
			si.Phase = p
		}
	}
	if si.Dataset, err = s.st.DatasetByID(ctx, sub.DatasetID); err != nil {
		return si, err
	}
	si.ScoresHidden = !si.Phase.ScoresVisible
	si.PerImageScores = !si.ScoresHidden && (si.Dataset.Split == "validation" || ci.Organizer)
	if !si.ScoresHidden {
		res, err := s.st.ResultBySubmission(ctx, sub.ID)
		switch {
		case err == nil:
			si.Result = &res
		case !errors.Is(err, store.ErrNotFound):
			return si, err
		}
	}
	live := sub.Status == store.StatusQueued || sub.Status == store.StatusRunning
	si.CanCancel = live && (member || ci.Organizer)
	si.CanSelect = member && sub.Status == store.StatusFinished && si.Phase.EntryRule == store.EntrySelected && !sub.Selected
	if sub.Status == store.StatusQueued {
		q, err := s.queueInfo(ctx, sub.ID)
		if err != nil {
			return si, err
		}
		si.Queue = &q
	}
	return si, nil
}

// QueueInfo says where a queued submission stands.
type QueueInfo struct {
	Position int // 1 = next to start
	Ahead    int // queued submissions ahead of it on its hardware queue
	Running  int // evaluations running on the queue now
	// Estimate is when it should start; zero when nothing finished on the
	// queue yet to estimate from.
	Estimate time.Duration
	// EstimateKnown: Estimate is based on recent evaluations.
	EstimateKnown bool
}

// QueueInfo returns the queue position and estimate of a submission the
// viewer may see; zero values when it is not queued.
func (s *Service) QueueInfo(ctx context.Context, v Viewer, id int64) (QueueInfo, error) {
	si, err := s.Submission(ctx, v, id)
	if err != nil {
		return QueueInfo{}, err
	}
	if si.Queue == nil {
		return QueueInfo{}, nil
	}
	return *si.Queue, nil
}

func (s *Service) queueInfo(ctx context.Context, id int64) (QueueInfo, error) {
	st, err := s.st.QueueStateOf(ctx, id)
	if err != nil {
		return QueueInfo{}, err
	}
	q := QueueInfo{Position: st.Ahead + 1, Ahead: st.Ahead, Running: st.Running}
	if st.MeanRun > 0 {
		// Workers seen busy now are the parallelism; with none running,
		// assume one. The running ones are half done on average.
		par := max(st.Running, 1)
		waves := float64(st.Ahead) / float64(par)
		if st.Running > 0 {
			waves += 0.5
		}
		q.Estimate = time.Duration(math.Ceil(waves * float64(st.MeanRun)))
		q.EstimateKnown = true
	}
	return q, nil
}

// Logs returns up to limit log lines of a submission the viewer may see,
// after the line id after. Before a hidden phase's reveal, lines that carry
// scores are cut to their progress for participants.
func (s *Service) Logs(ctx context.Context, v Viewer, id, after int64, limit int) ([]store.LogLine, error) {
	si, err := s.Submission(ctx, v, id)
	if err != nil {
		return nil, err
	}
	return s.logsOf(ctx, si, after, limit)
}

func (s *Service) logsOf(ctx context.Context, si SubmissionInfo, after int64, limit int) ([]store.LogLine, error) {
	lines, err := s.st.SubmissionLogs(ctx, si.ID, after, limit)
	if err != nil {
		return nil, err
	}
	if si.ScoresHidden {
		for i := range lines {
			lines[i].Line = redactScores(lines[i].Line)
		}
	}
	return lines, nil
}

// LogsOf is Logs for a submission already loaded with Submission.
func (s *Service) LogsOf(ctx context.Context, si SubmissionInfo, after int64, limit int) ([]store.LogLine, error) {
	return s.logsOf(ctx, si, after, limit)
}

// redactScores keeps a log line's progress and drops its measurements:
// "image 3/5 x.png: PSNR 30.1 dB, …" → "image 3/5";
// "evaluation finished: PSNR …" → "evaluation finished (scores hidden until
// the organizers reveal them)".
func redactScores(line string) string {
	switch {
	case strings.HasPrefix(line, "image "):
		head, _, _ := strings.Cut(line, ":")
		if f := strings.Fields(head); len(f) >= 2 {
			return f[0] + " " + f[1]
		}
		return "image"
	case strings.HasPrefix(line, "evaluation finished"):
		return "evaluation finished (scores hidden until the organizers reveal them)"
	case strings.Contains(line, "PSNR") || strings.Contains(line, " ms"):
		return "(line hidden until the organizers reveal the scores)"
	}
	return line
}

// ModelFile returns the model digest of a submission the viewer may
// download: its own team's, or as an organizer.
func (s *Service) ModelFile(ctx context.Context, v Viewer, id int64) (string, error) {
	si, err := s.Submission(ctx, v, id)
	if err != nil {
		return "", err
	}
	return si.ModelSHA256, nil
}

// Cancel withdraws a queued or running submission of the viewer's team (or,
// for an organizer, any). Its quota slot comes back; a running evaluation
// is told to stop (River's job cancellation).
func (s *Service) Cancel(ctx context.Context, v Viewer, id int64) error {
	si, err := s.Submission(ctx, v, id)
	if err != nil {
		return err
	}
	if !si.CanCancel {
		return newErr(KindConflict, "Submission #%d is %s: only a queued or running submission can be cancelled.", id, si.Status)
	}
	err = s.st.CancelSubmission(ctx, id, v.Username, s.now(), func(ctx context.Context, tx pgx.Tx, jobID int64) error {
		_, err := s.jobs.JobCancelTx(ctx, tx, jobID)
		if errors.Is(err, river.ErrNotFound) {
			return nil
		}
		return err
	})
	if errors.Is(err, store.ErrNotAllowed) {
		return &Error{Kind: KindConflict, Msg: fmt.Sprintf("Submission #%d has ended already; it cannot be cancelled.", id), Err: err}
	}
	return err
}

// SelectEntry makes a finished submission its team's entry on the board of
// its phase, where the phase's rule is "selected".
func (s *Service) SelectEntry(ctx context.Context, v Viewer, id int64) error {
	si, err := s.Submission(ctx, v, id)
	if err != nil {
		return err
	}
	if s.memberOf(ctx, v, si) != nil {
		return newErr(KindForbidden, "Only a member of the submission's team can choose its entry.")
	}
	if si.Phase.EntryRule != store.EntrySelected {
		return newErr(KindConflict, "In phase %s the board shows each team's %s submission; teams do not choose.", phaseTitle(si.Phase.Phase), si.Phase.EntryRule)
	}
	if si.Status != store.StatusFinished {
		return newErr(KindConflict, "Submission #%d is %s: only a finished submission can be the team's entry.", id, si.Status)
	}
	err = s.st.SelectSubmission(ctx, *si.TeamID, si.PhaseID, id)
	if errors.Is(err, store.ErrNotAllowed) {
		return &Error{Kind: KindConflict, Msg: "Only a finished submission of your team can be its entry.", Err: err}
	} else if err != nil {
		return err
	}
	s.dropBoards()
	return nil
}

// memberOf returns nil when v is a member of the submission's team.
func (s *Service) memberOf(ctx context.Context, v Viewer, si SubmissionInfo) error {
	reg, err := s.st.RegistrationOf(ctx, si.ChallengeID, v.UserID)
	if err != nil {
		return err
	}
	if reg.TeamID == nil || si.TeamID == nil || *reg.TeamID != *si.TeamID {
		return ErrForbidden
	}
	return nil
}

// TeamSubmissions lists the viewer's team's submissions to a phase ("" for
// every phase), newest first. Results of phases whose scores the viewer
// may not see are left out.
func (s *Service) TeamSubmissions(ctx context.Context, v Viewer, slug, phase string) ([]store.Scored, error) {
	ci, err := s.Challenge(ctx, v, slug)
	if err != nil {
		return nil, err
	}
	if err := s.requireUser(v); err != nil {
		return nil, err
	}
	if ci.Team == nil {
		return nil, nil
	}
	var phaseID int64
	if phase != "" {
		p, err := ci.PhaseNamed(phase)
		if err != nil {
			return nil, err
		}
		phaseID = p.ID
	}
	subs, err := s.st.SubmissionsOfTeam(ctx, ci.Team.ID, phaseID)
	if err != nil {
		return nil, err
	}
	visible := map[int64]bool{}
	for _, p := range ci.Phases {
		visible[p.ID] = p.ScoresVisible
	}
	for i := range subs {
		if !visible[subs[i].PhaseID] {
			subs[i].Result = nil
		}
	}
	return subs, nil
}

// blobExists reports whether the store holds digest; an error reading it
// counts as absent, so the caller stores the bytes again.
func blobExists(ctx context.Context, b Blobs, digest string) bool {
	_, err := b.Stat(ctx, digest)
	return err == nil
}
