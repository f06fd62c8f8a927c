package handlers

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/go-chi/chi/v5"

	"github.com/srarena/srarena/charts"
	"github.com/srarena/srarena/domain"
	"github.com/srarena/srarena/pagecache"
	"github.com/srarena/srarena/templates"
)

// FastBoard serves a challenge's public pages — the leaderboard as HTML,
// JSON and CSV, and its runtime analysis — rendered and compressed once
// per change of the challenge (pagecache), not once per request. Anonymous
// readers get the cached bytes (with an ETag, and no cookie); signed-in
// users get a page rendered with their navigation from the cached board.
type FastBoard struct {
	*Base
	Domain *domain.Service // ranks boards and decides who sees them
	Cache  *pagecache.Cache
	Store  HistoryStore // for the history chart; nil: no chart
}

// boardData is a computed board with everything the pages derive from it.
type boardData struct {
	c     domain.ChallengeInfo
	b     domain.Board
	table boardTable
	until time.Time // the next phase boundary, when the board may change by itself

	history, historyCaption string // the history chart (SVG) and its caption
}

// data is the board of the request's phase (?phase=, "" for the current
// one) as the request's viewer may see it: from the cache for anonymous
// viewers, computed for signed-in ones (an organizer sees hidden phases).
func (h *FastBoard) data(r *http.Request) (*boardData, error) {
	slug, phase := chi.URLParam(r, "slug"), r.URL.Query().Get("phase")
	compute := func(ctx context.Context, v domain.Viewer) (*boardData, error) {
		c, b, err := h.Domain.Leaderboard(ctx, v, slug, phase)
		if err != nil {
			return nil, err
		}
		now := time.Now()
		d := &boardData{c: c, b: b, table: tableOf(b), until: nextBoundary(c, now)}
		if d.history, d.historyCaption, err = history(ctx, h.Store, c, b, d.table.Base, now); err != nil {
			return nil, err
		}
		// The history chart runs up to today: a new day changes it.
		midnight := time.Date(now.Year(), now.Month(), now.Day()+1, 0, 0, 0, 0, time.UTC)
		if d.until.IsZero() || midnight.Before(d.until) {
			d.until = midnight
		}
		return d, nil
	}
	if !anonymous(r) {
		return compute(r.Context(), viewer(r))
	}
	v, err := h.Cache.Get(r.Context(), "data\x00"+slug+"\x00"+phase, func(ctx context.Context) (pagecache.Value, error) {
		d, err := compute(ctx, domain.Viewer{})
		if err != nil {
			return pagecache.Value{}, err
		}
		return pagecache.Value{ChallengeID: d.c.ID, Until: d.until, Val: d}, nil
	})
	if err != nil {
		return nil, err
	}
	return v.(*boardData), nil
}

// nextBoundary is the first phase opening, closing or reveal after now:
// what a board shows then changes with no change in the database.
func nextBoundary(c domain.ChallengeInfo, now time.Time) time.Time {
	var next time.Time
	for _, p := range c.Phases {
		for _, t := range []*time.Time{p.OpensAt, p.ClosesAt, p.RevealedAt} {
			if t != nil && t.After(now) && (next.IsZero() || t.Before(next)) {
				next = *t
			}
		}
	}
	return next
}

// anonymous reports whether the response may be the shared cached bytes:
// no user, no flash message.
func anonymous(r *http.Request) bool {
	v := VisitorFrom(r.Context())
	return v.User == nil && v.Flash == ""
}

// page serves the cached page key of the request's challenge, building it
// with render from the board.
func (h *FastBoard) page(w http.ResponseWriter, r *http.Request, key string, render func(*boardData) (*pagecache.Page, error)) error {
	if !anonymous(r) { // rendered for this viewer, not shared
		d, err := h.data(r)
		if err != nil {
			return err
		}
		p, err := render(d)
		if err != nil {
			return err
		}
		w.Header().Set("Cache-Control", "private, no-cache")
		p.Serve(w, r)
		return nil
	}
	k := key + "\x00" + chi.URLParam(r, "slug") + "\x00" + r.URL.Query().Get("phase")
	v, err := h.Cache.Get(r.Context(), k, func(ctx context.Context) (pagecache.Value, error) {
		d, err := h.data(r)
		if err != nil {
			return pagecache.Value{}, err
		}
		p, err := render(d)
		return pagecache.Value{ChallengeID: d.c.ID, Until: d.until, Val: p}, err
	})
	if err != nil {
		return err
	}
	v.(*pagecache.Page).Serve(w, r)
	return nil
}

