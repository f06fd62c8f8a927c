package scoring

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"io"
	"math"
	"os"
	"runtime"
)

// Sentinel errors. Functions wrap them with %w so callers can test with
// errors.Is.
var (
	// ErrInvalid reports an argument or input that cannot be scored.
	ErrInvalid = errors.New("scoring: invalid input")
	// ErrSizeMismatch reports two images whose sizes differ.
	ErrSizeMismatch = errors.New("scoring: image sizes differ")
	// ErrEmpty reports an image (or an image after its border crop) with no
	// pixels left to compare.
	ErrEmpty = errors.New("scoring: empty image")
	// ErrUnpaired reports names that PairByName could not match.
	ErrUnpaired = errors.New("scoring: unpaired file names")
)

// MaxPixels bounds W*H of a decoded PNG. A PNG header can claim any size, and
// the decoder allocates before it reads the data; 2^26 pixels (e.g. 8192×8192)
// is far above any DIV2K/LSDIR image and keeps one image under 200 MB.
const MaxPixels = 1 << 26

// Image is an 8-bit RGB image, row-major, interleaved R,G,B:
// pixel (x, y) channel c is Pix[3*(y*W+x)+c]; len(Pix) == 3*W*H.
type Image struct {
	W, H int
	Pix  []uint8
}

// NewImage returns a black w×h image.
func NewImage(w, h int) *Image {
	return &Image{W: w, H: h, Pix: make([]uint8, 3*w*h)}
}

func (m *Image) check() error {
	if m == nil {
		return fmt.Errorf("%w: nil image", ErrInvalid)
	}
	if m.W < 0 || m.H < 0 || len(m.Pix) != 3*m.W*m.H {
		return fmt.Errorf("%w: %dx%d image with %d bytes", ErrInvalid, m.W, m.H, len(m.Pix))
	}
	return nil
}

// DecodePNG decodes a PNG into 8-bit RGB the way the official scripts'
// cv2.imread + cvtColor pipeline sees it (protocol.md §1.1):
//   - grey (any bit depth) is replicated to R=G=B;
//   - palette images are expanded through the palette;
//   - alpha is dropped, not composited (cvtColor BGR(A)→RGB ignores it), so the
//     stored, non-premultiplied colour is kept;
//   - 16-bit samples keep their high byte (v>>8), as libpng's
//     png_set_strip_16 does for cv2.imread(IMREAD_COLOR). (IMREAD_UNCHANGED
//     would keep uint16 and break the official scripts anyway.)
//
// Images over MaxPixels are refused before the pixel data is allocated.
// 8-bit RGB and RGBA, not interlaced, take a fast path (pngfast.go) that
// accepts what image/png accepts and gives the same pixels; the rest, and
// every file the fast path refuses, go through image/png.
func DecodePNG(r io.Reader) (*Image, error) {
	data, err := readAll(r)
	if err != nil {
		return nil, fmt.Errorf("read png: %w", err)
	}
	return decodePNGData(data)
}

// readAll is io.ReadAll, sized up front for a reader that knows its length
// (bytes.Reader, bytes.Buffer: the worker's and the dataset builder's), where
// io.ReadAll would copy a DIV2K PNG about ten times while it grows.
func readAll(r io.Reader) ([]byte, error) {
	l, ok := r.(interface{ Len() int })
	if !ok {
		return io.ReadAll(r)
	}
	b := make([]byte, 0, l.Len()+1) // +1: room for the read that sees EOF
	for {
		n, err := r.Read(b[len(b):cap(b)])
		b = b[:len(b)+n]
		if err != nil {
			if err == io.EOF {
				err = nil
			}
			return b, err
		}
		if len(b) == cap(b) {
			b = append(b, 0)[:len(b)]
		}
	}
}

func decodePNGData(data []byte) (*Image, error) {
	img, ok, err := decodeFast(data)
	switch {
	case ok && err == nil:
		return img, nil
	case errors.Is(err, errPNGShort):
		return nil, fmt.Errorf("decode png: %w", err)
	}
	// Not the fast path's kind, or refused by it: image/png gives its
	// own error (and is the reference should the two ever disagree).
	return decodePNGStd(data)
}

