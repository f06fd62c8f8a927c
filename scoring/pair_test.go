package scoring

import (
	"errors"
	"reflect"
	"testing"
)

func TestPairByName(t *testing.T) {
	tests := []struct {
		name    string
		lr, hr  []string
		want    [][2]string
		wantErr bool
	}{
		{"div2k", []string{"0802x4.png", "0801x4.png"}, []string{"0801.png", "0802.png"},
			[][2]string{{"0801x4.png", "0801.png"}, {"0802x4.png", "0802.png"}}, false},
		{"same names", []string{"baby.png"}, []string{"baby.png"}, [][2]string{{"baby.png", "baby.png"}}, false},
		{"set5 style", []string{"babyx4.png"}, []string{"baby.png"}, [][2]string{{"babyx4.png", "baby.png"}}, false},
		{"exact wins", []string{"ax4.png"}, []string{"ax4.png", "a.png"}, nil, true}, // "a.png" left unpaired
		{"exact stem over suffix", []string{"ax4.png", "a.png"}, []string{"ax4.png", "a.png"},
			[][2]string{{"a.png", "a.png"}, {"ax4.png", "ax4.png"}}, false},
		{"ext differs", []string{"0001x2.PNG"}, []string{"0001.png"}, [][2]string{{"0001x2.PNG", "0001.png"}}, false},
		{"missing hr", []string{"0801x4.png", "0803x4.png"}, []string{"0801.png"}, nil, true},
		{"missing lr", []string{"0801x4.png"}, []string{"0801.png", "0802.png"}, nil, true},
		{"both map to one", []string{"0801x4.png", "0801.png"}, []string{"0801.png"}, nil, true},
		{"x alone is not a suffix", []string{"x4.png"}, []string{".png"}, nil, true},
		{"empty", nil, nil, [][2]string{}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := PairByName(tt.lr, tt.hr)
			if tt.wantErr {
				if !errors.Is(err, ErrUnpaired) {
					t.Fatalf("err = %v, want ErrUnpaired (pairs %v)", err, got)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got %v, want %v", got, tt.want)
			}
		})
	}
}
