package jobs

import "testing"

// Every inserting client (the web's insert-only one included) must give
// evaluation jobs the same attempt budget: River takes max_attempts from the
// inserting client, and its default of 25 would keep a submission "running"
// for weeks of backoff before the last-attempt handling runs.
func TestEvaluateInsertOpts(t *testing.T) {
	opts := Evaluate{}.InsertOpts()
	if opts.MaxAttempts != MaxAttempts || MaxAttempts > 10 || MaxAttempts < 2 {
		t.Fatalf("InsertOpts().MaxAttempts = %d (MaxAttempts %d)", opts.MaxAttempts, MaxAttempts)
	}
}
