-- Final runtimes. NTIRE's organizers re-timed the finalists by hand on one
-- GPU with more repeats; here an organizer asks for "the top N of a phase
-- on the official hardware class with R repeats" (a run), and every timing
-- is a record of its own: the participant's normal result, quota and
-- history stay as they are. The phase's final ranking (board, freeze,
-- export) uses the newest run's finished timings and says so.
CREATE TABLE final_timing_runs (
    id           bigserial PRIMARY KEY,
    phase_id     bigint NOT NULL REFERENCES phases (id) ON DELETE CASCADE,
    top_n        int NOT NULL CHECK (top_n BETWEEN 1 AND 100),
    repeats      int NOT NULL CHECK (repeats BETWEEN 1 AND 1000),
    queue        text NOT NULL,              -- the official hardware class
    requested_by text NOT NULL,
    requested_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX final_timing_runs_phase_idx ON final_timing_runs (phase_id, id DESC);

CREATE TABLE final_timings (
    id             bigserial PRIMARY KEY,
    run_id         bigint NOT NULL REFERENCES final_timing_runs (id) ON DELETE CASCADE,
    submission_id  bigint NOT NULL REFERENCES submissions (id) ON DELETE CASCADE,
    status         text NOT NULL DEFAULT 'queued' CHECK (status IN ('queued', 'running', 'finished', 'failed')),
    runtime_ms     double precision CHECK (runtime_ms > 0),
    runtime_std_ms double precision,
    repeats        int,
    device         text NOT NULL DEFAULT '',
    hardware       text NOT NULL DEFAULT '',
    environment    jsonb NOT NULL DEFAULT '{}',
    worker         text NOT NULL DEFAULT '',
    message        text NOT NULL DEFAULT '',
    finished_at    timestamptz,
    UNIQUE (run_id, submission_id)
);

-- A frozen ranking says where its runtimes came from.
ALTER TABLE frozen_rankings ADD COLUMN note text NOT NULL DEFAULT '';

-- A finished final timing changes the phase's board.
CREATE FUNCTION srarena_final_timing_changed() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM srarena_bump_board((SELECT challenge_id FROM submissions WHERE id = NEW.submission_id));
    RETURN NULL;
END $$;
CREATE TRIGGER final_timings_board AFTER UPDATE OF status, runtime_ms ON final_timings
    FOR EACH ROW EXECUTE FUNCTION srarena_final_timing_changed();