// decodePNGStd is DecodePNG through image/png, for every PNG (the fast
// path's reference, and its fallback).
func decodePNGStd(data []byte) (*Image, error) {
	cfg, err := png.DecodeConfig(bytes.NewReader(data))
	if err != nil {
		return nil, fmt.Errorf("decode png header: %w", err)
	}
	if cfg.Width <= 0 || cfg.Height <= 0 || int64(cfg.Width)*int64(cfg.Height) > MaxPixels {
		return nil, fmt.Errorf("%w: png is %dx%d (max %d pixels)", ErrInvalid, cfg.Width, cfg.Height, MaxPixels)
	}
	src, err := png.Decode(&yieldingReader{r: bytes.NewReader(data)})
	if err != nil {
		return nil, fmt.Errorf("decode png: %w", err)
	}
	return fromImage(src), nil
}

// yieldingReader lets other goroutines run every 64 KiB of PNG data read
// (under a millisecond of decoding). The runner decodes a dataset on
// every core while its sandboxed child starts, and the goroutine that
// answers the child (it sends the model as soon as the child's sandbox is
// up) would otherwise wait for a decoder's preemption, up to 10 ms, each
// time it wakes up.
type yieldingReader struct {
	r    io.Reader
	read int
}

func (y *yieldingReader) Read(p []byte) (int, error) {
	n, err := y.r.Read(p)
	if y.read += n; y.read >= 64<<10 {
		y.read = 0
		runtime.Gosched()
	}
	return n, err
}

// fromImage converts what image/png returns into Image. The fast paths cover
// every type image/png produces; the generic path is for completeness.
func fromImage(src image.Image) *Image {
	b := src.Bounds()
	w, h := b.Dx(), b.Dy()
	out := NewImage(w, h)
	p := out.Pix
	switch s := src.(type) {
	case *image.Gray:
		for y := 0; y < h; y++ {
			row := s.Pix[y*s.Stride : y*s.Stride+w]
			for x, v := range row {
				i := 3 * (y*w + x)
				p[i], p[i+1], p[i+2] = v, v, v
			}
		}
	case *image.Gray16:
		for y := 0; y < h; y++ {
			row := s.Pix[y*s.Stride : y*s.Stride+2*w]
			for x := 0; x < w; x++ {
				v := row[2*x] // big-endian high byte
				i := 3 * (y*w + x)
				p[i], p[i+1], p[i+2] = v, v, v
			}
		}
	case *image.RGBA: // opaque truecolour
		copyRGB(p, s.Pix, s.Stride, w, h, 4, 1)
	case *image.NRGBA:
		copyRGB(p, s.Pix, s.Stride, w, h, 4, 1)
	case *image.RGBA64: // opaque 16-bit truecolour: R,G,B,A as big-endian pairs
		copyRGB(p, s.Pix, s.Stride, w, h, 8, 2)
	case *image.NRGBA64:
		copyRGB(p, s.Pix, s.Stride, w, h, 8, 2)
	case *image.Paletted:
		var lut [256][3]uint8
		for i, c := range s.Palette {
			n := color.NRGBAModel.Convert(c).(color.NRGBA)
			if nc, ok := c.(color.NRGBA); ok {
				n = nc // keep the stored colour even where alpha is 0
			}
			lut[i] = [3]uint8{n.R, n.G, n.B}
		}
		for y := 0; y < h; y++ {
			row := s.Pix[y*s.Stride : y*s.Stride+w]
			for x, v := range row {
				i := 3 * (y*w + x)
				c := lut[v]
				p[i], p[i+1], p[i+2] = c[0], c[1], c[2]
			}
		}
	default:
		for y := 0; y < h; y++ {
			for x := 0; x < w; x++ {
				c := color.NRGBA64Model.Convert(src.At(b.Min.X+x, b.Min.Y+y)).(color.NRGBA64)
				i := 3 * (y*w + x)
				p[i], p[i+1], p[i+2] = uint8(c.R>>8), uint8(c.G>>8), uint8(c.B>>8)
			}
		}
	}
	return out
}

