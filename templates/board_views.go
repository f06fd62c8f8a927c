package templates

import "github.com/a-h/templ"

// Board is the full public leaderboard: every metric, every track.
type Board struct {
	Slug, Title    string
	Phase          string      // the phase shown (its URL name)
	Phases         []PhaseLink // tabs, when the challenge has several phases
	Hidden         bool        // the viewer may not see the rows; Rule says why
	EntryRule      string      // which submission a team's row shows, in words
	Rule           string
	Gates          string
	Device         string // the hardware of the runtimes, said once
	RuntimeNote    string
	Ties           string
	Synthetic      string // non-empty: some results are synthetic, said in words
	Columns        []BoardColumn
	Groups         []BoardGroup
	Pareto         string // SVG
	ParetoCaption  string
	History        string // SVG; "" for none
	HistoryCaption string
}

// BoardColumn is a sortable column heading.
type BoardColumn struct {
	Key, Label, Title string
	Href              string // the link that sorts by it (server-side)
	Sort              string // "ascending", "descending" or "" (aria-sort)
	Num               bool
}

// BoardGroup is a block of rows: baselines, ranked entries, unranked ones.
type BoardGroup struct {
	Name    string // e.g. "Not ranked"
	Caption string // a sentence under the group's heading row
	Rows    []BoardRow
}

// BoardRow is one row; Cells follow Columns after the first two (rank, name).
type BoardRow struct {
	Rank      string
	Name      string
	Entry     string // which of the team's submissions the row is
	Baseline  bool
	Synthetic bool
	Note      string
	Cells     []BoardCell
	Compare   string // the crop viewer of the row's submission; "" for none
	// Override: "overridden by organizers: …" when a value was set by hand.
	Override string
}

// BoardCell is one value: the text shown, the sort value, a tooltip.
type BoardCell struct{ Text, Sort, Title string }

// Attrs are the cell's attributes: data-v (the sort value) only where it
// differs from the text, since the script falls back to the text and a
// 1,000-row board should not carry every number twice.
func (c BoardCell) Attrs() templ.Attributes {
	a := templ.Attributes{}
	if c.Sort != c.Text {
		a["data-v"] = c.Sort
	}
	if c.Title != "" {
		a["title"] = c.Title
	}
	return a
}
