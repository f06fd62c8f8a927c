// Command mkraw writes each LR PNG of a directory as the model input
// srarena feeds ONNX Runtime (scoring.ToCHW: float32 CHW, pixel/255), for
// bench/ortnode/bench.js, which has no PNG decoder: both sides then time the
// same tensors. File format: u32 H, u32 W (little-endian), 3·H·W float32.
//
//	go run ./bench/ortnode/mkraw LR_DIR OUT_DIR
package main

import (
	"encoding/binary"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"

	"github.com/srarena/srarena/scoring"
)

func main() {
	if len(os.Args) != 3 {
		fmt.Fprintln(os.Stderr, "usage: mkraw LR_DIR OUT_DIR")
		os.Exit(2)
	}
	names, err := filepath.Glob(filepath.Join(os.Args[1], "*.png"))
	if err != nil || len(names) == 0 {
		fmt.Fprintln(os.Stderr, "mkraw: no PNG files in", os.Args[1])
		os.Exit(1)
	}
	if err := os.MkdirAll(os.Args[2], 0o755); err != nil {
		fmt.Fprintln(os.Stderr, "mkraw:", err)
		os.Exit(1)
	}
	for _, n := range names {
		img, err := scoring.ReadPNG(n)
		if err != nil {
			fmt.Fprintln(os.Stderr, "mkraw:", err)
			os.Exit(1)
		}
		in := scoring.ToCHW(img)
		b := make([]byte, 8, 8+4*len(in))
		binary.LittleEndian.PutUint32(b, uint32(img.H))
		binary.LittleEndian.PutUint32(b[4:], uint32(img.W))
		for _, v := range in {
			b = binary.LittleEndian.AppendUint32(b, math.Float32bits(v))
		}
		out := filepath.Join(os.Args[2], strings.TrimSuffix(filepath.Base(n), ".png")+".f32")
		if err := os.WriteFile(out, b, 0o644); err != nil {
			fmt.Fprintln(os.Stderr, "mkraw:", err)
			os.Exit(1)
		}
	}
}
