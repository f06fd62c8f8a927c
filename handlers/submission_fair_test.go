package handlers

import (
	"strings"
	"testing"

	"github.com/srarena/srarena/domain"
	"github.com/srarena/srarena/store"
)

// TestFairnessFacts: the submission page states the runtime ratio with the
// runner's own spread and clock, the timing protocol, and the machine and
// software of the result; a result without them shows nothing extra.
func TestFairnessFacts(t *testing.T) {
	ratio, cv, base := 0.5712, 0.0123, 9.5
	r := store.Result{RuntimeRatio: &ratio, RuntimeRatioCV: &cv, RatioClock: "cpu", BaselineRuntimeMS: &base, Protocol: "robust",
		Environment: []byte(`{"host":"w1","cpu":"AMD EPYC 7B13 (2 CPUs)","gpu":"NVIDIA H200","driver":"580.1","ort_version":"1.30.0",` +
			`"execution_provider":"CUDAExecutionProvider","threads":2,"nice":-10,"os":"Linux 6.1","arch":"amd64","srarena":"abc123"}`)}
	var got []string
	for _, kv := range fairnessFacts(r) {
		got = append(got, kv.Key+": "+kv.Value)
	}
	all := strings.Join(got, "\n")
	for _, want := range []string{"0.5712× ± 1.23 % (cpu time; baseline 9.50 ms)", "Timing protocol: robust",
		"AMD EPYC 7B13 (2 CPUs); NVIDIA H200, driver 580.1; ONNX Runtime 1.30.0 CUDAExecutionProvider, 2 threads at nice -10; Linux 6.1 amd64; srarena abc123; host w1"} {
		if !strings.Contains(all, want) {
			t.Errorf("missing %q in:\n%s", want, all)
		}
	}
	rt := store.Result{Environment: []byte(`{"cpu":"AMD EPYC (2 CPUs)","ort_version":"1.30.0","execution_provider":"CPUExecutionProvider","threads":2,"nice":-10,"realtime":true}`)}
	if kv := fairnessFacts(rt); len(kv) != 1 || !strings.Contains(kv[0].Value, "CPUExecutionProvider, 2 threads under real-time scheduling (SCHED_FIFO)") {
		t.Errorf("a real-time result shows %v", kv)
	}
	if kv := fairnessFacts(store.Result{}); len(kv) != 0 {
		t.Errorf("an old result shows %v", kv)
	}
}

// TestRuntimeBasisSentence: a ratio board and the official protocol say so
// on the board; a raw, robust board adds nothing.
func TestRuntimeBasisSentence(t *testing.T) {
	one := 1
	b := domain.Board{RuntimeBasis: store.RuntimeRatio, RuntimeBasisNote: "runtime = ratio to baseline × 12.3 ms reference", TimingProtocol: domain.TimingOfficial, Threads: &one}
	got := runtimeBasisSentence(b)
	for _, want := range []string{"Ranked runtime = ratio to baseline × 12.3 ms reference", "official protocol", "Models run with 1 ONNX Runtime thread."} {
		if !strings.Contains(got, want) {
			t.Errorf("%q lacks %q", got, want)
		}
	}
	if got := runtimeBasisSentence(domain.Board{RuntimeBasis: store.RuntimeRaw, TimingProtocol: domain.TimingRobust}); got != "" {
		t.Errorf("raw robust board: %q", got)
	}
}
