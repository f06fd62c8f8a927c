package store

import (
	"context"

	"github.com/jackc/pgx/v5"
)

// DatasetNamed returns a challenge's dataset by name.
func (s *Store) DatasetNamed(ctx context.Context, challengeID int64, name string) (Dataset, error) {
	var d Dataset
	err := s.pool.QueryRow(ctx, `SELECT id, challenge_id, name, split, public FROM datasets WHERE challenge_id = $1 AND name = $2`,
		challengeID, name).Scan(&d.ID, &d.ChallengeID, &d.Name, &d.Split, &d.Public)
	return d, translate(err, "dataset "+name)
}

// DatasetImagesOf lists a dataset's images by name (byte order, as the
// evaluation reads them).
func (s *Store) DatasetImagesOf(ctx context.Context, datasetID int64) ([]DatasetImage, error) {
	rows, err := s.pool.Query(ctx, `
		SELECT name, lr_sha256, hr_sha256 FROM dataset_images
		WHERE dataset_id = $1 ORDER BY name COLLATE "C"`, datasetID)
	if err != nil {
		return nil, translate(err, "dataset images")
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (DatasetImage, error) {
		var im DatasetImage
		err := r.Scan(&im.Name, &im.LRSHA256, &im.HRSHA256)
		return im, err
	})
	return out, translate(err, "dataset images")
}
