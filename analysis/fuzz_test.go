package analysis

import (
	"bytes"
	"encoding/xml"
	"io"
	"testing"

	"github.com/srarena/srarena/scoring"
)

// FuzzAnalyze: any table a visitor uploads either is refused or yields a
// report whose charts are well-formed XML; nothing panics.
func FuzzAnalyze(f *testing.F) {
	ref, _ := ReferenceBySlug("ntire2023")
	f.Add(ref.CSV())
	f.Add([]byte("team,ranked,ave_time_ms,params_m\nA,1,NaN,0\nB,1,-1,1e308\nC,1,Inf,-5\nbaseline,0,1,1\n"))
	f.Add([]byte("team,ave_time_ms,conv\nx,0,0\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		tab, err := scoring.ReadResultsCSV(bytes.NewReader(b))
		if err != nil {
			return
		}
		rep, err := Analyze("fuzz", tab)
		if err != nil {
			return
		}
		charts := [][]byte{rep.Summary("s")}
		for _, r := range rep.Results {
			charts = append(charts, r.Chart("c"))
		}
		for _, c := range charts {
			d := xml.NewDecoder(bytes.NewReader(c))
			for {
				_, err := d.Token()
				if err == io.EOF {
					break
				}
				if err != nil {
					t.Fatalf("chart not well-formed: %v", err)
				}
			}
		}
	})
}
