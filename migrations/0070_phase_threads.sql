-- ONNX Runtime intra-op threads a phase's evaluations run with (issue #10
-- §4). NULL: the worker's own setting (SRARENA_THREADS, default its CPU
-- count). A phase that names a number makes its runtimes comparable across
-- workers with different core counts, and one thread gives the steadiest
-- runtime ratios on a shared machine; a worker with fewer CPUs than asked
-- runs with as many threads as it has CPUs and records that in the
-- result's environment.
ALTER TABLE phases
    ADD COLUMN ort_threads integer CHECK (ort_threads BETWEEN 1 AND 256);
