-- Account bans (site admins). A banned account cannot log in; the session
-- and token lookups skip banned accounts, so whatever it holds stops
-- working at the moment of the ban, and its sessions are deleted then.
-- Unbanning clears banned_at; the reason stays for the audit log's sake
-- only in audit_events.
ALTER TABLE users
    ADD COLUMN banned_at timestamptz,
    ADD COLUMN banned_reason text NOT NULL DEFAULT '' CHECK (char_length(banned_reason) <= 500),
    ADD COLUMN banned_by text NOT NULL DEFAULT '';

-- A manual score override: an organizer sets one metric of a submission's
-- result with a reason. The measured value in results is never touched;
-- the board and the exports apply the active override and say so.
-- Reverting sets revoked_at, so the record and its history stay.
CREATE TABLE score_overrides (
    id            bigserial PRIMARY KEY,
    challenge_id  bigint NOT NULL REFERENCES challenges (id) ON DELETE CASCADE,
    submission_id bigint NOT NULL REFERENCES submissions (id) ON DELETE CASCADE,
    metric        text NOT NULL CHECK (metric IN ('psnr', 'ssim', 'runtime_ms', 'memory_mb')),
    value         double precision NOT NULL CHECK (value = value AND value BETWEEN -1e12 AND 1e12),
    reason        text NOT NULL CHECK (char_length(reason) BETWEEN 1 AND 500),
    created_by    text NOT NULL,
    created_at    timestamptz NOT NULL,
    revoked_at    timestamptz,
    revoked_by    text NOT NULL DEFAULT ''
);
-- One active override per metric of a submission.
CREATE UNIQUE INDEX score_overrides_active ON score_overrides (submission_id, metric) WHERE revoked_at IS NULL;
CREATE INDEX score_overrides_challenge ON score_overrides (challenge_id) WHERE revoked_at IS NULL;
CREATE TRIGGER score_overrides_board AFTER INSERT OR UPDATE OR DELETE ON score_overrides
    FOR EACH ROW EXECUTE FUNCTION srarena_board_changed();

-- A submission's earlier runs: before a re-run, the result row (as JSON,
-- whatever columns results has then), the status, message and log of the
-- run it replaces are archived here with its number and who asked for the
-- re-run. The current run stays in submissions/results/submission_logs.
CREATE TABLE result_history (
    id            bigserial PRIMARY KEY,
    submission_id bigint NOT NULL REFERENCES submissions (id) ON DELETE CASCADE,
    run           int NOT NULL CHECK (run >= 1),
    status        text NOT NULL,
    message       text NOT NULL DEFAULT '',
    worker        text NOT NULL DEFAULT '',
    started_at    timestamptz,
    finished_at   timestamptz,
    result        jsonb,
    log           text NOT NULL DEFAULT '',
    rerun_by      text NOT NULL,
    rerun_by_id   bigint REFERENCES users (id) ON DELETE SET NULL,
    archived_at   timestamptz NOT NULL,
    UNIQUE (submission_id, run)
);
