package main

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"
)

func ntire2023CSV(t *testing.T) string {
	t.Helper()
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "..", "scoring", "testdata", "ntire2023_esr_results.csv")
}

func runCmd(t *testing.T, args ...string) (string, string, int) {
	t.Helper()
	var out, errb bytes.Buffer
	code := run(args, &out, &errb)
	return out.String(), errb.String(), code
}

// End to end: `srarena rank --rules ntire2023` reproduces the published
// table's ranks and sums.
func TestRankCommandNTIRE2023(t *testing.T) {
	path := ntire2023CSV(t)
	out, errs, code := runCmd(t, "rank", "--rules", "ntire2023", "--csv", path)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errs)
	}
	got, err := csv.NewReader(strings.NewReader(out)).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	want, err := csv.NewReader(f).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != len(want) {
		t.Fatalf("%d lines, want %d", len(got), len(want))
	}
	// Every published column comes back unchanged, in place; srarena only
	// appends unranked_reason.
	for i := range want {
		if !slices.Equal(got[i][:len(want[i])], want[i]) {
			t.Errorf("line %d:\n got %v\nwant %v", i+1, got[i][:len(want[i])], want[i])
		}
	}
}

func TestCorrelateCommandJSON(t *testing.T) {
	out, errs, code := runCmd(t, "correlate", "--json", "--csv", ntire2023CSV(t))
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errs)
	}
	var cs []struct {
		Metric                     string
		N                          int
		Pearson, Spearman, Kendall float64
		PearsonCI                  struct{ Lo, Hi float64 } `json:"pearson_ci"`
	}
	if err := json.Unmarshal([]byte(out), &cs); err != nil {
		t.Fatal(err)
	}
	for _, c := range cs {
		if c.Metric == "activations" {
			if c.N != 32 || c.Pearson < 0.88605 || c.Pearson >= 0.88615 || c.PearsonCI.Lo >= c.Pearson {
				t.Errorf("activations: %+v", c)
			}
			return
		}
	}
	t.Errorf("no activations row in %s", out)
}

func TestScoringCommandsUsage(t *testing.T) {
	for _, args := range [][]string{
		{"rank", "--csv", "x.csv"},
		{"rank", "--rules", "nope", "--csv", "x.csv"},
		{"correlate"},
		{"score", "--sr", "a"},
		{"resize", "onlyone"},
		{"score", "--bogus"},
	} {
		if _, _, code := runCmd(t, args...); code != 2 {
			t.Errorf("%v: exit %d, want 2", args, code)
		}
	}
	if _, _, code := runCmd(t, "rank", "--help"); code != 0 {
		t.Errorf("--help: exit %d", code)
	}
}
