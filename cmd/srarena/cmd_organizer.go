package main

import (
	"archive/tar"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

func init() {
	register(command{name: "rerun", summary: "organizer: queue a submission for a new evaluation (rerun SUBMISSION_ID)", run: runRerun})
	register(command{name: "export", summary: "organizer: a phase's results (export CHALLENGE [--phase NAME] --csv|--json)", run: runExport})
	register(command{name: "baseline", summary: "organizer: add a baseline model to a phase (baseline add CHALLENGE MODEL.onnx [--phase NAME] [--label L])", run: runBaseline})
	register(command{name: "dataset", summary: "organizer: import a hidden set (dataset import CHALLENGE --split validation|test --hr DIR [--lr DIR] [--public] [--hr-public])", run: runDataset})
}

func runRerun(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("rerun", "rerun SUBMISSION_ID", stdout)
	pos, err := parseInterspersed(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return usageErr("srarena rerun SUBMISSION_ID")
	}
	id, err := strconv.ParseInt(strings.TrimPrefix(pos[0], "#"), 10, 64)
	if err != nil || id <= 0 {
		return usageErr("SUBMISSION_ID must be a submission number, like 42")
	}
	c, err := loggedIn()
	if err != nil {
		return err
	}
	if err := c.Post(ctx, "/submissions/"+strconv.FormatInt(id, 10)+"/rerun", struct{}{}, nil); err != nil {
		return clientErr(err)
	}
	fmt.Fprintf(stdout, "submission %d queued again\n", id)
	return nil
}

func runExport(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("export", "export CHALLENGE [--phase NAME] --csv|--json", stdout)
	phase := fs.String("phase", "", "phase (default: the challenge's current phase)")
	asCSV := fs.Bool("csv", false, "the results CSV (the columns `srarena rank` and `correlate` read)")
	asJSON := fs.Bool("json", false, "the results as JSON")
	pos, err := parseInterspersed(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 || *asCSV == *asJSON {
		return usageErr("srarena export CHALLENGE [--phase NAME] --csv|--json")
	}
	c, err := loggedIn()
	if err != nil {
		return err
	}
	q := url.Values{"format": {"json"}}
	if *asCSV {
		q.Set("format", "csv")
	}
	if *phase != "" {
		q.Set("phase", *phase)
	}
	b, err := c.GetText(ctx, "/challenges/"+url.PathEscape(pos[0])+"/results", q)
	if err != nil {
		return clientErr(err)
	}
	_, err = stdout.Write(b)
	return err
}

func runDataset(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("dataset import", "dataset import CHALLENGE --split validation|test --hr DIR [--lr DIR] [--public] [--hr-public] [--name NAME] [--phase NAME]", stdout)
	split := fs.String("split", "", "validation or test")
	hr := fs.String("hr", "", "directory of HR PNG images")
	lr := fs.String("lr", "", "directory of LR PNG images (NAME.png or NAMEx4.png); without it the server generates LR with MATLAB-compatible bicubic")
	public := fs.Bool("public", false, "participants may download the LR images (validation only)")
	hrPublic := fs.Bool("hr-public", false, "the crop viewer may show the HR images (public validation sets only)")
	name := fs.String("name", "", "dataset name (default: the HR directory's name and the split)")
	phase := fs.String("phase", "", "the phase that scores on it")
	asJSON := fs.Bool("json", false, "print the manifest as JSON")
	pos, err := parseInterspersed(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 2 || pos[0] != "import" || *split == "" || *hr == "" {
		return usageErr("srarena dataset import CHALLENGE --split validation|test --hr DIR [--lr DIR] [--public]")
	}
	if *name == "" {
		*name = filepath.Base(filepath.Clean(*hr)) + "-" + *split
		if b := filepath.Base(filepath.Clean(*hr)); strings.EqualFold(b, "hr") {
			*name = filepath.Base(filepath.Dir(filepath.Clean(*hr))) + "-" + *split
		}
	}
	c, err := loggedIn()
	if err != nil {
		return err
	}
	tmp, err := os.CreateTemp("", "srarena-dataset-*.tar")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	n, err := writeDatasetTar(tmp, *hr, *lr)
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return &exitError{code: exitUsage, err: err}
	}
	fields := [][2]string{{"name", *name}, {"split", *split}, {"phase", *phase}}
	if *public {
		fields = append(fields, [2]string{"public", "yes"})
	}
	if *hrPublic {
		fields = append(fields, [2]string{"hr_public", "yes"})
	}
	var manifest struct {
		Scale  int `json:"scale"`
		Images []struct {
			LRGenerated bool `json:"lr_generated"`
		} `json:"images"`
	}
	var raw json.RawMessage
	if err := c.UploadPart(ctx, "/challenges/"+url.PathEscape(pos[1])+"/datasets", fields, "archive", tmp.Name(), nil, &raw); err != nil {
		return clientErr(err)
	}
	if *asJSON {
		_, err := fmt.Fprintln(stdout, string(raw))
		return err
	}
	json.Unmarshal(raw, &manifest) //nolint:errcheck // the summary line is best effort
	how := "LR from --lr"
	if len(manifest.Images) > 0 && manifest.Images[0].LRGenerated {
		how = "LR generated with MATLAB-compatible bicubic"
	}
	fmt.Fprintf(stdout, "imported %s: %d of %d images (×%d, %s)\n", *name, len(manifest.Images), n, manifest.Scale, how)
	return nil
}

// writeDatasetTar writes the PNGs of hrDir under HR/ and of lrDir under LR/
// (plain files only) and returns the number of HR images.
func writeDatasetTar(w io.Writer, hrDir, lrDir string) (int, error) {
	tw := tar.NewWriter(w)
	add := func(dir, prefix string) (int, error) {
		ents, err := os.ReadDir(dir)
		if err != nil {
			return 0, err
		}
		n := 0
		for _, e := range ents {
			if !e.Type().IsRegular() || !strings.EqualFold(filepath.Ext(e.Name()), ".png") {
				continue
			}
			b, err := os.ReadFile(filepath.Join(dir, e.Name()))
			if err != nil {
				return n, err
			}
			if err := tw.WriteHeader(&tar.Header{Name: prefix + e.Name(), Mode: 0o644, Size: int64(len(b)), Typeflag: tar.TypeReg}); err != nil {
				return n, err
			}
			if _, err := tw.Write(b); err != nil {
				return n, err
			}
			n++
		}
		return n, nil
	}
	n, err := add(hrDir, "HR/")
	if err != nil {
		return 0, err
	}
	if n == 0 {
		return 0, fmt.Errorf("no PNG images in %s", hrDir)
	}
	if lrDir != "" {
		if _, err := add(lrDir, "LR/"); err != nil {
			return 0, err
		}
	}
	return n, tw.Close()
}

func runBaseline(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("baseline add", "baseline add CHALLENGE MODEL.onnx [--phase NAME] [--label L]", stdout)
	phase := fs.String("phase", "", "phase (default: the challenge's current phase)")
	label := fs.String("label", "", "the baseline's name on the board (default: the file name)")
	pos, err := parseInterspersed(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 3 || pos[0] != "add" {
		return usageErr("srarena baseline add CHALLENGE MODEL.onnx [--phase NAME]")
	}
	if *label == "" {
		*label = strings.TrimSuffix(filepath.Base(pos[2]), filepath.Ext(pos[2])) + " baseline"
	}
	c, err := loggedIn()
	if err != nil {
		return err
	}
	var out struct {
		ID int64 `json:"id"`
	}
	if err := c.Upload(ctx, "/challenges/"+url.PathEscape(pos[1])+"/baselines", [][2]string{{"phase", *phase}, {"label", *label}}, pos[2], nil, &out); err != nil {
		return clientErr(err)
	}
	fmt.Fprintf(stdout, "baseline %q queued as submission %d\n", *label, out.ID)
	return nil
}
