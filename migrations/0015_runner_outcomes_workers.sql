-- How each evaluation ended (runner/outcome: a closed set), and whether it
-- counts against a quota. Model-caused failures and successes are charged;
-- platform failures (missing data, retries run out, a lost worker) are not,
-- and stay visible to organizers as what they are. NULL while queued or
-- running, and for rows from before this migration.
ALTER TABLE submissions
    ADD COLUMN outcome text CHECK (outcome IN (
        'succeeded',
        'invalid_model', 'load_error', 'runtime_error', 'crashed', 'timeout', 'oom', 'bad_output',
        'missing_model', 'platform_error', 'worker_lost', 'cancelled')),
    ADD COLUMN charged boolean NOT NULL DEFAULT true;

-- Every evaluation worker, as it last reported itself. A worker upserts its
-- row every few seconds; the lost-worker sweep (a River periodic job) marks
-- one whose heartbeat stopped as lost and requeues its evaluation.
CREATE TABLE workers (
    id                 text PRIMARY KEY,          -- River client id: host-pid-random
    host               text NOT NULL,
    queue              text NOT NULL,             -- hardware class: eval_cpu, eval_gpu
    device             text NOT NULL,             -- cpu / cuda
    hardware           text NOT NULL DEFAULT '',  -- CPU model (and GPU model, driver)
    ort_version        text NOT NULL DEFAULT '',
    threads            int NOT NULL DEFAULT 0,
    current_submission bigint,
    current_job        bigint,
    started_at         timestamptz NOT NULL DEFAULT now(),
    last_heartbeat     timestamptz NOT NULL DEFAULT now(),
    lost_at            timestamptz,
    done               int NOT NULL DEFAULT 0,
    failed             int NOT NULL DEFAULT 0
);
CREATE INDEX workers_heartbeat_idx ON workers (last_heartbeat) WHERE lost_at IS NULL;

-- The measurement's context: hardware and software of the machine, the
-- timing protocol, and the runtime relative to the challenge's baseline
-- timed in the same sandbox, image by image.
ALTER TABLE results
    ADD COLUMN environment jsonb NOT NULL DEFAULT '{}',
    ADD COLUMN protocol text NOT NULL DEFAULT 'robust' CHECK (protocol IN ('robust', 'official')),
    ADD COLUMN runtime_ratio double precision CHECK (runtime_ratio > 0),
    ADD COLUMN runtime_ratio_std double precision,
    ADD COLUMN baseline_runtime_ms double precision;
