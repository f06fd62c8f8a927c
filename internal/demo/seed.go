package demo

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"sort"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/srarena/srarena/onnxmodel/onnxbuild"
	"github.com/srarena/srarena/scoring"
	"github.com/srarena/srarena/store"
)

// Slug of the demo challenge.
const Slug = "demo-x4"

// Blobs is the part of the blob store the seed writes to.
type Blobs interface {
	Put(ctx context.Context, r io.Reader, maxBytes int64) (digest string, n int64, err error)
}

// BaselineInserter inserts the baseline submission and its evaluation job in
// the seed's transaction, so a crash never leaves a baseline without a job.
type BaselineInserter func(ctx context.Context, tx pgx.Tx, challengeID, datasetID int64, model []byte, modelSHA string) error

// Seed creates the demo challenge: its images, datasets and a bicubic
// baseline queued for evaluation. It does nothing when the challenge exists.
func Seed(ctx context.Context, st *store.Store, blobs Blobs, insertBaseline BaselineInserter) (created bool, err error) {
	const scale = 4
	rules, ok := scoring.Preset("aim2020")
	if !ok {
		return false, fmt.Errorf("demo: aim2020 preset missing")
	}
	// The gate is the demo baseline's own measured PSNR, not MSRResNet's DIV2K figure.
	rules.Baseline = nil
	rules.Source = "Demo challenge: AIM 2020 rules (keep the baseline's PSNR, then rank by runtime); the baseline is bicubic ×4 on srarena's synthetic images."
	rulesJSON, err := json.Marshal(rules)
	if err != nil {
		return false, err
	}

	images, err := storeImages(ctx, blobs, Images(), scale)
	if err != nil {
		return false, err
	}
	testImages, err := storeImages(ctx, blobs, TestImages(), scale)
	if err != nil {
		return false, err
	}
	model, err := onnxbuild.Bicubic(scale)
	if err != nil {
		return false, fmt.Errorf("demo: baseline: %w", err)
	}
	modelSHA, err := put(ctx, blobs, model)
	if err != nil {
		return false, err
	}

	err = st.InTx(ctx, func(tx pgx.Tx) error {
		var exists bool
		if err := tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM challenges WHERE slug = $1)`, Slug).Scan(&exists); err != nil {
			return err
		}
		if exists {
			return nil
		}
		// A development phase on the validation set with public scores,
		// open from now for 60 days, where each team chooses its entry;
		// then a final phase on the hidden test set and the validation set
		// whose scores stay hidden until the organizers reveal them.
		now := time.Now().UTC().Truncate(time.Minute)
		devEnd := now.Add(60 * 24 * time.Hour)
		finalEnd := devEnd.Add(7 * 24 * time.Hour)
		cid, err := store.CreateChallenge(ctx, tx, store.NewChallenge{
			Terms: "By registering you agree that the organizers run your uploaded models on their machines and publish " +
				"the scores, team names and method names on the leaderboard. Models are not shared with other participants. " +
				"One team per person; teams of at most 5.",
			Phases: []store.NewPhase{
				{Name: "development", Title: "Development", OpensAt: &now, ClosesAt: &devEnd, QuotaDaily: 20, QuotaConcurrent: 3,
					EntryRule: store.EntrySelected, Visibility: store.VisibilityPublic},
				{Name: "final", Title: "Final test", OpensAt: &devEnd, ClosesAt: &finalEnd, QuotaDaily: 3, QuotaTotal: 10, QuotaConcurrent: 1,
					EntryRule: store.EntryLast, Visibility: store.VisibilityHidden},
			},
			Slug:  Slug,
			Title: "Demo: efficient ×4 super-resolution",
			Description: "A local demo of srarena. Upload an ONNX model that maps a 1×3×H×W float32 RGB image in [0,1] " +
				"to 1×3×4H×4W. It is scored on five synthetic 192×192 images (drawn by srarena, CC0) downscaled with " +
				"MATLAB-compatible bicubic. Keep at least the bicubic baseline's PSNR; among those, the fastest model wins.",
			Scale:          scale,
			Rules:          rulesJSON,
			MaxUploadBytes: 64 << 20,
			DailyQuota:     20,
		})
		if err != nil {
			return err
		}
		var phaseIDs []int64
		if err := tx.QueryRow(ctx, `SELECT array_agg(id ORDER BY position) FROM phases WHERE challenge_id = $1`, cid).Scan(&phaseIDs); err != nil {
			return err
		}
		did, err := store.CreateDataset(ctx, tx, cid, "demo-validation", "validation", images)
		if err != nil {
			return err
		}
		tid, err := store.CreateDataset(ctx, tx, cid, "demo-test", "test", testImages)
		if err != nil {
			return err
		}
		// The demo's images are drawn by srarena (CC0): the validation HR
		// may be shown in the crop viewer.
		if _, err := tx.Exec(ctx, `UPDATE datasets SET public = true, hr_public = true WHERE id = $1`, did); err != nil {
			return err
		}
		if err := store.AddPhaseDataset(ctx, tx, phaseIDs[0], did, true); err != nil {
			return err
		}
		if err := store.AddPhaseDataset(ctx, tx, phaseIDs[1], tid, true); err != nil {
			return err
		}
		// The final phase scores on validation and test, its runtime the
		// mean of both, as NTIRE's final phase does.
		if err := store.AddPhaseDataset(ctx, tx, phaseIDs[1], did, false); err != nil {
			return err
		}
		created = true
		if err := insertBaseline(ctx, tx, cid, did, model, modelSHA); err != nil {
			return err
		}
		return insertBaseline(ctx, tx, cid, tid, model, modelSHA)
	})
	if err != nil {
		return false, fmt.Errorf("demo: seed: %w", err)
	}
	return created, nil
}

func putPNG(ctx context.Context, blobs Blobs, img *scoring.Image) (string, error) {
	var buf bytes.Buffer
	if err := scoring.EncodePNG(&buf, img); err != nil {
		return "", err
	}
	return put(ctx, blobs, buf.Bytes())
}

func put(ctx context.Context, blobs Blobs, b []byte) (string, error) {
	d, _, err := blobs.Put(ctx, bytes.NewReader(b), 0)
	return d, err
}

// storeImages stores the HR images and their ×scale MATLAB-bicubic LR
// inputs, in name order.
func storeImages(ctx context.Context, blobs Blobs, imgs map[string]*scoring.Image, scale int) ([]store.DatasetImage, error) {
	names := make([]string, 0, len(imgs))
	for n := range imgs {
		names = append(names, n)
	}
	sort.Strings(names)
	var images []store.DatasetImage
	for _, n := range names {
		hr := imgs[n]
		lr, err := scoring.ResizeBicubic(hr, scale)
		if err != nil {
			return nil, fmt.Errorf("demo: downscale %s: %w", n, err)
		}
		hrSHA, err := putPNG(ctx, blobs, hr)
		if err != nil {
			return nil, err
		}
		lrSHA, err := putPNG(ctx, blobs, lr)
		if err != nil {
			return nil, err
		}
		images = append(images, store.DatasetImage{Name: n, LRSHA256: lrSHA, HRSHA256: hrSHA})
	}
	return images, nil
}
