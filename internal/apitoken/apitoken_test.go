package apitoken

import (
	"bytes"
	"testing"
)

func TestNew(t *testing.T) {
	a, ha, err := New()
	if err != nil {
		t.Fatal(err)
	}
	b, _, _ := New()
	if a == b || !WellFormed(a) || !bytes.Equal(ha, Hash(a)) || len(ha) != 32 {
		t.Fatalf("tokens %q %q", a, b)
	}
	for _, bad := range []string{"", "sra_", a[:len(a)-1], "xyz" + a[3:], a + "A", "sra_" + string(make([]byte, 43))} {
		if WellFormed(bad) {
			t.Errorf("%q accepted", bad)
		}
	}
}
