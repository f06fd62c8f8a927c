package scoring

import (
	"encoding/csv"
	"fmt"
	"io"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"
)

// The results CSV is the format of design/data/ntire2023_esr_results.csv:
// one row per entry, a header naming the columns. Known metric columns map to
// metric keys; other columns are carried through untouched.
var csvMetricColumns = map[string]string{
	"ave_time_ms":  MetricRuntime,
	"val_time_ms":  MetricRuntimeVal,
	"test_time_ms": MetricRuntimeTest,
	"psnr_val":     MetricPSNRVal,
	"psnr_test":    MetricPSNRTest,
	"params_m":     MetricParams,
	"flops_g":      MetricFLOPs,
	"acts_m":       MetricActivations,
	"mem_mb":       MetricMemory,
	"conv":         MetricConv,
	// The measured ratio to the baseline (a board that ranks by it).
	"runtime_ratio": MetricRuntimeRatio,
}

// csvMetricRankColumns are the per-metric rank columns of the results CSV.
var csvMetricRankColumns = map[string]string{
	MetricRuntime:     "time_rank",
	MetricParams:      "params_rank",
	MetricFLOPs:       "flops_rank",
	MetricActivations: "acts_rank",
	MetricMemory:      "mem_rank",
}

// Results is a results table as read from CSV: the header and the rows as
// strings, so that it can be written back with only srarena's columns changed.
type Results struct {
	Header []string
	Rows   [][]string
}

// MaxResultRows bounds the rows ReadResultsCSV accepts.
const MaxResultRows = 100000

// ReadResultsCSV reads a results table. The header must have a "team" column
// and no duplicate names; every row must have as many fields as the header.
func ReadResultsCSV(r io.Reader) (*Results, error) {
	cr := csv.NewReader(r)
	cr.TrimLeadingSpace = true
	recs, err := readAllLimited(cr)
	if err != nil {
		return nil, fmt.Errorf("read results csv: %w", err)
	}
	if len(recs) == 0 {
		return nil, fmt.Errorf("%w: results csv is empty", ErrInvalid)
	}
	t := &Results{Header: recs[0], Rows: recs[1:]}
	seen := map[string]bool{}
	for _, h := range t.Header {
		if seen[h] {
			return nil, fmt.Errorf("%w: duplicate column %q", ErrInvalid, h)
		}
		seen[h] = true
	}
	if !seen["team"] {
		return nil, fmt.Errorf("%w: results csv has no \"team\" column", ErrInvalid)
	}
	return t, nil
}

func readAllLimited(cr *csv.Reader) ([][]string, error) {
	var recs [][]string
	for {
		rec, err := cr.Read()
		if err == io.EOF {
			return recs, nil
		}
		if err != nil {
			return nil, err
		}
		if len(recs) > MaxResultRows {
			return nil, fmt.Errorf("%w: more than %d rows", ErrInvalid, MaxResultRows)
		}
		recs = append(recs, rec)
	}
}

// Col returns the index of the named column, or -1.
func (t *Results) Col(name string) int {
	for i, h := range t.Header {
		if h == name {
			return i
		}
	}
	return -1
}

// col returns the column index, appending the column (empty cells) if absent.
func (t *Results) col(name string) int {
	if i := t.Col(name); i >= 0 {
		return i
	}
	t.Header = append(t.Header, name)
	for i := range t.Rows {
		t.Rows[i] = append(t.Rows[i], "")
	}
	return len(t.Header) - 1
}