// JSON serves the board as JSON. GET /c/{slug}/leaderboard.json
func (h *FastBoard) JSON(w http.ResponseWriter, r *http.Request) error {
	return h.page(w, r, "json", func(d *boardData) (*pagecache.Page, error) {
		b, err := json.Marshal(d.b)
		if err != nil {
			return nil, fmt.Errorf("json: %w", err)
		}
		return pagecache.NewPage("application/json", append(b, '\n')), nil
	})
}

// CSV serves the board in the results-CSV columns srarena rank reads, with
// every track's ranks filled in. GET /c/{slug}/leaderboard.csv
func (h *FastBoard) CSV(w http.ResponseWriter, r *http.Request) error {
	return h.page(w, r, "csv", func(d *boardData) (*pagecache.Page, error) {
		var buf bytes.Buffer
		if err := d.table.CSV.WriteCSV(&buf); err != nil {
			return nil, err
		}
		return pagecache.NewPage("text/csv; charset=utf-8", buf.Bytes()), nil
	})
}

// Show renders the leaderboard, sorted as ?sort=KEY&dir=asc|desc asks.
// GET /c/{slug}/leaderboard
func (h *FastBoard) Show(w http.ResponseWriter, r *http.Request) error {
	key, desc := sortParams(r.URL.Query())
	page := h.Page(r, "")
	return h.page(w, r, "html\x00"+key+"\x00"+strconv.FormatBool(desc), func(d *boardData) (*pagecache.Page, error) {
		page.Title = "Leaderboard · " + d.c.Title
		var buf bytes.Buffer
		if err := templates.BoardPage(page, boardView(d, key, desc)).Render(context.Background(), &buf); err != nil {
			return nil, fmt.Errorf("render: %w", err)
		}
		return pagecache.NewPage("text/html; charset=utf-8", buf.Bytes()), nil
	})
}

// sortParams reads ?sort and ?dir; unknown keys fall back to the rank, so
// the cache holds a bounded set of orders.
func sortParams(q url.Values) (string, bool) {
	key := q.Get("sort")
	if !slices.ContainsFunc(boardSortKeys, func(k string) bool { return k == key }) && !strings.HasPrefix(key, "track") {
		key = "rank"
	}
	if t, ok := strings.CutPrefix(key, "track"); ok {
		if n, err := strconv.Atoi(t); err != nil || n < 0 || n > 16 {
			key = "rank"
		}
	}
	return key, q.Get("dir") == "desc"
}

var boardSortKeys = []string{"rank", "name", "psnr", "psnr_val", "psnr_test", "ssim", "runtime", "params", "flops_kair", "flops_fvcore", "acts", "mem", "conv", "submitted"}

// column is one metric column of the page: its heading and how a row's cell
// and sort value are made.
type column struct {
	key, label, title string
	higherBetter      bool // the first click sorts descending
	cell              func(domain.LeaderRow, []string) templates.BoardCell
}

func ptrCell(v *float64, text func(float64) string) templates.BoardCell {
	if v == nil || math.IsNaN(*v) {
		return templates.BoardCell{}
	}
	return templates.BoardCell{Text: text(*v), Sort: num(*v)}
}

