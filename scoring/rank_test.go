package scoring

import (
	"encoding/json"
	"math"
	"os"
	"reflect"
	"strings"
	"testing"
	"time"
)

// The NTIRE 2023 table (copied from design/data so the test needs no
// fixtures checkout) must come back with every published rank and sum.
func TestRankReproducesNTIRE2023(t *testing.T) {
	f, err := os.Open("testdata/ntire2023_esr_results.csv")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	pub, err := ReadResultsCSV(f)
	if err != nil {
		t.Fatal(err)
	}
	rules, _ := Preset("ntire2023")
	got, _, err := RankResults(pub, rules, nil)
	if err != nil {
		t.Fatal(err)
	}
	cols := []string{"team", "ranked", "time_rank", "params_rank", "flops_rank", "acts_rank", "mem_rank",
		"modelcomp_sum", "modelcomp_rank", "overall_sum", "overall_rank"}
	if len(got.Rows) != len(pub.Rows) {
		t.Fatalf("%d rows, want %d", len(got.Rows), len(pub.Rows))
	}
	for i := range pub.Rows {
		for _, c := range cols {
			want, have := pub.Rows[i][pub.Col(c)], got.Rows[i][got.Col(c)]
			if want != have {
				t.Errorf("row %d (%s) %s = %q, published %q", i+1, pub.Rows[i][0], c, have, want)
			}
		}
	}
	// The unranked rows say why.
	reasons := map[string]string{}
	for _, row := range got.Rows {
		if r := row[got.Col("unranked_reason")]; r != "" {
			reasons[row[0]] = r
		}
	}
	for team, want := range map[string]string{
		"Alpha":         "PSNR 28.81 dB is below the required 28.91 dB",
		"CUIT_SRLab":    "test PSNR 25.44 dB is below the required 26.95 dB",
		"RFDN baseline": "baseline",
	} {
		if !strings.Contains(reasons[team], want) {
			t.Errorf("%s: reason %q, want it to contain %q", team, reasons[team], want)
		}
	}
}

// With shared ties (ntire2022's rule), the same table shows where the
// published 2023 order deviates from standard competition ranking.
func TestRankSharedTies(t *testing.T) {
	f, err := os.Open("testdata/ntire2023_esr_results.csv")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	pub, err := ReadResultsCSV(f)
	if err != nil {
		t.Fatal(err)
	}
	rules, _ := Preset("ntire2023")
	rules.MetricTieBreak = nil
	for i := range rules.Tracks {
		rules.Tracks[i].TieBreak = nil
	}
	got, _, err := RankResults(pub, rules, nil)
	if err != nil {
		t.Fatal(err)
	}
	overall := map[string]string{}
	for _, row := range got.Rows {
		overall[row[0]] = row[got.Col("overall_rank")]
	}
	// Sums of 78: NJUST_E, FRL Team 3, FRL Team 1 share 16th (published 16, 17, 18).
	for _, team := range []string{"NJUST_E", "FRL Team 3", "FRL Team 1"} {
		if overall[team] != "16" {
			t.Errorf("%s overall rank %s, want shared 16", team, overall[team])
		}
	}
	if overall["FRL Team 4"] != "19" && overall["Set5 Baby"] != "19" {
		t.Errorf("rank after a three-way tie at 16 should skip to 19")
	}
}

