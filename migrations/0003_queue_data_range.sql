-- A challenge's evaluations all run on one hardware class, so its official
-- runtimes are comparable: jobs go to the challenge's queue.
ALTER TABLE challenges
    ADD COLUMN queue text NOT NULL DEFAULT 'eval_cpu' CHECK (queue IN ('eval_cpu', 'eval_gpu'));

-- The pixel range the model expects and produces (protocol.md §1.1): 1.0
-- (inputs /255, outputs ×255) or 255.0. Chosen by the participant at upload.
ALTER TABLE submissions
    ADD COLUMN data_range real NOT NULL DEFAULT 1 CHECK (data_range IN (1, 255));

-- Which device actually ran it, for the record and the leaderboard.
ALTER TABLE results
    ADD COLUMN sandbox text NOT NULL DEFAULT '';
