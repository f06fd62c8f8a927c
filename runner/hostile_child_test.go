package runner

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"io"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/srarena/srarena/onnxmodel/onnxbuild"
)

// fakeChild is a compromised child (no ORT): it speaks the protocol but
// lies, to check the parent's own defences.
func fakeChild(mode string) int {
	in := bufio.NewReader(os.Stdin)
	out := bufio.NewWriter(os.Stdout)
	magic := make([]byte, len(protoMagic))
	io.ReadFull(in, magic)
	raw, _ := readBlob(in, maxConfigBytes)
	var cfg childConfig
	json.Unmarshal(raw, &cfg)
	n, _ := getU64(in)
	io.CopyN(io.Discard, in, int64(n))
	j, _ := json.Marshal(readyInfo{ORTVersion: "fake"})
	out.WriteByte(frameReady)
	writeBlob(out, j)
	out.Flush()
	h, _ := getU32(in)
	w, _ := getU32(in)
	io.CopyN(io.Discard, in, int64(12*h*w))
	switch mode {
	case "forge": // claims 10 s for a run that took none
		for r := 0; r < cfg.Runs; r++ {
			out.WriteByte(frameTiming)
			putU64(out, uint64(10*time.Second))
		}
	case "huge": // claims a 2^40-element output
		out.WriteByte(frameTiming)
		putU64(out, 1000)
		out.WriteByte(frameOutput)
		putU32(out, 4)
		for _, d := range []uint64{1, 3, 1 << 20, 1 << 20} {
			putU64(out, d)
		}
		putU64(out, 0)
	case "garbage":
		out.WriteString("Zhello")
	case "hang":
		time.Sleep(time.Hour)
	}
	out.Flush()
	time.Sleep(200 * time.Millisecond)
	return 0
}

func TestHostileChild(t *testing.T) {
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	model, _ := onnxbuild.Nearest(4)
	pair := []Pair{{Name: "img", LR: randImage(8, 8, 1), HR: randImage(32, 32, 2)}}
	for _, tc := range []struct{ mode, kind, msg string }{
		{"forge", "crashed", "impossible timings on image img"},
		{"huge", "bad_output", "output is 1×3×1048576×1048576 for a 8×8 input"},
		{"garbage", "crashed", "malformed response"},
		{"hang", "timeout", "timed out after 1s on image img"},
	} {
		t.Run(tc.mode, func(t *testing.T) {
			opt := Options{ORTLib: ortLib(t), ChildCommand: []string{exe, "__fake-child-" + tc.mode}, Warmup: -1, Repeats: 1,
				ImageTimeout: time.Second}
			start := time.Now()
			_, err := Evaluate(context.Background(), model, pair, opt)
			var me *ModelError
			if !errors.As(err, &me) || me.Kind != tc.kind || !strings.Contains(me.Msg, tc.msg) {
				t.Fatalf("err = %v, want %s containing %q", err, tc.kind, tc.msg)
			}
			if el := time.Since(start); el > 5*time.Second {
				t.Errorf("took %v", el)
			}
		})
	}
}
