package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"text/tabwriter"

	"github.com/srarena/srarena/scoring"
)

func init() {
	register(command{name: "score", summary: "score existing SR images against HR (PSNR, SSIM)", run: runScore})
}

// parseAnywhere parses fs over args, letting flags follow positional
// arguments ("resize HR LR --scale 4"), and returns the positionals.
// Bad flags are wrapped in errUsage; --help is returned as flag.ErrHelp.
func parseAnywhere(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				return nil, err
			}
			return nil, fmt.Errorf("%w: %v", errUsage, err)
		}
		args = fs.Args()
		if len(args) == 0 {
			return pos, nil
		}
		pos = append(pos, args[0])
		args = args[1:]
	}
}

func runScore(_ context.Context, args []string, stdout, _ io.Writer) error {
	fs := newFlagSet("score", "score --sr DIR --hr DIR [--y] [--json] [--scale 4] [--border N]", stdout)
	sr := fs.String("sr", "", "directory of SR PNGs (`0801x4.png` or `0801.png`)")
	hr := fs.String("hr", "", "directory of HR PNGs (mod-cropped to --scale before scoring)")
	y := fs.Bool("y", false, "PSNR and SSIM on the Y channel (MATLAB rgb2ycbcr) instead of RGB")
	asJSON := fs.Bool("json", false, "print JSON: {psnr, ssim, y, images:[{name, psnr, ssim}]}; +Inf PSNR is null")
	scale := fs.Int("scale", 4, "SR factor: HR mod-crop")
	border := fs.Int("border", -1, "pixels cropped from every side (default: the scale, as test_demo.py)")
	pos, err := parseAnywhere(fs, args)
	if err != nil {
		return err
	}
	if len(pos) > 0 || *sr == "" || *hr == "" {
		return fmt.Errorf("%w: need --sr DIR and --hr DIR and no other arguments", errUsage)
	}
	if *scale < 1 {
		return fmt.Errorf("%w: --scale must be ≥ 1", errUsage)
	}
	res, err := scoring.ScoreDirs(*sr, *hr, scoring.ScoreOptions{Scale: *scale, Border: *border, Y: *y})
	if err != nil {
		return err
	}
	if *asJSON {
		return printJSON(stdout, res)
	}
	tw := tabwriter.NewWriter(stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "image\tpsnr\tssim")
	for _, im := range res.Images {
		fmt.Fprintf(tw, "%s\t%s\t%.4f\n", im.Name, fmtDB(float64(im.PSNR)), float64(im.SSIM))
	}
	channel := "RGB"
	if *y {
		channel = "Y"
	}
	fmt.Fprintf(tw, "mean (%d images, %s)\t%s\t%.4f\n", len(res.Images), channel, fmtDB(float64(res.PSNR)), float64(res.SSIM))
	return tw.Flush()
}

func fmtDB(v float64) string {
	if math.IsInf(v, 1) {
		return "inf"
	}
	return fmt.Sprintf("%.4f", v)
}
