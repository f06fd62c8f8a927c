package worker

import (
	"bytes"
	"context"
	"fmt"
	"image/png"
	"sync"

	"github.com/srarena/srarena/blob"
	"github.com/srarena/srarena/runner/evaluate"
	"github.com/srarena/srarena/scoring"
	"github.com/srarena/srarena/store"
)

// A submission is evaluated on every dataset of its phase in one sandbox
// session (one model load): the datasets' images are concatenated, in the
// order store.EvaluationDatasets gives (the submission's own dataset first),
// and the report is split back per dataset afterwards.

// segment is one dataset's run of images in the concatenated evaluation.
type segment struct {
	store.EvalDataset
	start, n int
}

// hidden: a test split's images are named by position only, and their
// per-image scores never reach a participant.
func (s segment) hidden() bool { return s.Split != "validation" }

// keepOutputs: the SR outputs of a public validation set are stored for
// the crop viewer; never those of a hidden or non-public set.
func (s segment) keepOutputs() bool { return s.Split == "validation" && s.Public }

// plan is the evaluation of one submission over its datasets.
type plan struct {
	sets  []segment
	total int
	multi bool // more than one dataset: names in logs say which

	mu      sync.Mutex
	outputs map[string]store.SROutput // by Pair.Name, of keepOutputs sets
	outErr  error
}

// newPlan lays the datasets out one after the other. A dataset without
// images (listed in the phase before its import finished) is left out, so
// it cannot turn a result into NaN; the first one always stays (with no
// image at all the evaluation fails as it always did).
func newPlan(dsets []store.EvalDataset) *plan {
	p := &plan{outputs: map[string]store.SROutput{}}
	for i, d := range dsets {
		if len(d.Images) == 0 && i > 0 {
			continue
		}
		p.sets = append(p.sets, segment{EvalDataset: d, start: p.total, n: len(d.Images)})
		p.total += len(d.Images)
	}
	p.multi = len(p.sets) > 1
	return p
}

// anyHidden reports whether the evaluation includes a test split (its
// failure messages must then give nothing away: evaluate.Options.Hidden).
func (p *plan) anyHidden() bool {
	for _, s := range p.sets {
		if s.hidden() {
			return true
		}
	}
	return false
}

// at returns the segment of image i (0-based over all datasets) and i's
// position within it.
func (p *plan) at(i int) (segment, int) {
	for _, s := range p.sets {
		if i < s.start+s.n {
			return s, i - s.start
		}
	}
	return segment{}, -1
}

// pairName is what the evaluation calls image k of s: participant-visible
// (log lines, failure messages). A test split's image is "k of n" only.
func (p *plan) pairName(s segment, k int) string {
	var name string
	if s.hidden() {
		name = fmt.Sprintf("%d of %d", k+1, s.n)
	} else {
		name = s.Images[k].Name
	}
	if p.multi {
		if s.hidden() {
			return name + " (" + s.Name + ")"
		}
		return s.Name + "/" + name
	}
	return name
}

// pairs reads and decodes every dataset's images (the worker's cache keeps
// decoded ones); a missing image is the platform's problem.
func (p *plan) pairs(ctx context.Context, w *Worker) ([]evaluate.Pair, error) {
	pairs := make([]evaluate.Pair, 0, p.total)
	for _, s := range p.sets {
		for k, im := range s.Images {
			lr, err := w.image(ctx, im.LRSHA256)
			if err != nil {
				return nil, fmt.Errorf("LR of %s/%s: %w", s.Name, im.Name, err)
			}
			hr, err := w.image(ctx, im.HRSHA256)
			if err != nil {
				return nil, fmt.Errorf("HR of %s/%s: %w", s.Name, im.Name, err)
			}
			name := p.pairName(s, k)
			if s.keepOutputs() {
				p.outputs[name] = store.SROutput{DatasetID: s.ID, ImageName: im.Name}
			}
			pairs = append(pairs, evaluate.Pair{Name: name, LR: lr, HR: hr})
		}
	}
	return pairs, nil
}

// output stores the SR output of a public validation image as a PNG blob
// (evaluate.Options.Output); the others are dropped unseen.
func (p *plan) output(ctx context.Context, blobs blob.Store) func(string, *scoring.Image) {
	return func(name string, sr *scoring.Image) {
		p.mu.Lock()
		o, keep := p.outputs[name]
		failed := p.outErr != nil
		p.mu.Unlock()
		if !keep || failed {
			return
		}
		var buf bytes.Buffer
		// Fastest compression: this runs between timed runs (see
		// BenchmarkStoreOutputDIV2K for what it costs).
		err := scoring.EncodePNGLevel(&buf, sr, png.BestSpeed)
		if err == nil {
			o.PNGSHA256, err = blob.PutBytes(ctx, blobs, buf.Bytes())
		}
		p.mu.Lock()
		defer p.mu.Unlock()
		if err != nil {
			p.outErr = fmt.Errorf("storing the SR output of %s: %w", name, err)
			return
		}
		p.outputs[name] = o
	}
}

