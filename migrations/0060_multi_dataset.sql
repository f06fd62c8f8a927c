-- A phase is evaluated on every one of its datasets (NTIRE: validation and
-- test, runtime averaged over both). The results row stays the combined
-- result the board ranks; what each dataset measured is kept beside it.

-- The combined result's per-split figures, named as the rule sets name the
-- metrics (psnr_val, psnr_test, runtime_val_ms, runtime_test_ms). NULL: the
-- phase has no dataset of that split. results.psnr stays the PSNR of the
-- submission's primary dataset's split, results.runtime_ms the mean of the
-- per-split runtimes ((val + test) / 2, protocol.md §2.1).
ALTER TABLE results
    ADD COLUMN psnr_val        double precision,
    ADD COLUMN psnr_test       double precision,
    ADD COLUMN runtime_val_ms  double precision,
    ADD COLUMN runtime_test_ms double precision;

-- Results from before: one dataset, the submission's own.
UPDATE results r SET psnr_val = r.psnr, runtime_val_ms = r.runtime_ms
FROM submissions s JOIN datasets d ON d.id = s.dataset_id
WHERE s.id = r.submission_id AND d.split = 'validation';
UPDATE results r SET psnr_test = r.psnr, runtime_test_ms = r.runtime_ms
FROM submissions s JOIN datasets d ON d.id = s.dataset_id
WHERE s.id = r.submission_id AND d.split = 'test';

-- One row per (submission, dataset) of the phase. It goes with the
-- combined result: a failed re-run that deletes the result deletes these.
-- per_image names a test split's images by position only ("image 3"), as
-- results.per_image does.
CREATE TABLE result_datasets (
    submission_id  bigint NOT NULL REFERENCES results (submission_id) ON DELETE CASCADE,
    dataset_id     bigint NOT NULL REFERENCES datasets (id) ON DELETE CASCADE,
    split          text NOT NULL CHECK (split IN ('validation', 'test')),
    position       int NOT NULL DEFAULT 0, -- evaluation order within the submission
    images         int NOT NULL CHECK (images > 0),
    psnr           double precision NOT NULL,
    psnr_y         double precision,
    ssim           double precision,
    runtime_ms     double precision NOT NULL,
    runtime_std_ms double precision,
    runtime_min_ms double precision,
    runtime_max_ms double precision,
    peak_memory_mb double precision,
    runtime_ratio  double precision,
    per_image      jsonb NOT NULL DEFAULT '[]',
    created_at     timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (submission_id, dataset_id)
);

-- The HR images of a dataset may be shown to everyone (the crop viewer):
-- only when the organizers say so (the demo's images are CC0). HR of a
-- test split is never shown, whatever this flag says.
ALTER TABLE datasets ADD COLUMN hr_public boolean NOT NULL DEFAULT false;

-- The super-resolved outputs of a submission on a public validation
-- dataset, as content-addressed PNG blobs, for the crop viewer. Never
-- written for a test split or a dataset that is not public.
CREATE TABLE sr_outputs (
    submission_id bigint NOT NULL REFERENCES results (submission_id) ON DELETE CASCADE,
    dataset_id    bigint NOT NULL REFERENCES datasets (id) ON DELETE CASCADE,
    image_name    text NOT NULL,
    png_sha256    text NOT NULL CHECK (png_sha256 ~ '^[0-9a-f]{64}$'),
    psnr          double precision,
    PRIMARY KEY (submission_id, dataset_id, image_name)
);
