package evaluate

import (
	"context"
	"testing"

	"github.com/srarena/srarena/onnxmodel/onnxbuild"
)

func TestSpinDefaults(t *testing.T) {
	base := []byte("baseline")
	for _, c := range []struct {
		name     string
		spin     string
		threads  int
		baseline []byte
		clock    string
		want     string
		wantErr  bool
	}{
		{"alone: ORT's default", "", 2, nil, "", SpinOn, false},
		{"baseline, 2 threads: spinning stops between runs", "", 2, base, "", SpinOn, false},
		{"baseline, wall clock", SpinAuto, 2, base, RatioClockWall, SpinOn, false},
		{"baseline, 1 thread", "", 1, base, "", SpinOn, false},
		{"explicit off with a baseline", SpinOff, 2, base, "", SpinOff, false},
		{"explicit off alone", SpinOff, 2, nil, "", SpinOff, false},
		{"unknown", "sometimes", 2, nil, "", "", true},
	} {
		t.Run(c.name, func(t *testing.T) {
			o, err := Options{Spin: c.spin, Threads: c.threads, Baseline: c.baseline, RatioClock: c.clock, ORTLib: "x"}.withDefaults()
			if (err != nil) != c.wantErr {
				t.Fatalf("err %v, want error %v", err, c.wantErr)
			}
			if err == nil && o.Spin != c.want {
				t.Errorf("spin %q, want %q", o.Spin, c.want)
			}
		})
	}
}

// TestSpinOffReachesORT: the setting goes into the child's configuration,
// the child sets it on its session without failing, and the record says
// so. (ORT takes any config key without complaint and has no getter, so
// its effect is shown by bench/fairness-overhead.sh, not here.)
func TestSpinOffReachesORT(t *testing.T) {
	for _, spin := range []string{SpinOff, SpinOn} {
		opt := testOpts(t)
		opt.Threads, opt.Spin = 2, spin
		o, err := opt.withDefaults()
		if err != nil {
			t.Fatal(err)
		}
		spec, err := o.spec()
		if err != nil {
			t.Fatal(err)
		}
		if spec.Config.NoSpin != (spin == SpinOff) {
			t.Errorf("spin %s: child config no_spin %v", spin, spec.Config.NoSpin)
		}
		model, err := onnxbuild.Nearest(4)
		if err != nil {
			t.Fatal(err)
		}
		rep, err := Evaluate(context.Background(), model, []Pair{{Name: "a", LR: randImage(24, 20, 1), HR: randImage(96, 80, 2)}}, opt)
		if err != nil {
			t.Fatalf("spin %s: %v", spin, err)
		}
		if rep.Environment.Spinning != (spin == SpinOn) || rep.Environment.Threads != 2 {
			t.Errorf("spin %s: environment %+v", spin, rep.Environment)
		}
	}
}
