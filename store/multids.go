package store

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"
)

// EvalDataset is one dataset a submission is evaluated on, with its images
// in bytewise name order (as EvaluationInput orders them).
type EvalDataset struct {
	Dataset
	Images []DatasetImage
}

// EvaluationDatasets lists every dataset a submission is evaluated on: the
// datasets of its phase (phase_datasets) when the phase lists the
// submission's own dataset, else (rows written by SQL that predates phases)
// its own dataset only. The submission's own dataset (the phase's primary
// one when it was uploaded) comes first, then validation before test, then
// by name: the order of the evaluation, of its progress ("image i of N"
// counts them all) and of result_datasets.position.
func (s *Store) EvaluationDatasets(ctx context.Context, submissionID int64) ([]EvalDataset, error) {
	rows, err := s.pool.Query(ctx, `
		SELECT d.id, d.challenge_id, d.name, d.split, d.public, d.hr_public, d.id = s.dataset_id
		FROM submissions s
		JOIN datasets d ON d.id = s.dataset_id
		    OR (d.id IN (SELECT pd.dataset_id FROM phase_datasets pd WHERE pd.phase_id = s.phase_id)
		        AND EXISTS (SELECT 1 FROM phase_datasets pd WHERE pd.phase_id = s.phase_id AND pd.dataset_id = s.dataset_id))
		WHERE s.id = $1 AND d.challenge_id = s.challenge_id
		ORDER BY d.id = s.dataset_id DESC, d.split = 'validation' DESC, d.name COLLATE "C", d.id`, submissionID)
	if err != nil {
		return nil, translate(err, "evaluation datasets")
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (EvalDataset, error) {
		var d EvalDataset
		err := r.Scan(&d.ID, &d.ChallengeID, &d.Name, &d.Split, &d.Public, &d.HRPublic, &d.Primary)
		return d, err
	})
	if err != nil {
		return nil, translate(err, "evaluation datasets")
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("evaluation datasets of submission %d: %w", submissionID, ErrNotFound)
	}
	for i := range out {
		rows, err := s.pool.Query(ctx, `
			SELECT name, lr_sha256, hr_sha256 FROM dataset_images
			WHERE dataset_id = $1 ORDER BY name COLLATE "C"`, out[i].ID)
		if err != nil {
			return nil, translate(err, "dataset images")
		}
		out[i].Images, err = pgx.CollectRows(rows, func(r pgx.CollectableRow) (DatasetImage, error) {
			var im DatasetImage
			err := r.Scan(&im.Name, &im.LRSHA256, &im.HRSHA256)
			return im, err
		})
		if err != nil {
			return nil, translate(err, "dataset images")
		}
	}
	return out, nil
}

// writeDatasetResults replaces a submission's per-dataset results and SR
// outputs with r's, in the transaction that stores the combined result, and
// sets the combined result's per-split columns.
func writeDatasetResults(ctx context.Context, tx pgx.Tx, r *Result) error {
	if _, err := tx.Exec(ctx, `
		UPDATE results SET psnr_val = $2, psnr_test = $3, runtime_val_ms = $4, runtime_test_ms = $5
		WHERE submission_id = $1`, r.SubmissionID, r.PSNRVal, r.PSNRTest, r.RuntimeValMS, r.RuntimeTestMS); err != nil {
		return translate(err, "store per-split result")
	}
	if _, err := tx.Exec(ctx, `DELETE FROM result_datasets WHERE submission_id = $1`, r.SubmissionID); err != nil {
		return translate(err, "store dataset results")
	}
	if _, err := tx.Exec(ctx, `DELETE FROM sr_outputs WHERE submission_id = $1`, r.SubmissionID); err != nil {
		return translate(err, "store SR outputs")
	}
	for _, d := range r.Datasets {
		per := d.PerImage
		if len(per) == 0 {
			per = []byte("[]")
		}
		if _, err := tx.Exec(ctx, `
			INSERT INTO result_datasets (submission_id, dataset_id, split, position, images, psnr, psnr_y, ssim,
			    runtime_ms, runtime_std_ms, runtime_min_ms, runtime_max_ms, peak_memory_mb, runtime_ratio, per_image)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)`,
			r.SubmissionID, d.DatasetID, d.Split, d.Position, d.Images, d.PSNR, d.PSNRY, d.SSIM,
			d.RuntimeMS, d.RuntimeStdMS, d.RuntimeMinMS, d.RuntimeMaxMS, d.PeakMemoryMB, d.RuntimeRatio, per); err != nil {
			return translate(err, "store dataset result")
		}
	}
	for _, o := range r.Outputs {
		// The database refuses what the worker must never store: the
		// output of a test split or of a dataset that is not public.
		tag, err := tx.Exec(ctx, `
			INSERT INTO sr_outputs (submission_id, dataset_id, image_name, png_sha256, psnr)
			SELECT $1, d.id, $3, $4, $5 FROM datasets d
			WHERE d.id = $2 AND d.public AND d.split = 'validation'`,
			r.SubmissionID, o.DatasetID, o.ImageName, o.PNGSHA256, o.PSNR)
		if err != nil {
			return translate(err, "store SR output")
		}
		if tag.RowsAffected() != 1 {
			return fmt.Errorf("store SR output: dataset %d is not a public validation set", o.DatasetID)
		}
	}
	return nil
}