// copyRGB copies the first three samples of each pixel; step is the bytes per
// pixel and bps the bytes per sample (2 = big-endian 16-bit, high byte kept).
func copyRGB(dst, src []uint8, stride, w, h, step, bps int) {
	for y := 0; y < h; y++ {
		row := src[y*stride : y*stride+step*w]
		d := dst[3*y*w : 3*(y+1)*w]
		for x := 0; x < w; x++ {
			s := row[step*x:]
			d[3*x], d[3*x+1], d[3*x+2] = s[0], s[bps], s[2*bps]
		}
	}
}

// ReadPNG reads and decodes the PNG file at path (see DecodePNG).
func ReadPNG(path string) (*Image, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	img, err := decodePNGData(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return img, nil
}

// EncodePNG writes img as an 8-bit RGB PNG (colour type 2), the format the
// official scripts save.
func EncodePNG(w io.Writer, img *Image) error {
	return EncodePNGLevel(w, img, png.DefaultCompression)
}

// EncodePNGLevel is EncodePNG at a compression level: the worker stores the
// SR outputs shown by the crop viewer with png.BestSpeed, between timed
// runs, where every millisecond is time the evaluation waits.
func EncodePNGLevel(w io.Writer, img *Image, level png.CompressionLevel) error {
	if err := img.check(); err != nil {
		return err
	}
	if img.W == 0 || img.H == 0 {
		return fmt.Errorf("%w: cannot encode a %dx%d png", ErrEmpty, img.W, img.H)
	}
	// image/png writes colour type 2 for an opaque *image.NRGBA.
	n := image.NewNRGBA(image.Rect(0, 0, img.W, img.H))
	for i, j := 0, 0; i < len(img.Pix); i, j = i+3, j+4 {
		n.Pix[j], n.Pix[j+1], n.Pix[j+2], n.Pix[j+3] = img.Pix[i], img.Pix[i+1], img.Pix[i+2], 255
	}
	if err := (&png.Encoder{CompressionLevel: level}).Encode(w, n); err != nil {
		return fmt.Errorf("encode png: %w", err)
	}
	return nil
}

// WritePNG encodes img to the file at path.
func WritePNG(path string, img *Image) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	bw := bufio.NewWriter(f)
	if err := EncodePNG(bw, img); err != nil {
		f.Close()
		return fmt.Errorf("%s: %w", path, err)
	}
	if err := bw.Flush(); err != nil {
		f.Close()
		return fmt.Errorf("%s: %w", path, err)
	}
	return f.Close()
}

// ModCrop crops img at the bottom and right so that W and H are multiples of
// scale, like KAIR util.modcrop. It returns img itself when nothing is cut
// (or scale < 1), otherwise a copy.
func ModCrop(img *Image, scale int) *Image {
	if img == nil || scale < 1 {
		return img
	}
	w, h := img.W-img.W%scale, img.H-img.H%scale
	if w == img.W && h == img.H {
		return img
	}
	return Crop(img, 0, 0, w, h)
}

// Crop returns a copy of the w×h rectangle whose top-left corner is (x0, y0).
// The rectangle must lie inside img.
func Crop(img *Image, x0, y0, w, h int) *Image {
	out := NewImage(w, h)
	for y := 0; y < h; y++ {
		s := 3 * ((y0+y)*img.W + x0)
		copy(out.Pix[3*y*w:3*(y+1)*w], img.Pix[s:s+3*w])
	}
	return out
}

