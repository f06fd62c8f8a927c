// Package outcome is the closed set of ways an evaluation can end, each
// marked as caused by the model or by the platform. Only what the model
// caused (and successes) is charged to a participant's quota: a platform
// failure is retried, and when retries run out it stays visible to the
// organizers as the platform's, never as the participant's.
package outcome

import (
	"errors"
	"fmt"
)

// Kind is one outcome. It is stored in submissions.outcome.
type Kind string

const (
	// Succeeded: the evaluation produced a result.
	Succeeded Kind = "succeeded"

	// Caused by the model (final, charged).
	InvalidModel Kind = "invalid_model" // the static validator refused it
	LoadError    Kind = "load_error"    // ONNX Runtime could not load it
	RuntimeError Kind = "runtime_error" // inference failed
	Crashed      Kind = "crashed"       // the model process died or lied
	Timeout      Kind = "timeout"       // a time limit ran out
	OOM          Kind = "oom"           // the memory limit ran out
	BadOutput    Kind = "bad_output"    // wrong shape, NaN or Inf

	// Caused by the platform (not charged).
	MissingModel  Kind = "missing_model"  // the model blob is gone from storage (final: only a new upload helps)
	PlatformError Kind = "platform_error" // retries ran out on an infrastructure failure
	WorkerLost    Kind = "worker_lost"    // the worker stopped heartbeating; the job was requeued
	Cancelled     Kind = "cancelled"      // an organizer cancelled the evaluation
)

// All lists every outcome, model-caused first.
var All = []Kind{Succeeded, InvalidModel, LoadError, RuntimeError, Crashed, Timeout, OOM, BadOutput,
	MissingModel, PlatformError, WorkerLost, Cancelled}

// ModelCaused reports whether the model is to blame for k.
func (k Kind) ModelCaused() bool {
	switch k {
	case InvalidModel, LoadError, RuntimeError, Crashed, Timeout, OOM, BadOutput:
		return true
	}
	return false
}

// Charged reports whether a submission that ended with k counts in a
// quota: successes and the model's own failures do, platform failures not.
func (k Kind) Charged() bool { return k == Succeeded || k.ModelCaused() }

// Valid reports whether k is one of All.
func (k Kind) Valid() bool {
	for _, v := range All {
		if k == v {
			return true
		}
	}
	return false
}

// Error is a final failure with a message meant for the participant.
// Retrying cannot change it; Kind says whose fault it is.
type Error struct {
	Kind Kind
	Msg  string
}

func (e *Error) Error() string { return e.Msg }

// Errorf returns a final failure of kind k.
func Errorf(k Kind, format string, a ...any) *Error {
	return &Error{Kind: k, Msg: fmt.Sprintf(format, a...)}
}

// IsFinal reports whether err is (or wraps) an *Error.
func IsFinal(err error) bool {
	var e *Error
	return errors.As(err, &e)
}

// IsModelError reports whether err is a final failure the model caused.
func IsModelError(err error) bool {
	var e *Error
	return errors.As(err, &e) && e.Kind.ModelCaused()
}

// Of returns the kind of a final failure, and false for anything else.
func Of(err error) (Kind, bool) {
	var e *Error
	if errors.As(err, &e) {
		return e.Kind, true
	}
	return "", false
}
