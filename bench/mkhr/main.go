// Command mkhr writes stand-in HR images for LR images that have none (the
// DIV2K test LR fixtures): each LR PNG upscaled ×SCALE by pixel repetition,
// under the same name. Timing and overhead benchmarks need HR images of the
// right size, not of the right content.
//
//	go run ./bench/mkhr LR_DIR HR_DIR [SCALE]
package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/srarena/srarena/scoring"
)

func main() {
	if len(os.Args) < 3 {
		fmt.Fprintln(os.Stderr, "usage: mkhr LR_DIR HR_DIR [SCALE]")
		os.Exit(2)
	}
	scale := 4
	if len(os.Args) > 3 {
		s, err := strconv.Atoi(os.Args[3])
		if err != nil || s < 1 {
			fmt.Fprintln(os.Stderr, "mkhr: bad scale")
			os.Exit(2)
		}
		scale = s
	}
	if err := run(os.Args[1], os.Args[2], scale); err != nil {
		fmt.Fprintln(os.Stderr, "mkhr:", err)
		os.Exit(1)
	}
}

func run(lrDir, hrDir string, f int) error {
	names, err := scoring.ListPNGs(lrDir)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(hrDir, 0o755); err != nil {
		return err
	}
	for _, name := range names {
		lr, err := scoring.ReadPNG(filepath.Join(lrDir, name))
		if err != nil {
			return err
		}
		hr := scoring.NewImage(lr.W*f, lr.H*f)
		for y := 0; y < hr.H; y++ {
			for x := 0; x < hr.W; x++ {
				copy(hr.Pix[3*(y*hr.W+x):3*(y*hr.W+x)+3], lr.Pix[3*((y/f)*lr.W+x/f):])
			}
		}
		out := strings.TrimSuffix(name, "x"+strconv.Itoa(f)+".png")
		if !strings.HasSuffix(out, ".png") {
			out += ".png"
		}
		if err := scoring.WritePNG(filepath.Join(hrDir, out), hr); err != nil {
			return err
		}
	}
	return nil
}
