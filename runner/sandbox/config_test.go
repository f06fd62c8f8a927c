package sandbox

import "testing"

func TestChildConfigAddressSpace(t *testing.T) {
	for _, tc := range []struct {
		device string
		race   bool
		want   uint64
	}{
		{DeviceCPU, false, 5 << 30},
		{DeviceCPU, true, 0},
		{DeviceCUDA, false, 0}, // the CUDA driver reserves far more address space
		{DeviceCUDA, true, 0},
	} {
		cfg, err := newConfig(tc.device, "/opt/ort/lib/libonnxruntime.so", 2, 4, 5<<30, false, false, tc.race)
		if err != nil {
			t.Fatal(err)
		}
		if cfg.AS != tc.want {
			t.Errorf("device %s race %v: RLIMIT_AS %d, want %d", tc.device, tc.race, cfg.AS, tc.want)
		}
		if cfg.Runs != 4 || cfg.Device != tc.device {
			t.Errorf("device %s: config %+v", tc.device, cfg)
		}
		if tc.device == DeviceCUDA && cfg.ORTDir != "/opt/ort/lib" {
			t.Errorf("CUDA ORTDir %q", cfg.ORTDir)
		}
	}
}
