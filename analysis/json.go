package analysis

import (
	"encoding/json"
	"io"

	"github.com/srarena/srarena/scoring"
)

// WriteJSON writes correlations exactly as `srarena correlate --json` prints
// them (and POST /api/v1/analysis returns them): one indented JSON array of
// scoring.Correlation, NaN as null.
func WriteJSON(w io.Writer, cs []scoring.Correlation) error {
	if cs == nil {
		cs = []scoring.Correlation{}
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(cs)
}