// Entries converts rows to entries: ID from "team"; metrics from the known
// columns (an empty cell is a missing value); SubmittedAt from an optional
// RFC 3339 "submitted_at" column; Baseline from an optional "baseline" column
// (1/true), or else when the team name contains "baseline" (the NTIRE tables
// name the reference row "RFDN baseline"). The "ranked" column is not read
// here: the rules' gates decide, except that RankResults keeps rows marked
// as not competing out of the field (see NotCompeting).
func (t *Results) Entries() ([]Entry, error) {
	team := t.Col("team")
	subm, basecol := t.Col("submitted_at"), t.Col("baseline")
	out := make([]Entry, len(t.Rows))
	for ri, row := range t.Rows {
		e := Entry{ID: row[team], Metrics: map[string]float64{}}
		for ci, h := range t.Header {
			key, ok := csvMetricColumns[h]
			if !ok {
				continue
			}
			s := strings.TrimSpace(row[ci])
			if s == "" {
				continue
			}
			v, err := strconv.ParseFloat(s, 64)
			if err != nil {
				return nil, fmt.Errorf("%w: row %d column %s: %q is not a number", ErrInvalid, ri+2, h, s)
			}
			if math.IsNaN(v) || math.IsInf(v, 0) {
				continue // "NaN"/"Inf" cells count as missing: ranked last
			}
			e.Metrics[key] = v
		}
		if subm >= 0 && strings.TrimSpace(row[subm]) != "" {
			ts, err := time.Parse(time.RFC3339, strings.TrimSpace(row[subm]))
			if err != nil {
				return nil, fmt.Errorf("%w: row %d submitted_at: %w", ErrInvalid, ri+2, err)
			}
			e.SubmittedAt = ts
		}
		if basecol >= 0 {
			b := strings.ToLower(strings.TrimSpace(row[basecol]))
			e.Baseline = b == "1" || b == "true"
		} else {
			e.Baseline = strings.Contains(strings.ToLower(e.ID), "baseline")
		}
		out[ri] = e
	}
	return out, nil
}

// NotCompeting is the unranked reason of a row the input marks as not
// competing: "ranked" 0 without a gate reason, though the rules would rank
// it (a previous winner listed for reference, say).
const NotCompeting = "not competing: listed for reference (ranked 0 in the input)"

// notCompeting reports whether row i is marked as not competing: its
// "ranked" cell is 0 and its "unranked_reason" cell (if the column exists) is
// empty. Baselines are never ranked anyway and keep their own reason.
func (t *Results) notCompeting(i int, e Entry) bool {
	rc, uc := t.Col("ranked"), t.Col("unranked_reason")
	if rc < 0 || e.Baseline || strings.TrimSpace(t.Rows[i][rc]) != "0" {
		return false
	}
	return uc < 0 || strings.TrimSpace(t.Rows[i][uc]) == ""
}

// rankCompeting is Rank over the rows that compete. A row marked as not
// competing that the gates would rank is left out of the field (it would
// shift everyone's rank sums) and listed unranked with NotCompeting; one
// the gates refuse keeps the gate's reason. Unranked rows come after the
// ranked ones, in input order; Index is the row's index in t.
func rankCompeting(t *Results, r Rules, baseline map[string]float64, entries []Entry) ([]Ranked, error) {
	first, err := Rank(r, baseline, entries)
	if err != nil {
		return nil, err
	}
	out := make([]Ranked, 0, len(entries))
	var keep []int // indices of t.Rows in the field
	var unranked []Ranked
	for _, rk := range first {
		switch {
		case rk.Rank > 0 && t.notCompeting(rk.Index, rk.Entry):
			rk.Rank, rk.Unranked, rk.MetricRanks = 0, NotCompeting, nil
			for ti := range rk.Tracks {
				rk.Tracks[ti].Rank, rk.Tracks[ti].Value = 0, math.NaN()
			}
			unranked = append(unranked, rk)
		case rk.Rank == 0:
			unranked = append(unranked, rk)
		default:
			keep = append(keep, rk.Index)
		}
	}
	if !hasNotCompeting(unranked) {
		return first, nil // nothing left out: the field is everyone
	}
	slices.Sort(keep)
	field := make([]Entry, len(keep))
	for k, i := range keep {
		field[k] = entries[i]
	}
	second, err := Rank(r, baseline, field)
	if err != nil {
		return nil, err
	}
	for _, rk := range second {
		rk.Index = keep[rk.Index]
		out = append(out, rk) // all ranked: the gates passed them before
	}
	slices.SortStableFunc(unranked, func(a, b Ranked) int { return a.Index - b.Index })
	return append(out, unranked...), nil
}