func TestRankRules(t *testing.T) {
	t0 := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	e := func(id string, at int, kv ...float64) Entry {
		m := map[string]float64{}
		keys := []string{MetricPSNRVal, MetricPSNRTest, MetricRuntime, MetricParams, MetricFLOPs}
		for i, v := range kv {
			if !math.IsNaN(v) {
				m[keys[i]] = v
			}
		}
		return Entry{ID: id, SubmittedAt: t0.Add(time.Duration(at) * time.Hour), Metrics: m}
	}
	nan := math.NaN()
	rules, _ := Preset("ntire2024")
	entries := []Entry{
		e("base", 0, 26.96, 27.07, 13.54, 0.317, 19.67), // the baseline's own values: every score e²
		e("fast", 1, 26.95, 27.00, 6.77, 0.317, 19.67),  // runtime halved: 0.7e + 0.3e²
		e("low", 2, 26.80, 27.10, 1, 0.1, 1),            // below the val gate
		e("nan", 3, 27.0, 27.0, nan, 0.1, 1),            // runtime missing: ranked last
		e("notest", 4, 27.0, nan, 1, 0.1, 1),            // no test PSNR: unranked
	}
	got, err := Rank(rules, nil, entries)
	if err != nil {
		t.Fatal(err)
	}
	byID := map[string]Ranked{}
	for _, r := range got {
		byID[r.Entry.ID] = r
	}
	e2 := math.Exp(2)
	checks := []struct {
		id     string
		rank   int
		score  float64
		reason string
	}{
		{"fast", 1, 0.7*math.Exp(1) + 0.3*e2, ""},
		{"base", 2, e2, ""},
		{"nan", 3, nan, ""},
		{"low", 0, nan, "PSNR 26.80 dB is below the required 26.90 dB"},
		{"notest", 0, nan, "no test PSNR was measured"},
	}
	for _, c := range checks {
		r := byID[c.id]
		if r.Rank != c.rank || r.Unranked != c.reason {
			t.Errorf("%s: rank %d reason %q, want %d %q", c.id, r.Rank, r.Unranked, c.rank, c.reason)
		}
		if s := r.Tracks[0].Value; !(math.IsNaN(c.score) && math.IsNaN(s)) && math.Abs(s-c.score) > 1e-12 {
			t.Errorf("%s: score %v, want %v", c.id, s, c.score)
		}
	}
	if _, err := json.Marshal(got); err != nil {
		t.Errorf("ranked entries with NaN values must marshal: %v", err)
	}
	if ids := []string{got[0].Entry.ID, got[1].Entry.ID, got[2].Entry.ID}; !reflect.DeepEqual(ids, []string{"fast", "base", "nan"}) {
		t.Errorf("order %v", ids)
	}

	// Equal runtimes: shared rank, unless the rule breaks ties by submission.
	aim, _ := Preset("aim2020")
	same := []Entry{e("late", 5, 29.1, 28.8, 40), e("early", 1, 29.0, 28.8, 40), e("slow", 0, 29.2, 28.9, 50)}
	got, _ = Rank(aim, nil, same)
	if got[0].Rank != 1 || got[1].Rank != 1 || got[2].Rank != 3 {
		t.Errorf("shared ties: ranks %d %d %d, want 1 1 3", got[0].Rank, got[1].Rank, got[2].Rank)
	}
	aim.Tracks[0].TieBreak = []string{TieBreakSubmitted}
	got, _ = Rank(aim, nil, same)
	if got[0].Entry.ID != "early" || got[0].Rank != 1 || got[1].Rank != 2 {
		t.Errorf("submission tie-break: %s %d, %s %d", got[0].Entry.ID, got[0].Rank, got[1].Entry.ID, got[1].Rank)
	}
	// AIM 2020's gate is relative to the baseline; a caller's baseline wins.
	got, _ = Rank(aim, map[string]float64{MetricPSNRVal: 29.15}, same)
	if got[0].Entry.ID != "slow" || got[1].Unranked == "" {
		t.Errorf("baseline override: %+v", got)
	}
}

func TestRulesJSONAndValidate(t *testing.T) {
	for _, name := range PresetNames() {
		r, ok := Preset(name)
		if !ok || r.Name != name || r.Source == "" {
			t.Fatalf("preset %s: ok=%v name=%q, source %q", name, ok, r.Name, r.Source)
		}
		if err := r.Validate(); err != nil {
			t.Errorf("preset %s: %v", name, err)
		}
		b, err := json.Marshal(r)
		if err != nil {
			t.Fatal(err)
		}
		var back Rules
		if err := json.Unmarshal(b, &back); err != nil || !reflect.DeepEqual(back, r) {
			t.Errorf("preset %s does not survive JSON: %v", name, err)
		}
	}
	if len(PresetNames()) != 6 {
		t.Errorf("presets %v", PresetNames())
	}
	// Preset returns a copy.
	a, _ := Preset("ntire2023")
	a.Tracks[0].Name = "changed"
	if b, _ := Preset("ntire2023"); b.Tracks[0].Name != "time" {
		t.Error("Preset shares state with its table")
	}
	bad := []Rules{
		{},
		{Tracks: []Track{{Name: "a", Method: "magic", Terms: []Term{{Metric: "x"}}}}},
		{Tracks: []Track{{Name: "a", Method: MethodValue}}},
		{Tracks: []Track{{Name: "a", Method: MethodRankSum, Terms: []Term{{Metric: "x"}}, TieBreak: []string{"track:b"}}}},
		{Tracks: []Track{{Name: "a", Method: MethodValue, Terms: []Term{{Metric: "x"}}}, {Name: "a", Method: MethodValue, Terms: []Term{{Metric: "x"}}}}},
		{MetricTieBreak: []string{"track:a"}, Tracks: []Track{{Name: "a", Method: MethodValue, Terms: []Term{{Metric: "x"}}}}},
	}
	for i, r := range bad {
		if err := r.Validate(); err == nil {
			t.Errorf("bad rules %d accepted", i)
		}
	}
	// exp_score without a baseline value cannot score anyone.
	r := Rules{Tracks: []Track{{Name: "s", Method: MethodExpScore, Terms: []Term{{Metric: MetricRuntime}}}}}
	if _, err := Rank(r, nil, nil); err == nil {
		t.Error("exp score without baseline accepted")
	}
}

