-- Defaults that keep writers which predate phases and teams working (the
-- runner's and organizers' SQL, tools, older tests): every write the web
-- side makes names its phase and team itself.

-- Deleting a dataset takes it out of its phases (submissions that used it
-- still keep it from being deleted).
ALTER TABLE phase_datasets DROP CONSTRAINT phase_datasets_dataset_id_fkey;
ALTER TABLE phase_datasets ADD CONSTRAINT phase_datasets_dataset_id_fkey
    FOREIGN KEY (dataset_id) REFERENCES datasets (id) ON DELETE CASCADE;

-- A new dataset of a challenge with a single phase that has no primary
-- dataset becomes that phase's primary dataset.
CREATE FUNCTION srarena_dataset_to_phase() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO phase_datasets (phase_id, dataset_id, is_primary)
    SELECT p.id, NEW.id, true FROM phases p
    WHERE p.challenge_id = NEW.challenge_id
      AND (SELECT count(*) FROM phases WHERE challenge_id = NEW.challenge_id) = 1
      AND NOT EXISTS (SELECT 1 FROM phase_datasets pd WHERE pd.phase_id = p.id AND pd.is_primary);
    RETURN NULL;
END $$;
CREATE TRIGGER datasets_to_phase AFTER INSERT ON datasets
    FOR EACH ROW EXECUTE FUNCTION srarena_dataset_to_phase();

-- A submission inserted without a phase goes to the phase its dataset
-- belongs to (the primary one first); without a team, a participant's goes
-- to their team in the challenge, or to a new solo team named after them,
-- registered as approved (a solo participant is a team of one).
CREATE FUNCTION srarena_submission_defaults() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    uname text;
BEGIN
    IF NEW.phase_id IS NULL THEN
        SELECT pd.phase_id INTO NEW.phase_id
        FROM phase_datasets pd JOIN phases p ON p.id = pd.phase_id
        WHERE pd.dataset_id = NEW.dataset_id AND p.challenge_id = NEW.challenge_id
        ORDER BY pd.is_primary DESC, p.position, p.id LIMIT 1;
        IF NEW.phase_id IS NULL AND (SELECT count(*) FROM phases WHERE challenge_id = NEW.challenge_id) = 1 THEN
            SELECT id INTO NEW.phase_id FROM phases WHERE challenge_id = NEW.challenge_id;
        END IF;
        -- A challenge created without phases (by plain SQL) gets the
        -- default phase 0005 gave every old challenge, with its datasets.
        IF NEW.phase_id IS NULL AND NOT EXISTS (SELECT 1 FROM phases WHERE challenge_id = NEW.challenge_id) THEN
            INSERT INTO phases (challenge_id, name, title, opens_at, closes_at, quota_daily)
            SELECT id, 'main', 'Main phase', date_trunc('minute', opens_at),
                   CASE WHEN date_trunc('minute', closes_at) > date_trunc('minute', opens_at) OR opens_at IS NULL
                        THEN date_trunc('minute', closes_at) END,
                   daily_quota
            FROM challenges WHERE id = NEW.challenge_id
            RETURNING id INTO NEW.phase_id;
            INSERT INTO phase_datasets (phase_id, dataset_id, is_primary)
            SELECT NEW.phase_id, d.id, d.id = NEW.dataset_id FROM datasets d WHERE d.challenge_id = NEW.challenge_id;
        END IF;
    END IF;
    IF NEW.team_id IS NULL AND NOT NEW.is_baseline AND NEW.user_id IS NOT NULL THEN
        SELECT team_id INTO NEW.team_id FROM team_members
        WHERE challenge_id = NEW.challenge_id AND user_id = NEW.user_id;
        IF NEW.team_id IS NULL THEN
            SELECT username INTO uname FROM users WHERE id = NEW.user_id;
            IF EXISTS (SELECT 1 FROM teams WHERE challenge_id = NEW.challenge_id AND lower(name) = lower(uname)) THEN
                uname := uname || ' #' || NEW.user_id;
            END IF;
            INSERT INTO teams (challenge_id, name, solo) VALUES (NEW.challenge_id, uname, true)
            RETURNING id INTO NEW.team_id;
            INSERT INTO team_members (team_id, challenge_id, user_id) VALUES (NEW.team_id, NEW.challenge_id, NEW.user_id);
            INSERT INTO registrations (challenge_id, user_id, state, terms_accepted_at, decided_at)
            VALUES (NEW.challenge_id, NEW.user_id, 'approved', now(), now())
            ON CONFLICT (challenge_id, user_id) DO NOTHING;
        END IF;
    END IF;
    RETURN NEW;
END $$;
CREATE TRIGGER submissions_defaults BEFORE INSERT ON submissions
    FOR EACH ROW EXECUTE FUNCTION srarena_submission_defaults();
