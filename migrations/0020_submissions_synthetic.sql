-- Submissions made up by `srarena seed` (demos, screenshots, load tests):
-- their results were never measured, and every page that shows them says so.
ALTER TABLE submissions ADD COLUMN synthetic boolean NOT NULL DEFAULT false;
