-- Phases, teams and registrations (shared/design/domain.md). Existing rows
-- move forward without loss: every challenge gets a default phase holding
-- its datasets, window and quota; every user who submitted to a challenge
-- becomes a registered solo team whose submissions move to it.

-- Challenge settings participants meet when they register.
ALTER TABLE challenges
    ADD COLUMN terms           text NOT NULL DEFAULT '',
    ADD COLUMN team_size_limit int  NOT NULL DEFAULT 5 CHECK (team_size_limit BETWEEN 1 AND 100),
    ADD COLUMN registration    text NOT NULL DEFAULT 'open' CHECK (registration IN ('open', 'approval'));

-- A public dataset's validation LR images may be downloaded for self-checks.
ALTER TABLE datasets ADD COLUMN public boolean NOT NULL DEFAULT false;

-- Organizer rights are per challenge; site admins have them everywhere.
CREATE TABLE challenge_organizers (
    challenge_id bigint NOT NULL REFERENCES challenges (id) ON DELETE CASCADE,
    user_id      bigint NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (challenge_id, user_id)
);

-- A phase: a window of a challenge with its own data, quotas and board.
-- Windows are at minute precision (organizers set them in minutes; a
-- second-precise deadline is a trap nobody can see on a page).
CREATE TABLE phases (
    id               bigserial PRIMARY KEY,
    challenge_id     bigint NOT NULL REFERENCES challenges (id) ON DELETE CASCADE,
    name             text NOT NULL CHECK (name ~ '^[a-z0-9][a-z0-9-]{0,39}$'),
    title            text NOT NULL DEFAULT '',
    position         int  NOT NULL DEFAULT 0,
    opens_at         timestamptz CHECK (opens_at = date_trunc('minute', opens_at)),
    closes_at        timestamptz CHECK (closes_at = date_trunc('minute', closes_at)),
    -- 0 means unlimited. The daily quota resets at 00:00 UTC.
    quota_daily      int NOT NULL DEFAULT 10 CHECK (quota_daily >= 0),
    quota_total      int NOT NULL DEFAULT 0  CHECK (quota_total >= 0),
    quota_concurrent int NOT NULL DEFAULT 0  CHECK (quota_concurrent >= 0),
    -- Which submission represents a team on the board.
    entry_rule       text NOT NULL DEFAULT 'best' CHECK (entry_rule IN ('best', 'last', 'selected')),
    -- public; hidden until revealed_at (then public); organizers only.
    visibility       text NOT NULL DEFAULT 'public' CHECK (visibility IN ('public', 'hidden', 'organizers')),
    revealed_at      timestamptz,
    created_at       timestamptz NOT NULL DEFAULT now(),
    UNIQUE (challenge_id, name),
    UNIQUE (id, challenge_id),
    CHECK (opens_at IS NULL OR closes_at IS NULL OR opens_at < closes_at)
);

-- A phase scores on one or more of its challenge's datasets (NTIRE:
-- validation and test). The primary one is what a submission is evaluated
-- on today (submissions.dataset_id).
CREATE TABLE phase_datasets (
    phase_id   bigint NOT NULL REFERENCES phases (id) ON DELETE CASCADE,
    dataset_id bigint NOT NULL REFERENCES datasets (id) ON DELETE RESTRICT,
    is_primary boolean NOT NULL DEFAULT false,
    PRIMARY KEY (phase_id, dataset_id)
);
CREATE UNIQUE INDEX phase_datasets_primary_key ON phase_datasets (phase_id) WHERE is_primary;

-- A team competes in one challenge. A solo participant is a team of one.
CREATE TABLE teams (
    id                  bigserial PRIMARY KEY,
    challenge_id        bigint NOT NULL REFERENCES challenges (id) ON DELETE CASCADE,
    name                text NOT NULL CHECK (char_length(name) BETWEEN 1 AND 60 AND name = btrim(name)),
    solo                boolean NOT NULL DEFAULT false,
    disqualified_reason text NOT NULL DEFAULT '',
    created_at          timestamptz NOT NULL DEFAULT now(),
    UNIQUE (id, challenge_id)
);
CREATE UNIQUE INDEX teams_name_key ON teams (challenge_id, lower(name));

-- A participant is in at most one team per challenge.
CREATE TABLE team_members (
    team_id      bigint NOT NULL,
    challenge_id bigint NOT NULL,
    user_id      bigint NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    joined_at    timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (team_id, user_id),
    UNIQUE (challenge_id, user_id),
    FOREIGN KEY (team_id, challenge_id) REFERENCES teams (id, challenge_id) ON DELETE CASCADE
);

-- Registration: terms accepted, and the organizers' decision where the
-- challenge needs approval.
CREATE TABLE registrations (
    challenge_id      bigint NOT NULL REFERENCES challenges (id) ON DELETE CASCADE,
    user_id           bigint NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    state             text NOT NULL DEFAULT 'approved' CHECK (state IN ('pending', 'approved', 'rejected')),
    terms_accepted_at timestamptz NOT NULL,
    decided_at        timestamptz,
    created_at        timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (challenge_id, user_id)
);

