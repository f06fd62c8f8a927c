-- Untimed runs per image before the timed repeats, so pages can say how the
-- runtime was measured without parsing per_image.
ALTER TABLE results
    ADD COLUMN warmup int NOT NULL DEFAULT 0 CHECK (warmup >= 0);
