package dataset

import (
	"bytes"
	"testing"

	"github.com/srarena/srarena/scoring"
)

func samePixels(t testing.TB, a, b []byte) bool {
	t.Helper()
	ia, err := scoring.DecodePNG(bytes.NewReader(a))
	if err != nil {
		t.Fatal(err)
	}
	ib, err := scoring.DecodePNG(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	return ia.W == ib.W && ia.H == ib.H && bytes.Equal(ia.Pix, ib.Pix)
}
