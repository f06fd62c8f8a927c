package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/srarena/srarena/scoring"
)

func init() {
	register(command{name: "resize", summary: "make LR inputs from HR with MATLAB bicubic (DIV2K-style)", run: runResize})
}

func runResize(ctx context.Context, args []string, stdout, _ io.Writer) error {
	fs := newFlagSet("resize [--scale 4] HR_DIR LR_DIR", "resize [--scale 4] HR_DIR LR_DIR", stdout)
	scale := fs.Int("scale", 4, "downscaling factor; HR is mod-cropped to it first")
	pos, err := parseAnywhere(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 2 {
		return fmt.Errorf("%w: need HR_DIR and LR_DIR", errUsage)
	}
	if *scale < 1 {
		return fmt.Errorf("%w: --scale must be ≥ 1", errUsage)
	}
	hrDir, lrDir := pos[0], pos[1]
	names, err := scoring.ListPNGs(hrDir)
	if err != nil {
		return err
	}
	if len(names) == 0 {
		return fmt.Errorf("no PNG files in %s", hrDir)
	}
	if err := os.MkdirAll(lrDir, 0o755); err != nil {
		return err
	}
	for _, name := range names {
		if err := ctx.Err(); err != nil {
			return err
		}
		hr, err := scoring.ReadPNG(filepath.Join(hrDir, name))
		if err != nil {
			return err
		}
		lr, err := scoring.ResizeBicubic(scoring.ModCrop(hr, *scale), *scale)
		if err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
		out := fmt.Sprintf("%sx%d.png", strings.TrimSuffix(name, filepath.Ext(name)), *scale)
		if err := scoring.WritePNG(filepath.Join(lrDir, out), lr); err != nil {
			return err
		}
	}
	fmt.Fprintf(stdout, "wrote %d LR images (x%d) to %s\n", len(names), *scale, lrDir)
	return nil
}
