-- Events that rate limits count (failed logins, sign-ups, refused uploads),
-- shared by every web process: a limit holds across any number of `serve`
-- processes, not per process. Times come from the application's clock.
CREATE TABLE rate_events (
    id     bigserial PRIMARY KEY,
    bucket text NOT NULL,
    key    text NOT NULL,
    at     timestamptz NOT NULL
);
CREATE INDEX rate_events_key_idx ON rate_events (bucket, key, at);
-- Old events are swept by time.
CREATE INDEX rate_events_at_idx ON rate_events (at);
