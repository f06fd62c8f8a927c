package dataset

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"path"
	"sort"
	"strconv"
	"strings"

	"github.com/srarena/srarena/scoring"
)

// Image is one HR/LR pair of a dataset, encoded as PNG.
type Image struct {
	Name               string // the HR file's base name without extension
	HR, LR             []byte
	HRWidth, HRHeight  int
	LRWidth, LRHeight  int
	HRSHA256, LRSHA256 string
	LRGenerated        bool // made by MATLAB-compatible bicubic from HR
}

// ManifestEntry is one image of a dataset's manifest.
type ManifestEntry struct {
	Name        string `json:"name"`
	HRSHA256    string `json:"hr_sha256"`
	LRSHA256    string `json:"lr_sha256"`
	HRBytes     int    `json:"hr_bytes"`
	LRBytes     int    `json:"lr_bytes"`
	HRSize      [2]int `json:"hr_size"` // width, height
	LRSize      [2]int `json:"lr_size"`
	LRGenerated bool   `json:"lr_generated"`
}

// Manifest lists a dataset's images with their checksums.
type Manifest struct {
	Scale  int             `json:"scale"`
	Images []ManifestEntry `json:"images"`
}

// ManifestOf describes built images.
func ManifestOf(scale int, imgs []Image) Manifest {
	m := Manifest{Scale: scale, Images: []ManifestEntry{}}
	for _, im := range imgs {
		m.Images = append(m.Images, EntryOf(im))
	}
	return m
}

// EntryOf is an image's manifest entry.
func EntryOf(im Image) ManifestEntry {
	return ManifestEntry{Name: im.Name, HRSHA256: im.HRSHA256, LRSHA256: im.LRSHA256,
		HRBytes: len(im.HR), LRBytes: len(im.LR), HRSize: [2]int{im.HRWidth, im.HRHeight},
		LRSize: [2]int{im.LRWidth, im.LRHeight}, LRGenerated: im.LRGenerated}
}

func digest(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

// side reports whether a file is an HR or LR image by its directories: a
// path component named hr or lr (any case, e.g. "Set5/HR/baby.png",
// "DIV2K_valid_LR_bicubic/X4/0801x4.png"); "" when neither.
func side(name string) string {
	dirs := strings.Split(path.Dir(name), "/")
	for i := len(dirs) - 1; i >= 0; i-- {
		d := strings.ToLower(dirs[i])
		switch {
		case d == "hr" || strings.HasSuffix(d, "_hr") || strings.Contains(d, "_hr_"):
			return "hr"
		case d == "lr" || strings.HasSuffix(d, "_lr") || strings.Contains(d, "_lr_") || strings.Contains(d, "lr_bicubic"):
			return "lr"
		}
	}
	return ""
}

// stem is an image's pairing key: its base name without extension and
// without a DIV2K-style "x4" suffix.
func stem(name string, scale int) string {
	b := strings.TrimSuffix(path.Base(name), path.Ext(name))
	return strings.TrimSuffix(b, "x"+strconv.Itoa(scale))
}

func isPNG(name string) bool { return strings.EqualFold(path.Ext(name), ".png") }

// skippable are files archivers add that are not part of a dataset.
func skippable(name string) bool {
	b := path.Base(name)
	return strings.HasPrefix(b, ".") || strings.HasPrefix(name, "__MACOSX/") || b == "Thumbs.db"
}

// Build makes a dataset's pairs from extracted files. Files under an "LR"
// directory are the LR inputs of the HR images of the same name (a
// "NAMEx4.png" LR pairs with "NAME.png"), their size checked to be the
// HR's divided by scale (HR mod-cropped to scale, as the official
// protocol does); without LR files, LR is generated from HR by
// scoring.ResizeBicubic, as `srarena resize` does. Every file must be a
// PNG; any refusal names the file.
func Build(files []File, scale int) ([]Image, error) {
	var out []Image
	err := BuildEach(files, scale, func(im Image) error {
		out = append(out, im)
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// BuildEach is Build handing each image to fn as soon as it is made, in
// name order, so that a caller storing them holds one image at a time. The
// names and pairing are checked for every file before the first image is
// made; a decoding refusal can still come after fn has seen some images,
// and fn's error stops the build.
func BuildEach(files []File, scale int, fn func(Image) error) error {
	if scale < 2 || scale > 8 {
		return fmt.Errorf("%w: scale %d is not between 2 and 8", ErrRefused, scale)
	}
	hr, lr := map[string]File{}, map[string]File{}
	for _, f := range files {
		if skippable(f.Name) {
			continue
		}
		if !isPNG(f.Name) {
			return refuse("%s is not a PNG image (only .png files are accepted)", f.Name)
		}
		m, k := hr, strings.TrimSuffix(path.Base(f.Name), path.Ext(f.Name))
		if side(f.Name) == "lr" {
			m, k = lr, stem(f.Name, scale)
		}
		if prev, dup := m[k]; dup {
			return refuse("%s and %s have the same image name %q", prev.Name, f.Name, k)
		}
		m[k] = f
	}
	if len(hr) == 0 {
		return refuse("the upload holds no HR images")
	}
	if len(lr) > 0 {
		for k, f := range lr {
			if _, ok := hr[k]; !ok {
				return refuse("LR image %s has no HR image named %s.png", f.Name, k)
			}
		}
		for k, f := range hr {
			if _, ok := lr[k]; !ok {
				return refuse("HR image %s has no LR image (%s.png or %sx%d.png)", f.Name, k, k, scale)
			}
		}
	}
	names := make([]string, 0, len(hr))
	for k := range hr {
		names = append(names, k)
	}
	sort.Strings(names)
	for _, k := range names {
		h := hr[k]
		hdata, err := h.Bytes()
		if err != nil {
			return fmt.Errorf("read %s: %w", h.Name, err)
		}
		himg, err := scoring.DecodePNG(bytes.NewReader(hdata))
		if err != nil {
			return refuse("%s: %v", h.Name, err)
		}
		if himg.W < scale || himg.H < scale {
			return refuse("%s is %d×%d, smaller than the scale %d", h.Name, himg.W, himg.H, scale)
		}
		im := Image{Name: k, HR: hdata, HRWidth: himg.W, HRHeight: himg.H, HRSHA256: digest(hdata)}
		wantW, wantH := himg.W/scale, himg.H/scale
		if l, ok := lr[k]; ok {
			ldata, err := l.Bytes()
			if err != nil {
				return fmt.Errorf("read %s: %w", l.Name, err)
			}
			limg, err := scoring.DecodePNG(bytes.NewReader(ldata))
			if err != nil {
				return refuse("%s: %v", l.Name, err)
			}
			if limg.W != wantW || limg.H != wantH {
				return refuse("LR image %s is %d×%d; HR %s is %d×%d, so ×%d needs %d×%d", l.Name, limg.W, limg.H,
					h.Name, himg.W, himg.H, scale, wantW, wantH)
			}
			im.LR, im.LRWidth, im.LRHeight = ldata, limg.W, limg.H
		} else {
			limg, err := scoring.ResizeBicubic(scoring.ModCrop(himg, scale), scale)
			if err != nil {
				return fmt.Errorf("downscale %s: %w", h.Name, err)
			}
			var buf bytes.Buffer
			if err := scoring.EncodePNG(&buf, limg); err != nil {
				return err
			}
			im.LR, im.LRWidth, im.LRHeight, im.LRGenerated = buf.Bytes(), limg.W, limg.H, true
		}
		im.LRSHA256 = digest(im.LR)
		if err := fn(im); err != nil {
			return err
		}
	}
	return nil
}