// A row marked ranked 0 without a reason (a previous winner listed for
// reference) stays out of the field: it gets no rank, the others' ranks and
// rank sums are as if it were absent, and it is not in the correlations.
func TestRankResultsKeepsNotCompetingOut(t *testing.T) {
	read := func(s string) *Results {
		t.Helper()
		r, err := ReadResultsCSV(strings.NewReader(s))
		if err != nil {
			t.Fatal(err)
		}
		return r
	}
	const head = "team,ranked,ave_time_ms,psnr_val,psnr_test,params_m,flops_g,acts_m,mem_mb,conv\n"
	field := "A,1,30,29.1,27.1,0.30,20,80,500,40\n" +
		"B,1,20,29.0,27.0,0.40,25,90,400,50\n" +
		"C,1,40,29.2,27.2,0.20,15,70,300,30\n" +
		"Low,0,10,28.0,26.0,0.10,5,50,100,20\n" // fails the PSNR gate: keeps the gate's reason
	winner := "Old winner,0,5,29.5,27.5,0.10,5,50,100,20\n"
	rules, _ := Preset("ntire2023")

	without, _, err := RankResults(read(head+field), rules, nil)
	if err != nil {
		t.Fatal(err)
	}
	with, ranked, err := RankResults(read(head+field+winner), rules, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(with.Rows) != len(without.Rows)+1 {
		t.Fatalf("%d rows, want %d", len(with.Rows), len(without.Rows)+1)
	}
	for i, row := range without.Rows { // same ranks, sums and order for the field
		for c, h := range without.Header {
			if got := with.Rows[i][with.Col(h)]; got != row[c] {
				t.Errorf("row %s column %s = %q with the reference row, %q without", row[0], h, got, row[c])
			}
		}
	}
	last := with.Rows[len(with.Rows)-1]
	if last[0] != "Old winner" || last[with.Col("ranked")] != "0" || last[with.Col("unranked_reason")] != NotCompeting ||
		last[with.Col("time_rank")] != "" || last[with.Col("overall_rank")] != "" {
		t.Errorf("reference row = %q", last)
	}
	if r := ranked[len(ranked)-1]; r.Rank != 0 || r.Index != 4 || r.Unranked != NotCompeting {
		t.Errorf("reference Ranked = %+v", r)
	}
	low := with.Rows[len(with.Rows)-2]
	if low[0] != "Low" || !strings.Contains(low[with.Col("unranked_reason")], "below the required") {
		t.Errorf("gated row = %q", low)
	}
	// A reason in the input means the row was gated, not withdrawn: the
	// rules decide again.
	withReason := read("team,ranked,unranked_reason,ave_time_ms,psnr_val,psnr_test,params_m,flops_g,acts_m,mem_mb,conv\n" +
		"A,1,,30,29.1,27.1,0.30,20,80,500,40\nW,0,psnr below gate,5,29.5,27.5,0.10,5,50,100,20\n")
	out, _, err := RankResults(withReason, rules, nil)
	if err != nil {
		t.Fatal(err)
	}
	if out.Rows[0][0] != "W" || out.Rows[0][out.Col("ranked")] != "1" {
		t.Errorf("a row with an input reason is re-ranked by the rules: %q", out.Rows)
	}
	// The correlations use the competing rows only.
	cs, err := CorrelateResults(read(head + field + winner))
	if err != nil {
		t.Fatal(err)
	}
	if cs[0].N != 3 {
		t.Errorf("correlation n = %d, want 3 (ranked rows only)", cs[0].N)
	}
}

// Unranked rows say why in words a participant understands (issue #7).
func TestGateReasonInWords(t *testing.T) {
	for _, tc := range []struct {
		gate Gate
		base map[string]float64
		v    float64
		want string
	}{
		{Gate{Metric: MetricPSNRVal, FromBaseline: true}, map[string]float64{MetricPSNRVal: 37.329190993592}, 4.723634376256447,
			"PSNR 4.72 dB is below the baseline's 37.33 dB"},
		{Gate{Metric: MetricPSNRVal, FromBaseline: true}, map[string]float64{MetricPSNRVal: 37.3291}, 37.3289,
			"PSNR 37.3289 dB is below the baseline's 37.3291 dB"},
		{Gate{Metric: MetricPSNRTest, FromBaseline: true, Min: -0.1}, map[string]float64{MetricPSNRTest: 27}, 26,
			"test PSNR 26.00 dB is below the baseline's 27.00 dB − 0.10 dB = 26.90 dB"},
		{Gate{Metric: MetricPSNRVal, FromBaseline: true}, nil, 26, "no baseline PSNR to compare with yet"},
		{Gate{Metric: MetricPSNRVal, Min: 26.9}, nil, math.NaN(), "no PSNR was measured"},
	} {
		got := gateReason([]Gate{tc.gate}, tc.base, Entry{Metrics: map[string]float64{tc.gate.Metric: tc.v}})
		if got != tc.want {
			t.Errorf("gateReason(%+v, %v) = %q, want %q", tc.gate, tc.v, got, tc.want)
		}
	}
}
