package domain

import (
	"context"
	"errors"
	"fmt"
	"math"

	"github.com/jackc/pgx/v5"

	"github.com/srarena/srarena/store"
)

// Timing protocols a phase may choose (store.Phase.TimingProtocol), as the
// runner names them (runner/evaluate.Protocol*).
const (
	TimingRobust   = "robust"
	TimingOfficial = "official"
)

// checkRuntimeSettings validates a phase form's runtime basis, reference
// runtime and timing protocol (empty: unchanged).
func checkRuntimeSettings(f PhaseForm) error {
	switch f.RuntimeBasis {
	case "", store.RuntimeRaw, store.RuntimeRatio:
	default:
		return newErr(KindInvalid, "The runtime basis is raw (the measured runtime) or ratio (the ratio to the baseline × its reference runtime).")
	}
	switch f.TimingProtocol {
	case "", TimingRobust, TimingOfficial:
	default:
		return newErr(KindInvalid, "The timing protocol is robust (warm-up, repeats, median) or official (one pass per image, no warm-up, mean).")
	}
	if r := f.RuntimeReferenceMS; r != nil && (math.IsNaN(*r) || *r <= 0 || *r >= 1e7) {
		return newErr(KindInvalid, "The reference runtime is a number of milliseconds above 0 (or empty: the baseline's measured runtime).")
	}
	if t := f.Threads; t != nil && (*t < 1 || *t > MaxPhaseThreads) {
		return newErr(KindInvalid, "ONNX Runtime threads are a number from 1 to %d (or empty: each worker's own setting).", MaxPhaseThreads)
	}
	return nil
}

// MaxPhaseThreads bounds a phase's ONNX Runtime threads (the database
// checks the same, migration 0070).
const MaxPhaseThreads = 256

// runtimeSettings are the settings a phase form leaves: empty fields keep
// the phase's. The reference runtime is always the form's (empty clears
// it: the newest baseline's measured runtime then serves).
func runtimeSettings(f PhaseForm, before store.PhaseSettings) (basis string, ref *float64, protocol string) {
	basis, protocol = cmpOr(f.RuntimeBasis, before.RuntimeBasis), cmpOr(f.TimingProtocol, before.TimingProtocol)
	return basis, f.RuntimeReferenceMS, protocol
}

// RuntimeBasisNote says in words what a board's runtime column is, e.g.
// "runtime = ratio to baseline × 12.3 ms reference".
func RuntimeBasisNote(basis string, refMS float64, fromBaseline bool) string {
	if basis != store.RuntimeRatio {
		return "runtime = measured runtime"
	}
	if math.IsNaN(refMS) || refMS <= 0 {
		return "runtime = ratio to baseline × the baseline's runtime (no baseline result yet: ratios are not ranked)"
	}
	src := "reference"
	if fromBaseline {
		src = "reference (the baseline's measured runtime)"
	}
	return fmt.Sprintf("runtime = ratio to baseline × %s ms %s", trimFloat(refMS), src)
}

func trimFloat(v float64) string {
	s := fmt.Sprintf("%.3g", v)
	if v >= 1000 {
		s = fmt.Sprintf("%.0f", v)
	}
	return s
}

// PhaseRuntime is a phase's fair-runtime settings, as the organizer API
// reads and writes them.
type PhaseRuntime struct {
	RuntimeBasis       string   `json:"runtime_basis"`
	RuntimeReferenceMS *float64 `json:"runtime_reference_ms"`
	TimingProtocol     string   `json:"timing_protocol"`
	// Threads: ONNX Runtime intra-op threads of the phase's evaluations;
	// nil: each worker's own setting. One thread gives the steadiest
	// runtime ratios on a shared machine, and any fixed number makes
	// runtimes comparable across workers with different core counts.
	Threads *int `json:"threads"`
	// KeepReference leaves the reference as it is (the API request did
	// not name it); otherwise RuntimeReferenceMS is set, nil clearing it.
	// KeepThreads does the same for Threads.
	KeepReference bool `json:"-"`
	KeepThreads   bool `json:"-"`
}

// UpdatePhaseRuntime sets a phase's runtime basis, reference runtime,
// timing protocol and threads (the organizer API; the panel's phase form
// sets them with the rest). Empty basis or protocol keep the current one;
// the reference is set unless f.KeepReference (nil: the baseline's
// measured runtime), the threads unless f.KeepThreads (nil: the worker's).
// It returns the settings now in force.
func (s *Service) UpdatePhaseRuntime(ctx context.Context, v Viewer, slug, phase string, f PhaseRuntime) (PhaseRuntime, error) {
	c, err := s.organizes(ctx, v, slug)
	if err != nil {
		return PhaseRuntime{}, err
	}
	form := PhaseForm{RuntimeBasis: f.RuntimeBasis, RuntimeReferenceMS: f.RuntimeReferenceMS, TimingProtocol: f.TimingProtocol, Threads: f.Threads}
	if err := checkRuntimeSettings(form); err != nil {
		return PhaseRuntime{}, err
	}
	var out PhaseRuntime
	err = s.st.InTx(ctx, func(tx pgx.Tx) error {
		id, before, err := store.PhaseSettingsForUpdate(ctx, tx, c.ID, phase)
		if errors.Is(err, store.ErrNotFound) {
			return newErr(KindNotFound, "This challenge has no phase named %q.", phase)
		} else if err != nil {
			return err
		}
		next := before
		next.RuntimeBasis, next.RuntimeReferenceMS, next.TimingProtocol = runtimeSettings(form, before)
		if f.KeepReference {
			next.RuntimeReferenceMS = before.RuntimeReferenceMS
		}
		if !f.KeepThreads {
			next.Threads = f.Threads
		}
		if err := store.UpdatePhase(ctx, tx, id, next); err != nil {
			return err
		}
		out = phaseRuntimeOf(next)
		return s.audit(ctx, tx, v, c.ID, "phase.runtime", "phase "+phase, phaseRuntimeOf(before), out, "")
	})
	s.dropBoards()
	return out, err
}

func phaseRuntimeOf(p store.PhaseSettings) PhaseRuntime {
	return PhaseRuntime{RuntimeBasis: p.RuntimeBasis, RuntimeReferenceMS: p.RuntimeReferenceMS, TimingProtocol: p.TimingProtocol, Threads: p.Threads}
}
