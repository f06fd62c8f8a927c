package domain

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"

	"github.com/jackc/pgx/v5"
	"github.com/riverqueue/river"

	"github.com/srarena/srarena/jobs"
	"github.com/srarena/srarena/store"
)

// Baseline is a checked reference model an organizer adds to a phase.
type Baseline struct {
	Phase       string // "" for the current phase
	Label       string // e.g. "RFDN baseline"
	ModelSHA256 string // stored already
	ModelBytes  int64
	Profile     json.RawMessage // from the upload's model check
}

// AddBaseline queues a baseline of a phase for evaluation on the phase's
// primary dataset and hardware class, like any submission. Its result is
// marked as the baseline on the board; where the rules take a gate from
// the baseline (FromBaseline), its measured PSNR is the gate. Returns the
// submission id.
func (s *Service) AddBaseline(ctx context.Context, v Viewer, slug string, b Baseline) (int64, error) {
	c, err := s.organizes(ctx, v, slug)
	if err != nil {
		return 0, err
	}
	ci, err := s.challengeInfo(ctx, v, c)
	if err != nil {
		return 0, err
	}
	p, err := ci.PhaseNamed(b.Phase)
	if err != nil {
		return 0, newErr(KindInvalid, "This challenge has no phase named %q.", b.Phase)
	}
	ds, ok := p.Primary()
	if !ok {
		return 0, newErr(KindConflict, "The %s phase has no dataset yet: import one first.", p.Name)
	}
	label, err := checkText("label", b.Label, 100, false)
	if err != nil {
		return 0, err
	}
	if label == "" {
		label = "baseline"
	}
	var id int64
	err = s.st.InTx(ctx, func(tx pgx.Tx) error {
		if id, err = store.CreateBaselineSubmission(ctx, tx, c.ID, ds.ID, label, b.ModelSHA256, b.ModelBytes, b.Profile); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `UPDATE submissions SET phase_id = $2 WHERE id = $1`, id, p.ID); err != nil {
			return fmt.Errorf("baseline phase: %w", err)
		}
		if _, err := s.jobs.InsertTx(ctx, tx, jobs.Evaluate{SubmissionID: id}, &river.InsertOpts{Queue: queueOf(c)}); err != nil {
			return fmt.Errorf("enqueue baseline: %w", err)
		}
		return s.audit(ctx, tx, v, c.ID, "baseline.add", "submission "+strconv.FormatInt(id, 10), nil,
			map[string]any{"phase": p.Name, "label": label, "model_sha256": b.ModelSHA256, "dataset": ds.Name}, "")
	})
	return id, err
}
