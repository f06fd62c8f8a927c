-- srarena schema, first cut. River's own tables are applied by rivermigrate
-- (see migrations.go), not here.

CREATE TABLE users (
    id            bigserial PRIMARY KEY,
    email         text NOT NULL,
    username      text NOT NULL,
    password_hash text NOT NULL,
    is_admin      boolean NOT NULL DEFAULT false,
    created_at    timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT users_username_format CHECK (username ~ '^[a-zA-Z0-9_.-]{2,40}$')
);
CREATE UNIQUE INDEX users_email_key ON users (lower(email));
CREATE UNIQUE INDEX users_username_key ON users (lower(username));

-- Only a hash of the session token is stored: a leaked table dump does not
-- let anyone log in.
CREATE TABLE sessions (
    token_hash  bytea PRIMARY KEY,
    user_id     bigint NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    csrf_token  text NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now(),
    expires_at  timestamptz NOT NULL
);
CREATE INDEX sessions_user_idx ON sessions (user_id);

CREATE TABLE challenges (
    id               bigserial PRIMARY KEY,
    slug             text NOT NULL UNIQUE CHECK (slug ~ '^[a-z0-9][a-z0-9-]{1,62}$'),
    title            text NOT NULL,
    description      text NOT NULL DEFAULT '',
    scale            int  NOT NULL DEFAULT 4 CHECK (scale BETWEEN 2 AND 8),
    -- A scoring.Rules value: ranking rules are data, not code paths.
    rules            jsonb NOT NULL,
    max_upload_bytes bigint NOT NULL DEFAULT 67108864 CHECK (max_upload_bytes > 0),
    daily_quota      int NOT NULL DEFAULT 10 CHECK (daily_quota >= 0),
    opens_at         timestamptz,
    closes_at        timestamptz,
    created_at       timestamptz NOT NULL DEFAULT now()
);

-- Images are blobs addressed by sha256; HR images never leave the worker's
-- parent process.
CREATE TABLE datasets (
    id           bigserial PRIMARY KEY,
    challenge_id bigint NOT NULL REFERENCES challenges (id) ON DELETE CASCADE,
    name         text NOT NULL,
    split        text NOT NULL CHECK (split IN ('validation', 'test')),
    created_at   timestamptz NOT NULL DEFAULT now(),
    UNIQUE (challenge_id, name)
);

CREATE TABLE dataset_images (
    dataset_id bigint NOT NULL REFERENCES datasets (id) ON DELETE CASCADE,
    name       text NOT NULL,
    lr_sha256  text NOT NULL CHECK (lr_sha256 ~ '^[0-9a-f]{64}$'),
    hr_sha256  text NOT NULL CHECK (hr_sha256 ~ '^[0-9a-f]{64}$'),
    PRIMARY KEY (dataset_id, name)
);

CREATE TABLE submissions (
    id            bigserial PRIMARY KEY,
    challenge_id  bigint NOT NULL REFERENCES challenges (id) ON DELETE CASCADE,
    user_id       bigint REFERENCES users (id) ON DELETE SET NULL,
    dataset_id    bigint NOT NULL REFERENCES datasets (id),
    label         text NOT NULL DEFAULT '',
    model_sha256  text NOT NULL CHECK (model_sha256 ~ '^[0-9a-f]{64}$'),
    model_bytes   bigint NOT NULL CHECK (model_bytes > 0),
    -- onnxmodel.Profile (params, FLOPs, activations, conv layers) from the
    -- static inspection at upload time.
    profile       jsonb,
    is_baseline   boolean NOT NULL DEFAULT false,
    status        text NOT NULL DEFAULT 'queued'
                  CHECK (status IN ('queued', 'running', 'finished', 'failed')),
    -- What a participant can act on when status = 'failed'.
    message       text NOT NULL DEFAULT '',
    attempts      int NOT NULL DEFAULT 0,
    worker        text NOT NULL DEFAULT '',
    created_at    timestamptz NOT NULL DEFAULT now(),
    started_at    timestamptz,
    finished_at   timestamptz
);
CREATE INDEX submissions_challenge_idx ON submissions (challenge_id, status);
CREATE INDEX submissions_user_idx ON submissions (user_id, created_at DESC);

CREATE TABLE results (
    submission_id     bigint PRIMARY KEY REFERENCES submissions (id) ON DELETE CASCADE,
    psnr              double precision NOT NULL,
    psnr_y            double precision,
    ssim              double precision,
    runtime_ms        double precision NOT NULL, -- mean over images of the per-image median
    runtime_std_ms    double precision,          -- spread across repeats, pooled over images
    runtime_min_ms    double precision,
    runtime_max_ms    double precision,
    repeats           int NOT NULL DEFAULT 1,
    peak_memory_mb    double precision,
    device            text NOT NULL DEFAULT '',
    ort_version       text NOT NULL DEFAULT '',
    per_image         jsonb NOT NULL DEFAULT '[]',
    created_at        timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE submission_logs (
    id            bigserial PRIMARY KEY,
    submission_id bigint NOT NULL REFERENCES submissions (id) ON DELETE CASCADE,
    at            timestamptz NOT NULL DEFAULT now(),
    line          text NOT NULL
);
CREATE INDEX submission_logs_sub_idx ON submission_logs (submission_id, id);
