package templates

// Analysis is a runtime-correlation analysis page: of a challenge's
// leaderboard, of a reference table, or of an uploaded table.
type Analysis struct {
	Heading   string
	Intro     string
	Source    string // citation of the data, when it is a published table
	Notes     string
	Synthetic string // non-empty: the data are (partly) synthetic, said in words
	Counts    string // how many rows are in the statistics, and why others are not
	Verdict   string
	Summary   string // SVG
	Measures  []AnalysisMeasure
	BackHref  string // a link back (the leaderboard, the form)
	BackText  string
	CSVHref   string // the data as CSV, when downloadable
}

// AnalysisMeasure is one measure's section.
type AnalysisMeasure struct {
	ID, Name                         string
	N                                string
	Pearson, Spearman, Kendall       string
	PearsonCI, SpearmanCI, KendallCI string
	Slope                            string
	Chart                            string // SVG
}

// AnalysisIndex is /analysis: the references and the upload form.
type AnalysisIndex struct {
	References []AnalysisRef
	Error      string
	MaxBytes   string
}

// AnalysisRef links a shipped reference analysis.
type AnalysisRef struct{ Href, Title, Source string }
