#!/bin/sh
# GPU smoke test, in one go on a machine with an NVIDIA GPU (issue #10 §6):
#
#   bench/gpu-smoke.sh [MODEL] [RUNS]
#
#  1. fetches ONNX Runtime with its CUDA provider libraries (the GPU build of
#     the npm package, or ONNXRUNTIME_LIB pointing at a directory that has
#     libonnxruntime.so.1 and libonnxruntime_providers_{shared,cuda}.so);
#  2. `srarena eval --device cuda` and `--device cpu` on Set5: the PSNRs must
#     agree to 1e-3 dB;
#  3. a worker on eval_gpu finishes a submission (runner/worker's
#     TestGPUWorkerSmoke, against a private PostgreSQL);
#  4. the runtime spread: RUNS cuda evaluations, run-to-run CV;
#  5. the GPU memory peak (ONNX Runtime's CUDA arena, AllocatorGetStats
#     MaxInUse) each cuda evaluation reports: present, and the same in
#     every run.
#
# Needs: Go, gcc, PostgreSQL server binaries, python3, the CUDA 12 runtime,
# cuDNN 9 and cuBLAS under /usr/lib or /usr/lib64 (the sandboxed child has an
# empty environment: LD_LIBRARY_PATH does not reach it), nvidia driver.
set -eu
cd "$(dirname "$0")/.."
FIX=${SRARENA_FIXTURES:-../shared/fixtures}
MODEL=${1:-$FIX/models/trained/rlfn_ntire_x4.onnx}
RUNS=${2:-5}
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT INT TERM
fail() { echo "gpu-smoke: FAIL: $*" >&2; exit 1; }

[ -e /dev/nvidiactl ] || fail "no NVIDIA device nodes (/dev/nvidiactl): not a GPU machine"
if [ -n "${ONNXRUNTIME_LIB:-}" ]; then
	LIB=$ONNXRUNTIME_LIB
else
	LIB=third_party/ort/libonnxruntime.so.1
	[ -f "$(dirname "$LIB")/libonnxruntime_providers_cuda.so" ] || make ort
fi
DIR=$(dirname "$LIB")
for f in libonnxruntime_providers_shared.so libonnxruntime_providers_cuda.so; do
	[ -f "$DIR/$f" ] || fail "$DIR/$f missing: set ONNXRUNTIME_LIB to libonnxruntime.so.1 of a GPU build (onnxruntime-gpu 1.30, CUDA 12)"
done
export ONNXRUNTIME_LIB="$LIB"
# As make build makes it: the child program srarena-sandbox beside srarena,
# with the same build stamp (else srarena re-execs itself, ≈ 40 ms slower).
LD="-X github.com/srarena/srarena/runner/sandbox.BuildStamp=bench-$$"
go build -ldflags "$LD" -o "$TMP/srarena" ./cmd/srarena
go build -ldflags "$LD" -o "$TMP/srarena-sandbox" ./cmd/srarena-sandbox

echo "== 1. PSNR on cuda equals the CPU's ($(basename "$MODEL"), Set5)"
for dev in cpu cuda; do
	"$TMP/srarena" eval "$MODEL" --lr "$FIX/images/Set5/LR_bicubic_X4" --hr "$FIX/images/Set5/HR" \
		--device "$dev" --json >"$TMP/$dev.json" || fail "eval --device $dev"
done
python3 - "$TMP" <<'PY' || fail "PSNR differs between cpu and cuda"
import json, sys
d = sys.argv[1]
c, g = json.load(open(d + "/cpu.json")), json.load(open(d + "/cuda.json"))
print("cpu  PSNR %.4f dB, runtime %.2f ms (%s)" % (c["psnr"], c["runtime_ms"], c["device"]))
print("cuda PSNR %.4f dB, runtime %.2f ms (%s, %s, driver %s)" % (g["psnr"], g["runtime_ms"], g["device"],
      g["environment"].get("gpu", "?"), g["environment"].get("driver", "?")))
print("cuda GPU memory peak %s MiB (ONNX Runtime CUDA arena MaxInUse; host RSS %.0f MiB)" % (
      g.get("gpu_peak_memory_mb", "MISSING"), g["max_rss_mb"]))
bad = [(a["name"], a["psnr"], b["psnr"]) for a, b in zip(c["images"], g["images"]) if abs(a["psnr"] - b["psnr"]) > 1e-3]
bad += [("gpu_peak_memory_mb missing", 0, 0)] if not g.get("gpu_peak_memory_mb") else []
bad += [("mean", c["psnr"], g["psnr"])] if abs(c["psnr"] - g["psnr"]) > 1e-3 else []
for n, a, b in bad:
    print("  %s: cpu %.6f cuda %.6f" % (n, a, b))
sys.exit(1 if bad or g["device"] != "cuda" else 0)
PY

echo "== 2. a worker on eval_gpu finishes a submission"
SRARENA_GPU_SMOKE=1 CI=true go run ./internal/pgtest/pgtestd -- \
	go test -count=1 -run 'TestGPUWorkerSmoke' -v ./runner/worker/ 2>&1 | grep -E '^(--- |ok|FAIL|PASS)|gpu_test' || fail "GPU worker"

echo "== 3. runtime spread on cuda, $RUNS evaluations"
i=0
while [ "$i" -lt "$RUNS" ]; do
	"$TMP/srarena" eval "$MODEL" --lr "$FIX/images/Set5/LR_bicubic_X4" --hr "$FIX/images/Set5/HR" \
		--device cuda --repeats 10 --json >"$TMP/run$i.json" || fail "eval run $i"
	i=$((i + 1))
done
python3 - "$TMP" "$RUNS" <<'PY'
import json, sys, statistics as st
d, n = sys.argv[1], int(sys.argv[2])
runs = [json.load(open("%s/run%d.json" % (d, i))) for i in range(n)]
rt = [r["runtime_ms"] for r in runs]
print("runtimes ms: " + " ".join("%.3f" % v for v in rt))
print("GPU memory peak MiB: " + " ".join("%.1f" % r.get("gpu_peak_memory_mb", float("nan")) for r in runs))
if n > 1:
    print("run-to-run: mean %.3f ms, CV %.2f%%" % (st.mean(rt), 100 * st.stdev(rt) / st.mean(rt)))
PY
echo "gpu-smoke: OK"
