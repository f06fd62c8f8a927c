package domain_test

import (
	"testing"

	"github.com/srarena/srarena/domain"
)

// FuzzParseChallengeFile: any bytes are either refused with a KindInvalid
// error or decode to a file of the known format and a readable version;
// nothing panics.
func FuzzParseChallengeFile(f *testing.F) {
	for _, s := range []string{
		`{"format":"srarena-challenge","version":1,"slug":"x","template":"","settings":{"title":"t","rules":{}},"phases":[],"datasets":[]}`,
		`{"format":"srarena-challenge","version":2}`, `{"format":"x"}`, `{}`, `[]`, `{"format":"srarena-challenge","version":1} {}`,
		`{"format":"srarena-challenge","version":1,"extra":1}`, "",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		cf, err := domain.ParseChallengeFile(b)
		if err != nil {
			if domain.Status(err) != 422 {
				t.Fatalf("refusal %v is not a 422", err)
			}
			return
		}
		if cf.Format != domain.ChallengeFileFormat || cf.Version < 1 || cf.Version > domain.ChallengeFileVersion {
			t.Fatalf("accepted %q as %+v", b, cf)
		}
	})
}
