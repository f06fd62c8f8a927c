-- A version per challenge, bumped by triggers whenever anything a public
-- board shows may have changed: a result, a submission (status, baseline
-- flag, deletion), the challenge itself (rules, title), a dataset. Every
-- `srarena serve` process caches rendered boards and serves them until the
-- version moves; it learns of a bump from NOTIFY srarena_board (payload:
-- the challenge id) and, while it cannot listen, by reading this table.
-- Phases, phase datasets and teams (migration 0005) change boards too.
-- Tables added later that change a board call srarena_bump_board(challenge_id)
-- from their own triggers.
CREATE TABLE board_versions (
    challenge_id bigint PRIMARY KEY REFERENCES challenges (id) ON DELETE CASCADE,
    version      bigint NOT NULL DEFAULT 1,
    changed_at   timestamptz NOT NULL DEFAULT now()
);

INSERT INTO board_versions (challenge_id) SELECT id FROM challenges;

CREATE FUNCTION srarena_bump_board(cid bigint) RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
    IF cid IS NULL THEN
        RETURN;
    END IF;
    INSERT INTO board_versions AS b (challenge_id) VALUES (cid)
    ON CONFLICT (challenge_id) DO UPDATE SET version = b.version + 1, changed_at = now();
    PERFORM pg_notify('srarena_board', cid::text);
EXCEPTION WHEN foreign_key_violation THEN
    -- The challenge is being deleted: its board goes with it.
    NULL;
END $$;

CREATE FUNCTION srarena_board_changed() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    r record;
BEGIN
    IF TG_OP = 'DELETE' THEN r := OLD; ELSE r := NEW; END IF;
    IF TG_TABLE_NAME = 'challenges' THEN
        PERFORM srarena_bump_board(r.id);
    ELSIF TG_TABLE_NAME = 'results' THEN
        PERFORM srarena_bump_board((SELECT challenge_id FROM submissions WHERE id = r.submission_id));
    ELSIF TG_TABLE_NAME = 'phase_datasets' THEN
        PERFORM srarena_bump_board((SELECT challenge_id FROM phases WHERE id = r.phase_id));
    ELSE -- submissions, datasets, phases, teams
        PERFORM srarena_bump_board(r.challenge_id);
    END IF;
    RETURN NULL;
END $$;

CREATE TRIGGER results_board AFTER INSERT OR UPDATE OR DELETE ON results
    FOR EACH ROW EXECUTE FUNCTION srarena_board_changed();
-- Status changes, baseline flags, labels, a team's chosen entry, hiding,
-- deletions; not the worker's attempt or progress counters, which no board
-- shows.
CREATE TRIGGER submissions_board AFTER UPDATE OF status, is_baseline, label, user_id, dataset_id, synthetic,
        phase_id, team_id, selected, hidden_reason OR DELETE ON submissions
    FOR EACH ROW EXECUTE FUNCTION srarena_board_changed();
CREATE TRIGGER phases_board AFTER INSERT OR UPDATE OR DELETE ON phases
    FOR EACH ROW EXECUTE FUNCTION srarena_board_changed();
CREATE TRIGGER phase_datasets_board AFTER INSERT OR UPDATE OR DELETE ON phase_datasets
    FOR EACH ROW EXECUTE FUNCTION srarena_board_changed();
CREATE TRIGGER teams_board AFTER UPDATE OR DELETE ON teams
    FOR EACH ROW EXECUTE FUNCTION srarena_board_changed();
CREATE TRIGGER challenges_board AFTER INSERT OR UPDATE ON challenges
    FOR EACH ROW EXECUTE FUNCTION srarena_board_changed();
CREATE TRIGGER datasets_board AFTER INSERT OR UPDATE OR DELETE ON datasets
    FOR EACH ROW EXECUTE FUNCTION srarena_board_changed();
-- A user's new name shows on every board they are on: rare, so bump all.
CREATE FUNCTION srarena_user_renamed() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM srarena_bump_board(c) FROM (SELECT DISTINCT challenge_id AS c FROM submissions WHERE user_id = NEW.id) s;
    RETURN NULL;
END $$;
CREATE TRIGGER users_board AFTER UPDATE OF username ON users
    FOR EACH ROW EXECUTE FUNCTION srarena_user_renamed();
