-- Fair runtimes (issue #10 §4), per phase: what the board ranks a runtime
-- by, and how the runner times it.
--   runtime_basis    raw: the measured runtime; ratio: the runtime ratio to
--                    the baseline timed next to the submission (results.
--                    runtime_ratio) × the baseline's reference runtime.
--   runtime_reference_ms  that reference; NULL: the runtime the newest
--                    baseline result measured on the board's dataset.
--   timing_protocol  robust: warm-up, repeats, median; official: one pass
--                    per image, no warm-up, mean (the challenges' scripts).
ALTER TABLE phases
    ADD COLUMN runtime_basis text NOT NULL DEFAULT 'raw' CHECK (runtime_basis IN ('raw', 'ratio')),
    ADD COLUMN runtime_reference_ms double precision CHECK (runtime_reference_ms > 0 AND runtime_reference_ms < 1e7),
    ADD COLUMN timing_protocol text NOT NULL DEFAULT 'robust' CHECK (timing_protocol IN ('robust', 'official'));

-- The runner's own estimate of its ratio's spread (relative standard error
-- from the paired runs' dispersion) and the clock the ratio compares.
ALTER TABLE results
    ADD COLUMN runtime_ratio_cv double precision CHECK (runtime_ratio_cv >= 0),
    ADD COLUMN runtime_ratio_clock text CHECK (runtime_ratio_clock IN ('wall', 'cpu'));