-- Invitation links. Only a hash of the token is stored.
CREATE TABLE team_invitations (
    id          bigserial PRIMARY KEY,
    team_id     bigint NOT NULL REFERENCES teams (id) ON DELETE CASCADE,
    token_hash  bytea NOT NULL UNIQUE,
    created_by  bigint REFERENCES users (id) ON DELETE SET NULL,
    created_at  timestamptz NOT NULL DEFAULT now(),
    expires_at  timestamptz NOT NULL,
    revoked_at  timestamptz
);
CREATE INDEX team_invitations_team_idx ON team_invitations (team_id);

ALTER TABLE submissions
    ADD COLUMN phase_id      bigint,
    ADD COLUMN team_id       bigint,
    ADD COLUMN method_name   text NOT NULL DEFAULT '' CHECK (char_length(method_name) <= 100),
    ADD COLUMN description   text NOT NULL DEFAULT '' CHECK (char_length(description) <= 2000),
    ADD COLUMN selected      boolean NOT NULL DEFAULT false,
    ADD COLUMN hidden_reason text NOT NULL DEFAULT '',
    ADD COLUMN cancelled_at  timestamptz,
    -- Progress of the running evaluation, written per image by the runner.
    ADD COLUMN images_done   int NOT NULL DEFAULT 0 CHECK (images_done >= 0),
    ADD COLUMN images_total  int NOT NULL DEFAULT 0 CHECK (images_total >= 0),
    ADD FOREIGN KEY (phase_id, challenge_id) REFERENCES phases (id, challenge_id),
    ADD FOREIGN KEY (team_id, challenge_id) REFERENCES teams (id, challenge_id);
ALTER TABLE submissions DROP CONSTRAINT submissions_status_check;
ALTER TABLE submissions ADD CONSTRAINT submissions_status_check
    CHECK (status IN ('queued', 'running', 'finished', 'failed', 'cancelled'));
-- A team's chosen entry: at most one per phase.
CREATE UNIQUE INDEX submissions_selected_key ON submissions (team_id, phase_id) WHERE selected;
CREATE INDEX submissions_team_idx ON submissions (team_id, phase_id, created_at DESC);
CREATE INDEX submissions_phase_idx ON submissions (phase_id, status);

-- Existing rows, forward. One default phase per challenge, carrying the
-- challenge's window (cut to the minute) and daily quota; the old board
-- ranked each user's best submission, so the rule stays "best".
INSERT INTO phases (challenge_id, name, title, position, opens_at, closes_at, quota_daily, entry_rule, visibility)
SELECT id, 'main', 'Main phase', 0, date_trunc('minute', opens_at),
       CASE WHEN closes_at IS NULL THEN NULL
            WHEN date_trunc('minute', opens_at) >= date_trunc('minute', closes_at) THEN date_trunc('minute', opens_at) + interval '1 minute'
            ELSE date_trunc('minute', closes_at) END,
       daily_quota, 'best', 'public'
FROM challenges;

INSERT INTO phase_datasets (phase_id, dataset_id, is_primary)
SELECT p.id, d.id, d.id = (
        SELECT d2.id FROM datasets d2 WHERE d2.challenge_id = d.challenge_id
        ORDER BY (d2.split = 'validation') DESC, d2.created_at DESC, d2.id DESC LIMIT 1)
FROM phases p JOIN datasets d ON d.challenge_id = p.challenge_id;

UPDATE submissions s SET phase_id = p.id FROM phases p WHERE p.challenge_id = s.challenge_id;

-- Every user who submitted (baselines aside) becomes a solo team named after
-- them, registered with the terms taken as accepted at their first upload.
INSERT INTO teams (challenge_id, name, solo, created_at)
SELECT s.challenge_id, u.username, true, min(s.created_at)
FROM submissions s JOIN users u ON u.id = s.user_id
WHERE NOT s.is_baseline
GROUP BY s.challenge_id, u.id, u.username;

INSERT INTO team_members (team_id, challenge_id, user_id, joined_at)
SELECT t.id, t.challenge_id, u.id, t.created_at
FROM teams t JOIN users u ON lower(u.username) = lower(t.name);

INSERT INTO registrations (challenge_id, user_id, state, terms_accepted_at, decided_at, created_at)
SELECT challenge_id, user_id, 'approved', joined_at, joined_at, joined_at FROM team_members;

UPDATE submissions s SET team_id = m.team_id
FROM team_members m
WHERE m.challenge_id = s.challenge_id AND m.user_id = s.user_id AND NOT s.is_baseline;

ALTER TABLE submissions ALTER COLUMN phase_id SET NOT NULL;
-- A participant's submission has a team; a baseline belongs to the phase; a
-- submission whose account is gone may have none (the board then keeps it
-- on a row of its own, as before teams).
ALTER TABLE submissions ADD CONSTRAINT submissions_team_check CHECK (is_baseline OR team_id IS NOT NULL OR user_id IS NULL);