// result is the combined result the board ranks, with each dataset's part
// and the stored SR outputs. rep's images are in plan order, test-split
// names already replaced.
//
// With one dataset the combined result is exactly what a single-dataset
// evaluation always stored. With several, per split (validation, test) the
// PSNR, PSNR-Y, SSIM and runtime figures are the means over that split's
// datasets (each weighted alike, as NTIRE weighs its sets); results.psnr,
// psnr_y and ssim are those of the submission's own dataset's split;
// results.runtime_ms (and its spread, min, max, the baseline ratio) is the
// mean over the splits: NTIRE's (valid + test) / 2 (protocol.md §2.1). The
// peak memory, device and environment are the whole session's, the
// per-image table (results.per_image) the submission's own dataset's.
func (p *plan) result(id int64, rep *evaluate.Report) (*store.Result, error) {
	parts := make([]*store.Result, len(p.sets))
	for i, s := range p.sets {
		r, err := resultOf(id, rep.Subset(rep.Images[s.start:s.start+s.n]))
		if err != nil {
			return nil, fmt.Errorf("dataset %s: %w", s.Name, err)
		}
		parts[i] = r
	}
	res, err := resultOf(id, rep)
	if err != nil {
		return nil, err
	}
	if len(p.sets) > 1 {
		primary := p.sets[0].Split
		res.PSNR = *splitMean(p.sets, parts, primary, func(r *store.Result) *float64 { return &r.PSNR })
		res.PSNRY = splitMean(p.sets, parts, primary, func(r *store.Result) *float64 { return r.PSNRY })
		res.SSIM = splitMean(p.sets, parts, primary, func(r *store.Result) *float64 { return r.SSIM })
		res.RuntimeMS = *acrossSplits(p.sets, parts, func(r *store.Result) *float64 { return &r.RuntimeMS })
		res.RuntimeStdMS = acrossSplits(p.sets, parts, func(r *store.Result) *float64 { return r.RuntimeStdMS })
		res.RuntimeMinMS = acrossSplits(p.sets, parts, func(r *store.Result) *float64 { return r.RuntimeMinMS })
		res.RuntimeMaxMS = acrossSplits(p.sets, parts, func(r *store.Result) *float64 { return r.RuntimeMaxMS })
		if res.RuntimeRatio != nil {
			res.RuntimeRatio = acrossSplits(p.sets, parts, func(r *store.Result) *float64 { return r.RuntimeRatio })
			res.BaselineRuntimeMS = acrossSplits(p.sets, parts, func(r *store.Result) *float64 { return r.BaselineRuntimeMS })
		}
		res.PerImage = parts[0].PerImage
	}
	res.PSNRVal = splitMean(p.sets, parts, "validation", func(r *store.Result) *float64 { return &r.PSNR })
	res.PSNRTest = splitMean(p.sets, parts, "test", func(r *store.Result) *float64 { return &r.PSNR })
	res.RuntimeValMS = splitMean(p.sets, parts, "validation", func(r *store.Result) *float64 { return &r.RuntimeMS })
	res.RuntimeTestMS = splitMean(p.sets, parts, "test", func(r *store.Result) *float64 { return &r.RuntimeMS })
	if len(p.sets) == 1 {
		// Bit for bit what was stored before per-split columns existed.
		s := p.sets[0]
		psnr, rt := res.PSNR, res.RuntimeMS
		if s.Split == "test" {
			res.PSNRTest, res.RuntimeTestMS = &psnr, &rt
		} else {
			res.PSNRVal, res.RuntimeValMS = &psnr, &rt
		}
	}
	for i, s := range p.sets {
		r := parts[i]
		res.Datasets = append(res.Datasets, store.DatasetResult{DatasetID: s.ID, Split: s.Split, Position: i, Images: s.n,
			PSNR: r.PSNR, PSNRY: r.PSNRY, SSIM: r.SSIM, RuntimeMS: r.RuntimeMS, RuntimeStdMS: r.RuntimeStdMS,
			RuntimeMinMS: r.RuntimeMinMS, RuntimeMaxMS: r.RuntimeMaxMS, PeakMemoryMB: r.PeakMemoryMB,
			RuntimeRatio: r.RuntimeRatio, PerImage: r.PerImage})
		if !s.keepOutputs() {
			continue
		}
		for k := range s.Images {
			o, ok := p.outputs[p.pairName(s, k)]
			if !ok || o.PNGSHA256 == "" {
				continue
			}
			o.PSNR = finite(capPSNR(rep.Images[s.start+k].PSNR))
			res.Outputs = append(res.Outputs, o)
		}
	}
	return res, nil
}

// splitMean is the mean of f over the datasets of split (nil: none, or
// one of them has no value).
func splitMean(sets []segment, parts []*store.Result, split string, f func(*store.Result) *float64) *float64 {
	var sum float64
	n := 0
	for i, s := range sets {
		if s.Split != split {
			continue
		}
		v := f(parts[i])
		if v == nil {
			return nil
		}
		sum += *v
		n++
	}
	if n == 0 {
		return nil
	}
	return finite(sum / float64(n))
}

// acrossSplits is the mean over the splits present of each split's mean
// of f: NTIRE's (valid + test) / 2.
func acrossSplits(sets []segment, parts []*store.Result, f func(*store.Result) *float64) *float64 {
	var sum float64
	n := 0
	for _, split := range []string{"validation", "test"} {
		present := false
		for _, s := range sets {
			present = present || s.Split == split
		}
		if !present {
			continue
		}
		v := splitMean(sets, parts, split, f)
		if v == nil {
			return nil
		}
		sum += *v
		n++
	}
	if n == 0 {
		return nil
	}
	return finite(sum / float64(n))
}