// QuantizeCHW converts a model output, a 1×3×h×w float32 tensor in CHW order,
// to uint8 RGB as the NTIRE test_demo.py tensor2uint does (protocol.md §1.2):
// clamp to [0, dataRange], then v*255 and /dataRange, each rounded to float32
// as numpy does, then round half to even (numpy .round()) and cast. NaN, which
// clamp_ lets through and np.uint8 leaves undefined, becomes 0.
func QuantizeCHW(data []float32, h, w int, dataRange float32) (*Image, error) {
	if h <= 0 || w <= 0 {
		return nil, fmt.Errorf("%w: output size %dx%d", ErrEmpty, w, h)
	}
	if len(data) != 3*h*w {
		return nil, fmt.Errorf("%w: output has %d values, want 3*%d*%d", ErrInvalid, len(data), h, w)
	}
	if !(dataRange > 0) || math.IsInf(float64(dataRange), 0) {
		return nil, fmt.Errorf("%w: data range %v", ErrInvalid, dataRange)
	}
	out := NewImage(w, h)
	plane := h * w
	for c := 0; c < 3; c++ {
		src := data[c*plane : (c+1)*plane]
		for i, v := range src {
			out.Pix[3*i+c] = quantize(v, dataRange)
		}
	}
	return out, nil
}

func quantize(v, dataRange float32) uint8 {
	if !(v > 0) { // also NaN
		return 0
	}
	if v > dataRange {
		v = dataRange
	}
	x := float32(v * 255)
	x = float32(x / dataRange)
	r := math.RoundToEven(float64(x))
	if r > 255 { // cannot happen for finite dataRange; keep the cast defined
		r = 255
	}
	return uint8(r)
}

// ToCHW returns the model input for img: float32 CHW (batch 1 implied) with
// values pixel/255 in [0,1], as uint2tensor4 computes it.
// Multiply by 255 for a data_range 255 model, or use ToCHWRange.
func ToCHW(img *Image) []float32 {
	return ToCHWRange(img, 1)
}

// ToCHWRange is ToCHW for a model trained on [0, dataRange]: pixel/(255/dataRange)
// in float32, as NTIRE's uint2tensor4(img, data_range) computes it.
func ToCHWRange(img *Image, dataRange float32) []float32 {
	return ToCHWRangeInto(nil, img, dataRange)
}

// ToCHWRangeInto is ToCHWRange into dst's memory when it is large enough
// (a runner converting image after image reuses one buffer instead of
// faulting in a new one each time).
func ToCHWRangeInto(dst []float32, img *Image, dataRange float32) []float32 {
	plane := img.W * img.H
	out := dst[:0]
	if cap(out) < 3*plane {
		out = make([]float32, 3*plane)
	}
	out = out[:3*plane]
	div := float32(255 / dataRange)
	for i := 0; i < plane; i++ {
		for c := 0; c < 3; c++ {
			out[c*plane+i] = float32(float32(img.Pix[3*i+c]) / div)
		}
	}
	return out
}

// QuantizeCHWChecked is QuantizeCHW fused with the finiteness check the
// runner needs: one pass over the output instead of two. bad is the CHW
// index of the first NaN or ±Inf, or -1; when bad ≥ 0 the image is nil.
func QuantizeCHWChecked(data []float32, h, w int, dataRange float32) (img *Image, bad int, err error) {
	if h <= 0 || w <= 0 {
		return nil, -1, fmt.Errorf("%w: output size %dx%d", ErrEmpty, w, h)
	}
	if len(data) != 3*h*w {
		return nil, -1, fmt.Errorf("%w: output has %d values, want 3*%d*%d", ErrInvalid, len(data), h, w)
	}
	if !(dataRange > 0) || math.IsInf(float64(dataRange), 0) {
		return nil, -1, fmt.Errorf("%w: data range %v", ErrInvalid, dataRange)
	}
	out := NewImage(w, h)
	plane := h * w
	for c := 0; c < 3; c++ {
		src := data[c*plane : (c+1)*plane]
		pix := out.Pix[c:]
		for i, v := range src {
			if v-v != 0 { // NaN or ±Inf: finite v-v is 0
				return nil, c*plane + i, nil
			}
			pix[3*i] = quantize(v, dataRange)
		}
	}
	return out, -1, nil
}
