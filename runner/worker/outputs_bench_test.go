package worker

import (
	"bytes"
	"context"
	"image/png"
	"path/filepath"
	"testing"

	"github.com/srarena/srarena/blob"
	"github.com/srarena/srarena/internal/fixtures"
	"github.com/srarena/srarena/scoring"
)

// BenchmarkStoreOutputDIV2K is what storing one SR output of a public
// validation image costs the worker (PNG encoding and a blob write, between
// timed runs): a DIV2K-sized 2040×1356 output, the bicubic ×4 of the
// fixture's 0901 LR, at the default compression and at png.BestSpeed (what
// the worker uses). Run A and B interleaved: -count N alternates them.
func BenchmarkStoreOutputDIV2K(b *testing.B) {
	dir := fixtures.Dir(b, "images", "DIV2K_test", "LR_bicubic_X4")
	lr, err := scoring.ReadPNG(filepath.Join(dir, "0901.png"))
	if err != nil {
		b.Fatal(err)
	}
	sr, err := scoring.UpscaleBicubicCrop(lr, 4, 0, 0, 4*lr.W, 4*lr.H)
	if err != nil {
		b.Fatal(err)
	}
	blobs, err := blob.NewDir(b.TempDir())
	if err != nil {
		b.Fatal(err)
	}
	for _, c := range []struct {
		name  string
		level png.CompressionLevel
	}{{"default", png.DefaultCompression}, {"bestspeed", png.BestSpeed}} {
		b.Run(c.name, func(b *testing.B) {
			var size int
			for i := 0; i < b.N; i++ {
				var buf bytes.Buffer
				if err := scoring.EncodePNGLevel(&buf, sr, c.level); err != nil {
					b.Fatal(err)
				}
				if _, err := blob.PutBytes(context.Background(), blobs, buf.Bytes()); err != nil {
					b.Fatal(err)
				}
				size = buf.Len()
			}
			b.ReportMetric(float64(size)/1e6, "MB/png")
		})
	}
}
