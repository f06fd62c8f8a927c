package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"

	"github.com/srarena/srarena/onnxmodel"
)

func init() {
	register(command{name: "inspect", summary: "validate an ONNX model and profile its complexity", run: runInspect})
}

var errInvalidModel = errors.New("model is invalid")

// inspectJSON flattens the profile into the top level, the shape scripts
// and the web's jsonb column expect.
type inspectJSON struct {
	Valid     bool                `json:"valid"`
	Errors    []onnxmodel.Problem `json:"errors"`
	Opset     int64               `json:"opset"`
	IRVersion int64               `json:"ir_version"`
	*onnxmodel.Profile
}

func runInspect(_ context.Context, args []string, stdout, _ io.Writer) error {
	fs := newFlagSet("inspect", "inspect MODEL.onnx [--scale N] [--lr HxW] [--json]", stdout)
	scale := fs.Int("scale", 4, "challenge upscaling factor")
	lr := fs.String("lr", "256x256", "LR size `HxW` for the complexity profile")
	asJSON := fs.Bool("json", false, "print a JSON report")
	// Flags may follow the positional MODEL argument.
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				return err
			}
			return fmt.Errorf("%w: %v", errUsage, err)
		}
		args = fs.Args()
		if len(args) == 0 {
			break
		}
		pos = append(pos, args[0])
		args = args[1:]
	}
	if len(pos) != 1 {
		return fmt.Errorf("%w: need exactly one MODEL.onnx", errUsage)
	}
	h, w, err := parseHxW(*lr)
	if err != nil {
		return fmt.Errorf("%w: --lr: %v", errUsage, err)
	}
	if *scale < 1 || *scale > 16 {
		return fmt.Errorf("%w: --scale must be in 1..16", errUsage)
	}
	lim := onnxmodel.DefaultLimits
	st, err := os.Stat(pos[0])
	if err != nil {
		return err
	}
	// Refuse oversized files before reading them.
	if st.Size() > lim.MaxFileBytes {
		return fmt.Errorf("%s: %d bytes, more than the limit of %d: %w", pos[0], st.Size(), lim.MaxFileBytes, errInvalidModel)
	}
	data, err := os.ReadFile(pos[0])
	if err != nil {
		return err
	}
	rep, err := onnxmodel.Inspect(data, onnxmodel.Options{Scale: *scale, ProfileH: h, ProfileW: w, Limits: lim})
	if err != nil {
		return fmt.Errorf("inspect %s: %w", pos[0], err)
	}
	if *asJSON {
		out := inspectJSON{Valid: rep.Valid, Errors: rep.Problems, Opset: rep.Opset, IRVersion: rep.IRVersion, Profile: rep.Profile}
		if out.Errors == nil {
			out.Errors = []onnxmodel.Problem{}
		}
		if err := printJSON(stdout, out); err != nil {
			return err
		}
	} else {
		printInspect(stdout, pos[0], *scale, rep)
	}
	if !rep.Valid {
		return errInvalidModel
	}
	return nil
}

func parseHxW(s string) (int, int, error) {
	a, b, ok := strings.Cut(strings.ToLower(s), "x")
	if !ok {
		return 0, 0, fmt.Errorf("%q is not HxW", s)
	}
	h, err1 := strconv.Atoi(a)
	w, err2 := strconv.Atoi(b)
	if err1 != nil || err2 != nil || h < 1 || w < 1 || h > 1<<14 || w > 1<<14 {
		return 0, 0, fmt.Errorf("%q is not HxW with sizes in 1..16384", s)
	}
	return h, w, nil
}

func printInspect(w io.Writer, name string, scale int, rep *onnxmodel.Report) {
	if !rep.Valid {
		fmt.Fprintf(w, "%s: INVALID for a ×%d challenge (opset %d, IR %d)\n", name, scale, rep.Opset, rep.IRVersion)
		for _, p := range rep.Problems {
			fmt.Fprintf(w, "  - %s\n", p)
		}
		return
	}
	p := rep.Profile
	fmt.Fprintf(w, "%s: valid ×%d model (opset %d, IR %d, %d nodes)\n", name, scale, rep.Opset, rep.IRVersion, p.Nodes)
	fmt.Fprintf(w, "profile at input %v -> output %v\n", p.InputShape, p.OutputShape)
	fmt.Fprintf(w, "  params        %d (%.3f M)\n", p.Params, float64(p.Params)/1e6)
	fmt.Fprintf(w, "  conv MACs     %d (%.4f G)\n", p.ConvMACs, float64(p.ConvMACs)/1e9)
	fmt.Fprintf(w, "  FLOPs KAIR    %d (%.4f G)\n", p.FlopsKAIR, float64(p.FlopsKAIR)/1e9)
	fmt.Fprintf(w, "  FLOPs fvcore  %d (%.4f G)\n", p.FlopsFvcore, float64(p.FlopsFvcore)/1e9)
	fmt.Fprintf(w, "  activations   %d (%.4f M)\n", p.Activations, float64(p.Activations)/1e6)
	fmt.Fprintf(w, "  conv layers   %d\n", p.ConvLayers)
}