func boardColumnsFor(t boardTable) []column {
	cols := []column{
		{key: "psnr", label: "PSNR (dB)", higherBetter: true, cell: func(r domain.LeaderRow, _ []string) templates.BoardCell {
			return templates.BoardCell{Text: fmtFloat(r.PSNR, 2), Sort: num(r.PSNR)}
		}},
		{key: "ssim", label: "SSIM", higherBetter: true, cell: func(r domain.LeaderRow, _ []string) templates.BoardCell {
			return ptrCell(r.SSIM, func(v float64) string { return fmtFloat(v, 4) })
		}},
		{key: "runtime", label: "Runtime (ms)*", title: "Runtime ms (mean of per-image medians); ± the spread across repeats",
			cell: func(r domain.LeaderRow, _ []string) templates.BoardCell {
				c := templates.BoardCell{Text: fmtFloat(r.RuntimeMS, 2), Sort: num(r.RuntimeMS)}
				if r.RuntimeStdMS != nil {
					c.Text += " ± " + fmtFloat(*r.RuntimeStdMS, 2)
				}
				c.Title = fmt.Sprintf("%d timed runs per image after %d warm-up", r.Repeats, r.Warmup)
				if r.RuntimeMinMS != nil && r.RuntimeMaxMS != nil {
					c.Title += "; min–max " + fmtFloat(*r.RuntimeMinMS, 2) + "–" + fmtFloat(*r.RuntimeMaxMS, 2) + " ms"
				}
				return c
			}},
		{key: "params", label: "Params", cell: func(r domain.LeaderRow, _ []string) templates.BoardCell { return ptrCell(r.Params, fmtCount) }},
		{key: "flops_kair", label: "FLOPs (KAIR)", title: "FLOPs counted as the KAIR hooks count them (AIM 2020 – NTIRE 2023)",
			cell: func(r domain.LeaderRow, _ []string) templates.BoardCell { return ptrCell(r.FLOPsKAIR, fmtCount) }},
		{key: "flops_fvcore", label: "FLOPs (fvcore)", title: "FLOPs counted as fvcore counts them (NTIRE 2024 on)",
			cell: func(r domain.LeaderRow, _ []string) templates.BoardCell { return ptrCell(r.FLOPsFvcore, fmtCount) }},
		{key: "acts", label: "Activations", cell: func(r domain.LeaderRow, _ []string) templates.BoardCell { return ptrCell(r.Activations, fmtCount) }},
		{key: "mem", label: "Memory (MB)", cell: func(r domain.LeaderRow, _ []string) templates.BoardCell {
			return ptrCell(r.MemoryMB, func(v float64) string { return fmtFloat(v, 1) })
		}},
		{key: "conv", label: "Conv layers", cell: func(r domain.LeaderRow, _ []string) templates.BoardCell {
			return ptrCell(r.ConvLayers, func(v float64) string { return fmtFloat(v, 0) })
		}},
	}
	for i, tr := range t.Tracks {
		i, tr := i, tr
		cols = append(cols, column{key: "track" + strconv.Itoa(i), label: tr.Name + " rank", title: "rank in track " + tr.Name,
			cell: func(_ domain.LeaderRow, row []string) templates.BoardCell {
				return templates.BoardCell{Text: row[tr.RankCol], Sort: row[tr.RankCol]}
			}})
		if tr.ValueCol >= 0 {
			cols = append(cols, column{key: "track" + strconv.Itoa(i) + "v", label: tr.Name + " " + tr.ValueName,
				cell: func(_ domain.LeaderRow, row []string) templates.BoardCell {
					return templates.BoardCell{Text: row[tr.ValueCol], Sort: row[tr.ValueCol]}
				}})
		}
	}
	cols = append(cols, column{key: "submitted", label: "Submitted", cell: func(r domain.LeaderRow, _ []string) templates.BoardCell {
		return templates.BoardCell{Text: fmtTime(&r.SubmittedAt), Sort: r.SubmittedAt.UTC().Format("20060102150405")}
	}})
	return cols
}

