-- The organizers' audit log: every organizer action writes one row in the
-- same transaction as the change itself, so the log can never disagree
-- with the data. before/after hold the changed fields as JSON.
CREATE TABLE audit_events (
    id           bigserial PRIMARY KEY,
    -- NULL for site-level actions (a new challenge is logged under itself).
    challenge_id bigint REFERENCES challenges (id) ON DELETE SET NULL,
    actor_id     bigint REFERENCES users (id) ON DELETE SET NULL,
    -- The actor's name when it acted: the log stays readable after an
    -- account is renamed or deleted.
    actor        text NOT NULL,
    action       text NOT NULL CHECK (action ~ '^[a-z][a-z_.]{1,60}$'),
    target       text NOT NULL DEFAULT '',
    before       jsonb,
    after        jsonb,
    reason       text NOT NULL DEFAULT '' CHECK (char_length(reason) <= 2000),
    at           timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX audit_events_challenge_idx ON audit_events (challenge_id, id DESC);

-- Which template (scoring preset) a challenge was made from; '' for one made
-- by SQL or the demo seed.
ALTER TABLE challenges ADD COLUMN template text NOT NULL DEFAULT '';

-- A frozen final ranking: the export of a phase's results at one moment,
-- stored as it was; later re-runs change the live board, never a frozen
-- ranking. Freezing again makes a new version.
CREATE TABLE frozen_rankings (
    id         bigserial PRIMARY KEY,
    phase_id   bigint NOT NULL REFERENCES phases (id) ON DELETE CASCADE,
    version    int NOT NULL CHECK (version >= 1),
    frozen_at  timestamptz NOT NULL,
    frozen_by  text NOT NULL,
    csv        text NOT NULL,
    UNIQUE (phase_id, version)
);

-- An imported dataset's manifest: every image's name, checksums, sizes and
-- whether its LR was generated (dataset.Manifest as JSON).
ALTER TABLE datasets ADD COLUMN manifest jsonb;
