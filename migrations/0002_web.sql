-- Indexes the web side needs.

-- An invalid upload's blob is deleted only when no submission references the
-- same digest; this keeps that check cheap.
CREATE INDEX submissions_model_idx ON submissions (model_sha256);

-- The per-user daily quota counts a user's submissions to one challenge over
-- the last 24 hours.
CREATE INDEX submissions_quota_idx ON submissions (user_id, challenge_id, created_at DESC);

-- Expired sessions are swept by expires_at.
CREATE INDEX sessions_expires_idx ON sessions (expires_at);