// boardView lays the board out sorted by key: baselines, then the ranked
// entries, then the unranked ones with their reasons; sorting reorders rows
// within each group only.
func boardView(d *boardData, key string, desc bool) templates.Board {
	c, b, t := d.c, d.b, d.table
	v := templates.Board{Slug: c.Slug, Title: c.Title, Rule: strings.Join(describeRules(c.Rules), " "),
		Gates: gatesSentence(b), RuntimeNote: boardRuntimeNote(b.Rows), Device: deviceSentence(b),
		Ties:  "Entries with equal values share a rank unless the rules break the tie (their tie-break order is part of the rule set).",
		Phase: b.Phase, Hidden: b.Hidden, EntryRule: entryRuleSentence(b.EntryRule)}
	for _, p := range c.Phases {
		v.Phases = append(v.Phases, templates.PhaseLink{Name: p.Name, Title: cmpOr(p.Title, p.Name), Current: p.Name == b.Phase})
	}
	if b.RuntimeNote != "" {
		v.Rule = b.RuntimeNote + " " + v.Rule
	}
	if b.Note != "" {
		v.Rule = b.Note + " " + v.Rule
	}
	cols := boardColumnsFor(t)
	if bothSplits(b) {
		cols = splitPSNRColumns(cols)
		v.RuntimeNote += splitRuntimeNote
	}
	base := "/c/" + c.Slug + "/leaderboard"
	head := func(k, label, title string, higherBetter bool, isNum bool) templates.BoardColumn {
		bc := templates.BoardColumn{Key: k, Label: label, Title: title, Num: isNum}
		nextDesc := higherBetter
		if k == key {
			bc.Sort = "ascending"
			if desc {
				bc.Sort = "descending"
			}
			nextDesc = !desc
		}
		q := url.Values{"sort": {k}}
		if b.Phase != "" {
			q.Set("phase", b.Phase)
		}
		if nextDesc {
			q.Set("dir", "desc")
		}
		bc.Href = base + "?" + q.Encode()
		if title == "" {
			bc.Title = "sort by " + label
		}
		return bc
	}
	v.Columns = append(v.Columns, head("rank", "Rank", "", false, true), head("name", "Team / user", "", false, false))
	for _, col := range cols {
		v.Columns = append(v.Columns, head(col.key, col.label, col.title, col.higherBetter, true))
	}
	var groups [3][]templates.BoardRow
	var synthetic int
	for i, r := range t.Lines {
		row := templates.BoardRow{Name: r.Name, Entry: r.Entry, Baseline: r.Baseline, Synthetic: r.Synthetic, Note: r.Unranked, Override: r.Override}
		if r.Rank > 0 {
			row.Rank = strconv.Itoa(r.Rank)
		}
		if r.Baseline {
			row.Note = ""
		}
		if r.CompareID > 0 {
			row.Compare = fmt.Sprintf("/c/%s/submissions/%d/compare", c.Slug, r.CompareID)
		}
		if r.Synthetic {
			synthetic++
		}
		for _, col := range cols {
			row.Cells = append(row.Cells, col.cell(r, t.CSV.Rows[i]))
		}
		g := 2
		switch {
		case r.Baseline:
			g = 0
		case r.Rank > 0:
			g = 1
		}
		groups[g] = append(groups[g], row)
	}
	ci := slices.IndexFunc(v.Columns, func(c templates.BoardColumn) bool { return c.Key == key })
	for g := range groups {
		if key != "rank" || desc {
			sortRows(groups[g], ci, desc)
		}
	}
	names := [3][2]string{{"Baseline", "the reference model, not ranked"}, {"", ""},
		{"Not ranked", "each with the reason; they stay below the ranked entries"}}
	for g, rows := range groups {
		if len(rows) > 0 {
			v.Groups = append(v.Groups, templates.BoardGroup{Name: names[g][0], Caption: names[g][1], Rows: rows})
		}
	}
	if synthetic > 0 {
		v.Synthetic = fmt.Sprintf("%d of these %d results are synthetic: made up by srarena seed for demos and load tests, never measured.", synthetic, len(t.Lines))
	}
	v.Pareto, v.ParetoCaption = paretoChart(b)
	v.History, v.HistoryCaption = d.history, d.historyCaption
	return v
}

// sortRows sorts by column ci (the sort values: numbers when both parse,
// else text); empty values last either way.
func sortRows(rows []templates.BoardRow, ci int, desc bool) {
	val := func(r templates.BoardRow) string {
		switch ci {
		case 0:
			return r.Rank
		case 1:
			return r.Name
		}
		if ci-2 < len(r.Cells) && ci >= 2 {
			return r.Cells[ci-2].Sort
		}
		return ""
	}
	slices.SortStableFunc(rows, func(a, b templates.BoardRow) int {
		va, vb := val(a), val(b)
		if va == "" || vb == "" {
			return boolInt(va == "") - boolInt(vb == "")
		}
		var c int
		fa, ea := strconv.ParseFloat(va, 64)
		fb, eb := strconv.ParseFloat(vb, 64)
		if ea == nil && eb == nil {
			c = cmpNum(fa, fb)
		} else {
			c = strings.Compare(strings.ToLower(va), strings.ToLower(vb))
		}
		if desc {
			return -c
		}
		return c
	})
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

// paretoChart is runtime against PSNR for the ranked entries and the
// baselines, with the Pareto front.
func paretoChart(b domain.Board) (string, string) {
	var pts []charts.Point
	for _, r := range b.Rows {
		if r.Rank > 0 || r.Baseline {
			pts = append(pts, charts.Point{X: r.RuntimeMS, Y: r.PSNR, Label: r.Name, Highlight: r.Baseline})
		}
	}
	front := charts.ParetoFront(pts)
	s := charts.Scatter{ID: "pareto", Title: "Runtime against PSNR", XLabel: "runtime (ms)", YLabel: "PSNR (dB)",
		LogX: true, Points: pts, Front: true, HighlightLabel: "baseline",
		Desc: fmt.Sprintf("Scatter of runtime (log scale) against PSNR for the %d ranked entries and baselines; "+
			"the green staircase is the Pareto front, the %d entries no other entry beats in both speed and quality.", len(pts), len(front))}
	caption := fmt.Sprintf("Each point is a ranked entry (hover for its name); %d entries lie on the Pareto front: none is both faster and better than them.", len(front))
	return string(s.SVG()), caption
}

func cmpNum(a, b float64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}
