package analysis

import (
	"bytes"
	"strings"
	"testing"

	"github.com/srarena/srarena/scoring"
)

// protocol.md §6: the reference correlations of the NTIRE 2023 table,
// computed with scipy 1.10 (ranked teams only, n = 32).
var section6 = map[string][3]string{ // column: Pearson, Spearman, Kendall τ-b
	"params_m": {"0.0033", "−0.3896", "−0.2061"},
	"flops_g":  {"0.0097", "−0.3966", "−0.2056"},
	"acts_m":   {"0.8861", "0.9150", "0.7702"},
	"mem_mb":   {"0.2909", "0.3130", "0.2137"},
	"conv":     {"0.5013", "0.8611", "0.6721"},
}

func TestNTIRE2023ReferenceMatchesProtocol(t *testing.T) {
	ref, ok := ReferenceBySlug("ntire2023")
	if !ok {
		t.Fatal("no ntire2023 reference")
	}
	rep, err := ref.Analyze()
	if err != nil {
		t.Fatal(err)
	}
	if rep.Ranked != 32 || rep.Baselines != 1 || rep.Excluded != 3 {
		t.Errorf("ranked %d baselines %d excluded %d, want 32, 1, 3", rep.Ranked, rep.Baselines, rep.Excluded)
	}
	seen := 0
	for _, r := range rep.Results {
		want, ok := section6[r.Column]
		if !ok {
			t.Errorf("unexpected measure %s", r.Column)
			continue
		}
		seen++
		got := [3]string{Fixed4(r.Pearson), Fixed4(r.Spearman), Fixed4(r.Kendall)}
		if got != want || r.N != 32 {
			t.Errorf("%s: %v n=%d, protocol §6 has %v n=32", r.Column, got, r.N, want)
		}
		if len(r.Points) != 33 { // 32 ranked + the baseline
			t.Errorf("%s: %d points, want 33", r.Column, len(r.Points))
		}
		var hi int
		for _, p := range r.Points {
			if p.Highlight {
				hi++
				if p.Label != "RFDN baseline" {
					t.Errorf("highlighted %q", p.Label)
				}
			}
		}
		if hi != 1 {
			t.Errorf("%s: %d highlighted points", r.Column, hi)
		}
	}
	if seen != len(section6) {
		t.Errorf("%d measures, want %d", seen, len(section6))
	}
	for _, want := range []string{"activations predicts runtime best", "ρ = 0.9150", "overlaps that of conv layers (ρ = 0.8611)",
		"clearly better than parameters, FLOPs, memory"} {
		if !strings.Contains(rep.Verdict, want) {
			t.Errorf("verdict %q lacks %q", rep.Verdict, want)
		}
	}
}

func TestAnalyzeCorrelationsAreCorrelatesOutput(t *testing.T) {
	ref, _ := ReferenceBySlug("ntire2023")
	tab, err := scoring.ReadResultsCSV(bytes.NewReader(ref.CSV()))
	if err != nil {
		t.Fatal(err)
	}
	want, err := scoring.CorrelateResults(tab)
	if err != nil {
		t.Fatal(err)
	}
	rep, err := Analyze("x", tab)
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Correlations) != len(want) {
		t.Fatalf("%d correlations, want %d", len(rep.Correlations), len(want))
	}
}

func TestVerdictSmallAndClear(t *testing.T) {
	tab, err := scoring.ReadResultsCSV(strings.NewReader("team,ranked,ave_time_ms,params_m,acts_m\nA,1,10,1,5\nB,1,20,3,9\nC,1,30,2,12\n"))
	if err != nil {
		t.Fatal(err)
	}
	rep, err := Analyze("small", tab)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(rep.Verdict, "too few for a 95 % interval") {
		t.Errorf("verdict for n=3: %q", rep.Verdict)
	}
	// Both charts and the summary render whatever the data.
	for i, r := range rep.Results {
		if b := r.Chart("c" + string(rune('0'+i))); !bytes.Contains(b, []byte(`role="img"`)) {
			t.Error("chart without role")
		}
	}
	if b := rep.Summary("s"); !bytes.Contains(b, []byte("Spearman")) {
		t.Error("summary chart without series")
	}
}