func hasNotCompeting(rs []Ranked) bool {
	return slices.ContainsFunc(rs, func(r Ranked) bool { return r.Unranked == NotCompeting })
}

// RankResults ranks the table's rows with rules and returns the table with
// srarena's columns filled in, rows in Rank's order: "ranked" (1/0), the
// per-metric rank columns (time_rank, params_rank, flops_rank, acts_rank,
// mem_rank) for metrics of rank-sum tracks, "<track>_rank" for every track,
// "<track>_sum" for rank-sum tracks, "<track>_score" for exp-score tracks
// (columns are appended when absent), and "unranked_reason". Cells of
// unranked rows are emptied.
func RankResults(t *Results, r Rules, baseline map[string]float64) (*Results, []Ranked, error) {
	entries, err := t.Entries()
	if err != nil {
		return nil, nil, err
	}
	ranked, err := rankCompeting(t, r, baseline, entries)
	if err != nil {
		return nil, nil, err
	}
	out := &Results{Header: append([]string(nil), t.Header...)}
	for _, rk := range ranked {
		out.Rows = append(out.Rows, append([]string(nil), t.Rows[rk.Index]...))
	}
	rankedCol := out.col("ranked")
	metricCols := map[string]int{}
	for _, tr := range r.Tracks {
		if tr.Method == MethodRankSum {
			for _, term := range tr.Terms {
				if name, ok := csvMetricRankColumns[term.Metric]; ok {
					metricCols[term.Metric] = out.col(name)
				}
			}
		}
	}
	type trackCols struct{ rank, value int }
	tcols := make([]trackCols, len(r.Tracks))
	for ti, tr := range r.Tracks {
		tcols[ti] = trackCols{rank: out.col(tr.Name + "_rank"), value: -1}
		switch tr.Method {
		case MethodRankSum:
			tcols[ti].value = out.col(tr.Name + "_sum")
		case MethodExpScore:
			tcols[ti].value = out.col(tr.Name + "_score")
		}
	}
	reasonCol := out.col("unranked_reason")
	for k, rk := range ranked {
		row := out.Rows[k]
		row[reasonCol] = rk.Unranked
		if rk.Rank == 0 {
			row[rankedCol] = "0"
			for _, c := range metricCols {
				row[c] = ""
			}
			for _, c := range tcols {
				row[c.rank] = ""
				if c.value >= 0 {
					row[c.value] = ""
				}
			}
			continue
		}
		row[rankedCol] = "1"
		for m, c := range metricCols {
			row[c] = strconv.Itoa(rk.MetricRanks[m])
		}
		for ti, c := range tcols {
			row[c.rank] = strconv.Itoa(rk.Tracks[ti].Rank)
			if c.value >= 0 {
				row[c.value] = formatTrackValue(r.Tracks[ti].Method, rk.Tracks[ti].Value)
			}
		}
	}
	return out, ranked, nil
}

func formatTrackValue(method string, v float64) string {
	if math.IsNaN(v) {
		return ""
	}
	if method == MethodRankSum && v == math.Trunc(v) {
		return strconv.FormatFloat(v, 'f', 0, 64)
	}
	return strconv.FormatFloat(v, 'f', 4, 64)
}

// WriteCSV writes the table as CSV.
func (t *Results) WriteCSV(w io.Writer) error {
	cw := csv.NewWriter(w)
	if err := cw.Write(t.Header); err != nil {
		return err
	}
	if err := cw.WriteAll(t.Rows); err != nil {
		return fmt.Errorf("write results csv: %w", err)
	}
	return nil
}

// ResultsMetric returns the metric key of a known results CSV column (the
// name CorrelateResults and Entries use), and whether the column is known.
func ResultsMetric(column string) (string, bool) {
	k, ok := csvMetricColumns[column]
	return k, ok
}
