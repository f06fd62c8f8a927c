package analysis

import (
	"bytes"
	"embed"
	"fmt"

	"github.com/srarena/srarena/scoring"
)

//go:embed reference/*.csv
var referenceFiles embed.FS

// Reference is a published results table shipped with srarena, with where
// it comes from.
type Reference struct {
	Slug   string // URL name: /analysis/{slug}
	Title  string
	Source string // the citation, in words
	Notes  string // what the transcription changed or could not know
	file   string
}

// References are the shipped tables. Add one only from a source that can be
// cited.
var References = []Reference{{
	Slug:  "ntire2023",
	Title: "NTIRE 2023 Efficient Super-Resolution Challenge",
	Source: "The official NTIRE 2023 ESR results table (runtime, PSNR, #Params, FLOPs, #Activations, GPU memory, #Conv per team), " +
		"published as the image examples/ranking.png in the participant repository HeaseoChung/LMRLFN (commit ddb20816) and transcribed " +
		"row by row into srarena's design notes (protocol.md §5.3, data/ntire2023_esr_results.csv). Challenge code: ofsoundof/NTIRE2023_ESR.",
	Notes: "Runtime is the published average of the validation and test runtimes (ms, the organizers' GPU); FLOPs are counted with the KAIR hooks; " +
		"memory is GPU memory as printed. The statistics use the 32 ranked teams; the RFDN baseline is drawn highlighted and the three " +
		"teams below the PSNR gate are left out.",
	file: "reference/ntire2023_esr_results.csv",
}}

// ReferenceBySlug returns the shipped table named slug.
func ReferenceBySlug(slug string) (Reference, bool) {
	for _, r := range References {
		if r.Slug == slug {
			return r, true
		}
	}
	return Reference{}, false
}

// CSV is the table's bytes, as shipped.
func (r Reference) CSV() []byte {
	b, err := referenceFiles.ReadFile(r.file)
	if err != nil {
		panic(fmt.Sprintf("analysis: reference %s not embedded: %v", r.file, err)) // a build defect
	}
	return b
}

// Analyze analyses the table.
func (r Reference) Analyze() (*Report, error) {
	t, err := scoring.ReadResultsCSV(bytes.NewReader(r.CSV()))
	if err != nil {
		return nil, fmt.Errorf("reference %s: %w", r.Slug, err)
	}
	return Analyze(r.Title, t)
}
