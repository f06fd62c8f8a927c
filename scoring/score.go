package scoring

import (
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
)

// ScoreOptions configures ScoreDirs.
type ScoreOptions struct {
	// Scale is the SR factor: HR images are mod-cropped to it. 0 means 4.
	Scale int
	// Border is cropped from every side before the metrics; negative means
	// Scale (test_demo.py uses border = sf = 4).
	Border int
	// Y computes PSNR and SSIM on the Y channel instead of RGB.
	Y bool
}

// ImageScore is one image's metrics. JSON field names match `srarena eval
// --json`; a PSNR of +Inf (identical images) is written as null.
type ImageScore struct {
	Name string    `json:"name"`
	PSNR JSONFloat `json:"psnr"`
	SSIM JSONFloat `json:"ssim"`
	// RuntimeMS is always null: existing SR images have no runtime, but the
	// field is there so scripts written for `eval --json` read both.
	RuntimeMS *float64 `json:"runtime_ms"`
}

// SetScore is a set's metrics: the means of the per-image values.
type SetScore struct {
	PSNR      JSONFloat    `json:"psnr"`
	SSIM      JSONFloat    `json:"ssim"`
	RuntimeMS *float64     `json:"runtime_ms"` // always null, as in ImageScore
	Y         bool         `json:"y"`
	Images    []ImageScore `json:"images"`
}

// JSONFloat is a float64 whose non-finite values (+Inf PSNR, NaN means of
// empty sets) are written as JSON null, which encoding/json cannot do for
// float64 itself.
type JSONFloat float64

// MarshalJSON implements json.Marshaler.
func (f JSONFloat) MarshalJSON() ([]byte, error) {
	v := float64(f)
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return []byte("null"), nil
	}
	return json.Marshal(v)
}

// UnmarshalJSON implements json.Unmarshaler; null becomes +Inf, the only
// non-finite value a per-image PSNR can have.
func (f *JSONFloat) UnmarshalJSON(b []byte) error {
	if string(b) == "null" {
		*f = JSONFloat(math.Inf(1))
		return nil
	}
	var v float64
	if err := json.Unmarshal(b, &v); err != nil {
		return err
	}
	*f = JSONFloat(v)
	return nil
}

// ListPNGs returns the names of the .png files (any case) in dir, sorted.
func ListPNGs(dir string) ([]string, error) {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	var names []string
	for _, e := range ents {
		if e.Type().IsRegular() && strings.EqualFold(filepath.Ext(e.Name()), ".png") {
			names = append(names, e.Name())
		}
	}
	slices.Sort(names)
	return names, nil
}

// ScoreDirs scores the SR PNGs in srDir against the HR PNGs in hrDir, paired
// by PairByName, as test_demo.py does: HR mod-cropped to the scale, border
// cropped, PSNR (peak 255) and SSIM per image, set score = mean.
func ScoreDirs(srDir, hrDir string, opt ScoreOptions) (*SetScore, error) {
	if opt.Scale == 0 {
		opt.Scale = 4
	}
	if opt.Border < 0 {
		opt.Border = opt.Scale
	}
	srNames, err := ListPNGs(srDir)
	if err != nil {
		return nil, err
	}
	hrNames, err := ListPNGs(hrDir)
	if err != nil {
		return nil, err
	}
	if len(srNames) == 0 {
		return nil, fmt.Errorf("%w: no PNG files in %s", ErrEmpty, srDir)
	}
	pairs, err := PairByName(srNames, hrNames)
	if err != nil {
		return nil, err
	}
	psnr, ssim := PSNR, SSIM
	if opt.Y {
		psnr, ssim = PSNRY, SSIMY
	}
	out := &SetScore{Y: opt.Y}
	var ps, ss []float64
	for _, p := range pairs {
		sr, err := ReadPNG(filepath.Join(srDir, p[0]))
		if err != nil {
			return nil, err
		}
		hr, err := ReadPNG(filepath.Join(hrDir, p[1]))
		if err != nil {
			return nil, err
		}
		hr = ModCrop(hr, opt.Scale)
		pv, err := psnr(sr, hr, opt.Border)
		if err != nil {
			return nil, fmt.Errorf("%s vs %s: %w", p[0], p[1], err)
		}
		sv, err := ssim(sr, hr, opt.Border)
		if err != nil {
			return nil, fmt.Errorf("%s vs %s: %w", p[0], p[1], err)
		}
		ps, ss = append(ps, pv), append(ss, sv)
		out.Images = append(out.Images, ImageScore{Name: p[0], PSNR: JSONFloat(pv), SSIM: JSONFloat(sv)})
	}
	out.PSNR, out.SSIM = JSONFloat(Mean(ps)), JSONFloat(Mean(ss))
	return out, nil
}
