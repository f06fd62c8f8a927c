package domain

// The bulk download of a phase's models for its organizers: one zip,
// streamed from the blob store as it is written (no temporary file), each
// model checked against its recorded sha256 on the way, and a manifest.

import (
	"archive/zip"
	"compress/flate"
	"context"
	"crypto/sha256"
	"encoding/csv"
	"encoding/hex"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/srarena/srarena/store"
)

// PhaseModels returns the models of a phase's submissions (organizers of
// the challenge only; everyone else KindNotFound) and logs the download.
func (s *Service) PhaseModels(ctx context.Context, v Viewer, slug, phase string) ([]store.PhaseModel, error) {
	c, err := s.organizes(ctx, v, slug)
	if err != nil {
		return nil, err
	}
	ci, err := s.challengeInfo(ctx, v, c)
	if err != nil {
		return nil, err
	}
	p, err := ci.PhaseNamed(phase)
	if err != nil {
		return nil, err
	}
	ms, err := s.st.PhaseModels(ctx, p.ID)
	if err != nil {
		return nil, err
	}
	var total int64
	for _, m := range ms {
		total += m.ModelBytes
	}
	err = s.st.InTx(ctx, func(tx pgx.Tx) error {
		return s.audit(ctx, tx, v, c.ID, "models.download", "phase "+p.Name, nil,
			map[string]any{"models": len(ms), "bytes": total}, "")
	})
	return ms, err
}

// ModelFileName is a model's name in the zip: team_submissionID.onnx
// (baseline_ID.onnx for a baseline), the team's name cut to safe
// characters.
func ModelFileName(m store.PhaseModel) string {
	owner := m.TeamName
	if m.IsBaseline || owner == "" {
		owner = "baseline"
	}
	var b strings.Builder
	for _, r := range owner {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '-', r == '.':
			b.WriteRune(r)
		default:
			b.WriteByte('_')
		}
		if b.Len() >= 60 {
			break
		}
	}
	name := strings.Trim(b.String(), ".")
	if name == "" {
		name = "team"
	}
	return name + "_" + strconv.FormatInt(m.SubmissionID, 10) + ".onnx"
}

// ModelsManifestColumns are manifest.csv's columns.
var ModelsManifestColumns = []string{"file", "submission_id", "team", "method", "label", "baseline", "status", "submitted_at", "bytes", "sha256"}

// WriteModelsZip streams the models into a zip on w, then manifest.csv.
// A model whose bytes do not match its recorded digest, or a missing
// blob, stops the archive with an error: the caller must then cut the
// response, so a client never takes a truncated zip for a whole one.
func (s *Service) WriteModelsZip(ctx context.Context, w io.Writer, ms []store.PhaseModel) error {
	zw := zip.NewWriter(w)
	// ONNX weights are floats that barely compress: the fastest level.
	zw.RegisterCompressor(zip.Deflate, func(out io.Writer) (io.WriteCloser, error) {
		return flate.NewWriter(out, flate.BestSpeed)
	})
	var man strings.Builder
	cw := csv.NewWriter(&man)
	if err := cw.Write(ModelsManifestColumns); err != nil {
		return err
	}
	now := s.now()
	for _, m := range ms {
		if err := ctx.Err(); err != nil {
			return err
		}
		name := ModelFileName(m)
		f, err := zw.CreateHeader(&zip.FileHeader{Name: name, Method: zip.Deflate, Modified: m.CreatedAt.UTC()})
		if err != nil {
			return err
		}
		if err := s.copyModel(ctx, f, m); err != nil {
			return err
		}
		base := "0"
		if m.IsBaseline {
			base = "1"
		}
		if err := cw.Write([]string{name, strconv.FormatInt(m.SubmissionID, 10), m.TeamName, m.MethodName, m.Label, base, m.Status,
			m.CreatedAt.UTC().Format(time.RFC3339), strconv.FormatInt(m.ModelBytes, 10), m.ModelSHA256}); err != nil {
			return err
		}
	}
	cw.Flush()
	if err := cw.Error(); err != nil {
		return err
	}
	f, err := zw.CreateHeader(&zip.FileHeader{Name: "manifest.csv", Method: zip.Deflate, Modified: now.UTC()})
	if err != nil {
		return err
	}
	if _, err := io.WriteString(f, man.String()); err != nil {
		return err
	}
	return zw.Close()
}

func (s *Service) copyModel(ctx context.Context, w io.Writer, m store.PhaseModel) error {
	rc, err := s.blobs.Open(ctx, m.ModelSHA256)
	if err != nil {
		return fmt.Errorf("model of submission %d: %w", m.SubmissionID, err)
	}
	defer rc.Close()
	h := sha256.New()
	if _, err := io.Copy(io.MultiWriter(w, h), rc); err != nil {
		return fmt.Errorf("model of submission %d: %w", m.SubmissionID, err)
	}
	if got := hex.EncodeToString(h.Sum(nil)); got != m.ModelSHA256 {
		return fmt.Errorf("model of submission %d: stored bytes hash to %s, not %s", m.SubmissionID, got, m.ModelSHA256)
	}
	return nil
}
