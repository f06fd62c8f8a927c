package sandbox

import (
	"context"
	"testing"
	"time"

	"github.com/srarena/srarena/onnxmodel/onnxbuild"
)

// TestCloseEndsOrderly: Close on a session nobody called End on tells the
// child that no image follows and the child exits by itself at once; it
// used to wait 5 s and then kill it (End did nothing once Close had marked
// the session closed).
func TestCloseEndsOrderly(t *testing.T) {
	lib := ortLib(t)
	cfg, err := NewConfig(DeviceCPU, lib, 1, 1, 0, false, false)
	if err != nil {
		t.Fatal(err)
	}
	cfg.Scale = 4
	s, err := Start(context.Background(), Spec{ORTLib: lib, Config: cfg, MemoryLimit: 2 << 30, Logf: func(string) {}})
	if err != nil {
		t.Fatal(err)
	}
	model, _ := onnxbuild.Nearest(4)
	if err := s.Load(model); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Infer("img", make([]float32, 3*8*8), 8, 8, 32, 32, make([]uint8, 3*32*32)); err != nil {
		t.Fatal(err)
	}
	t0 := time.Now()
	s.Close()
	if d := time.Since(t0); d > 2*time.Second {
		t.Errorf("Close took %v", d)
	}
	if s.c.waitErr != nil || s.c.killed.Load() != nil {
		t.Errorf("the child did not exit by itself: %v", s.c.waitErr)
	}
}
