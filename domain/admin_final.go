package domain

// Final runtimes: NTIRE's organizers re-timed the finalists by hand on one
// GPU with more repeats. Here an organizer re-times the top N of a phase on
// the challenge's official hardware class: one River "retime" job per
// submission, each writing its own final_timings record (no quota, no
// change to the participant's result). Once every timing of the newest run
// has ended, the phase's final ranking (board, freeze, export) uses the
// re-measured runtimes and says so.

import (
	"context"
	"fmt"
	"sort"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/riverqueue/river"

	"github.com/srarena/srarena/jobs"
	"github.com/srarena/srarena/store"
)

// Limits of a re-timing request.
const (
	MaxRetimeTop     = 100
	MaxRetimeRepeats = 1000
)

// RetimeResult is what RetimeTop queued.
type RetimeResult struct {
	RunID       int64
	Submissions []int64 // re-timed, in rank order, baselines last
	Queue       string
}

// RetimeTop re-times the top n teams of a phase's current ranking (the
// export's order, which is the board's), and the phase's baselines since
// NTIRE-style scores divide by the baseline's runtime, on the challenge's
// hardware class with repeats timed runs per image. One transaction: the
// run, its records, their jobs and the audit event, or nothing.
func (s *Service) RetimeTop(ctx context.Context, v Viewer, slug, phase string, n, repeats int) (RetimeResult, error) {
	c, err := s.organizes(ctx, v, slug)
	if err != nil {
		return RetimeResult{}, err
	}
	if n < 1 || n > MaxRetimeTop {
		return RetimeResult{}, newErr(KindInvalid, "Re-time between 1 and %d teams.", MaxRetimeTop)
	}
	if repeats < 1 || repeats > MaxRetimeRepeats {
		return RetimeResult{}, newErr(KindInvalid, "Repeats are between 1 and %d.", MaxRetimeRepeats)
	}
	_, p, err := s.Phase(ctx, v, slug, phase)
	if err != nil {
		return RetimeResult{}, err
	}
	tab, _, err := s.exportRanked(ctx, c, p, false)
	if err != nil {
		return RetimeResult{}, err
	}
	idCol, baseCol := tab.Col("submission_id"), tab.Col("baseline")
	var top, baselines []int64
	for _, row := range tab.Rows {
		id, err := strconv.ParseInt(row[idCol], 10, 64)
		if err != nil {
			continue
		}
		if row[baseCol] == "1" {
			baselines = append(baselines, id)
		} else if len(top) < n {
			top = append(top, id)
		}
	}
	if len(top) == 0 {
		return RetimeResult{}, newErr(KindConflict, "The %s phase has no ranked submission to re-time yet.", phase)
	}
	out := RetimeResult{Submissions: append(top, baselines...), Queue: queueOf(c)}
	err = s.st.InTx(ctx, func(tx pgx.Tx) error {
		out.RunID, err = store.CreateFinalTimingRun(ctx, tx, store.FinalTimingRun{PhaseID: p.ID, TopN: n, Repeats: repeats,
			Queue: out.Queue, RequestedBy: v.Username, RequestedAt: s.now()})
		if err != nil {
			return err
		}
		for _, id := range out.Submissions {
			tid, err := store.AddFinalTiming(ctx, tx, out.RunID, id)
			if err != nil {
				return err
			}
			if _, err := s.jobs.InsertTx(ctx, tx, jobs.Retime{FinalTimingID: tid}, &river.InsertOpts{Queue: out.Queue}); err != nil {
				return fmt.Errorf("enqueue re-timing: %w", err)
			}
		}
		return s.audit(ctx, tx, v, c.ID, "phase.retime", "phase "+phase, nil,
			map[string]any{"run": out.RunID, "top": n, "repeats": repeats, "queue": out.Queue, "submissions": out.Submissions}, "")
	})
	if err != nil {
		return RetimeResult{}, err
	}
	return out, nil
}