// ResultDatasets returns what each dataset measured for a submission, in
// evaluation order, per-image tables included.
func (s *Store) ResultDatasets(ctx context.Context, submissionID int64) ([]DatasetResult, error) {
	rows, err := s.pool.Query(ctx, `
		SELECT rd.dataset_id, d.name, rd.split, d.public, d.hr_public, rd.position, rd.images, rd.psnr, rd.psnr_y, rd.ssim,
		       rd.runtime_ms, rd.runtime_std_ms, rd.runtime_min_ms, rd.runtime_max_ms, rd.peak_memory_mb,
		       rd.runtime_ratio, rd.per_image
		FROM result_datasets rd JOIN datasets d ON d.id = rd.dataset_id
		WHERE rd.submission_id = $1
		ORDER BY rd.position, rd.dataset_id`, submissionID)
	if err != nil {
		return nil, translate(err, "dataset results")
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (DatasetResult, error) {
		var d DatasetResult
		err := r.Scan(&d.DatasetID, &d.Name, &d.Split, &d.Public, &d.HRPublic, &d.Position, &d.Images, &d.PSNR, &d.PSNRY, &d.SSIM,
			&d.RuntimeMS, &d.RuntimeStdMS, &d.RuntimeMinMS, &d.RuntimeMaxMS, &d.PeakMemoryMB, &d.RuntimeRatio, &d.PerImage)
		return d, err
	})
	return out, translate(err, "dataset results")
}

// CompareImage is one stored SR output with what the crop viewer shows
// beside it: its dataset and the LR and HR digests of the image.
type CompareImage struct {
	DatasetID   int64
	DatasetName string
	HRPublic    bool // the dataset's HR may be shown (always false off validation)
	Name        string
	PNGSHA256   string // the SR output
	PSNR        *float64
	LRSHA256    string
	HRSHA256    string
}

// CompareImages lists a submission's stored SR outputs (public validation
// datasets only; the table holds no other), by dataset then name.
func (s *Store) CompareImages(ctx context.Context, submissionID int64) ([]CompareImage, error) {
	rows, err := s.pool.Query(ctx, `
		SELECT o.dataset_id, d.name, d.hr_public AND d.split = 'validation', o.image_name, o.png_sha256, o.psnr,
		       i.lr_sha256, i.hr_sha256
		FROM sr_outputs o
		JOIN datasets d ON d.id = o.dataset_id
		JOIN dataset_images i ON i.dataset_id = o.dataset_id AND i.name = o.image_name
		WHERE o.submission_id = $1 AND d.public AND d.split = 'validation'
		ORDER BY d.name COLLATE "C", o.dataset_id, o.image_name COLLATE "C"`, submissionID)
	if err != nil {
		return nil, translate(err, "compare images")
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (CompareImage, error) {
		var c CompareImage
		err := r.Scan(&c.DatasetID, &c.DatasetName, &c.HRPublic, &c.Name, &c.PNGSHA256, &c.PSNR, &c.LRSHA256, &c.HRSHA256)
		return c, err
	})
	return out, translate(err, "compare images")
}

// SetDatasetHRPublic marks whether a dataset's HR images may be shown to
// everyone (the crop viewer); the database keeps it to public validation
// sets.
func SetDatasetHRPublic(ctx context.Context, tx pgx.Tx, datasetID int64, hrPublic bool) error {
	tag, err := tx.Exec(ctx, `UPDATE datasets SET hr_public = $2 WHERE id = $1 AND (NOT $2 OR (public AND split = 'validation'))`, datasetID, hrPublic)
	if err != nil {
		return translate(err, "dataset hr_public")
	}
	if tag.RowsAffected() != 1 {
		return fmt.Errorf("dataset %d: only a public validation set may show its HR images", datasetID)
	}
	return nil
}