// FinalTimings is a phase's newest re-timing run, for the panel.
type FinalTimings struct {
	Run     store.FinalTimingRun
	Timings []store.FinalTiming
	Note    string // what the ranking says; "" until every timing has ended
}

// PhaseFinalTimings returns the phase's newest run (ok false: none).
func (s *Service) PhaseFinalTimings(ctx context.Context, v Viewer, slug, phase string) (FinalTimings, bool, error) {
	if _, err := s.organizes(ctx, v, slug); err != nil {
		return FinalTimings{}, false, err
	}
	_, p, err := s.Phase(ctx, v, slug, phase)
	if err != nil {
		return FinalTimings{}, false, err
	}
	run, ts, ok, err := s.st.LatestFinalTimings(ctx, p.ID)
	if err != nil || !ok {
		return FinalTimings{}, false, err
	}
	_, note := finalRuntimes(run, ts)
	return FinalTimings{Run: run, Timings: ts, Note: note}, true, nil
}

// finalRuntimes returns the re-measured runtime per submission and the
// sentence the ranking shows, once every timing of the run has ended;
// nothing while one is still queued or running (half a re-timing would mix
// two protocols in one ranking).
func finalRuntimes(run store.FinalTimingRun, ts []store.FinalTiming) (map[int64]float64, string) {
	out := map[int64]float64{}
	hw := map[string]bool{}
	failed := 0
	var last string
	for _, t := range ts {
		switch t.Status {
		case "queued", "running":
			return nil, ""
		case "finished":
			if t.RuntimeMS != nil {
				out[t.SubmissionID] = *t.RuntimeMS
				h := t.Hardware
				if h == "" {
					h = t.Device
				}
				hw[h] = true
				if t.FinishedAt != nil {
					if d := t.FinishedAt.UTC().Format("2006-01-02"); d > last {
						last = d
					}
				}
			}
		default:
			failed++
		}
	}
	if len(out) == 0 {
		return nil, ""
	}
	var names []string
	for h := range hw {
		names = append(names, h)
	}
	sort.Strings(names)
	note := fmt.Sprintf("Final runtimes re-measured on %s (%s) with %d repeats on %s for %d submissions (top %d and baselines); the others keep their evaluation's runtime.",
		strings.Join(names, ", "), run.Queue, run.Repeats, last, len(out), run.TopN)
	if failed > 0 {
		note += fmt.Sprintf(" %d re-timings failed and keep their evaluation's runtime.", failed)
	}
	return out, note
}

// applyFinalTimings puts the phase's final runtimes into scored (copies of
// the results it changes) and returns the note; scored is unchanged and the
// note empty when the phase has no complete re-timing.
func (s *Service) applyFinalTimings(ctx context.Context, phaseID int64, scored []store.Scored) (string, error) {
	run, ts, ok, err := s.st.LatestFinalTimings(ctx, phaseID)
	if err != nil || !ok {
		return "", err
	}
	rt, note := finalRuntimes(run, ts)
	if rt == nil {
		return "", nil
	}
	for i := range scored {
		ms, ok := rt[scored[i].ID]
		if !ok || scored[i].Result == nil {
			continue
		}
		r := *scored[i].Result
		r.RuntimeMS, r.RuntimeSet = ms, true
		scored[i].Result = &r
	}
	return note, nil
}

// RuntimeNote is the sentence a phase's final ranking carries about its
// runtimes ("" when they are the evaluations' own). Organizers only.
func (s *Service) RuntimeNote(ctx context.Context, v Viewer, slug, phase string) (string, error) {
	ft, ok, err := s.PhaseFinalTimings(ctx, v, slug, phase)
	if err != nil || !ok {
		return "", err
	}
	return ft.Note, nil
}

// Organizes reports KindNotFound (or KindUnauthenticated) unless v
// organizes the challenge: API handlers check it before reading a body, so
// that others learn nothing from the body's validation.
func (s *Service) Organizes(ctx context.Context, v Viewer, slug string) error {
	_, err := s.organizes(ctx, v, slug)
	return err
}
