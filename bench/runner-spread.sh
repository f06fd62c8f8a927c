#!/bin/sh
# Runtime spread of the sandboxed runner on one fixture model.
#
#   bench/runner-spread.sh [MODEL] [RUNS] [REPEATS] [THREADS]
#
# Runs `srarena eval --json` RUNS times (each a fresh sandboxed child) on
# Set5 and prints, per run, the set runtime (mean of per-image medians), the
# runner's own spread (pooled std, mean fastest/slowest repeat) and the
# child's startup; then the run-to-run spread of the set runtime.
set -eu
cd "$(dirname "$0")/.."
FIX=${SRARENA_FIXTURES:-../shared/fixtures}
MODEL=${1:-$FIX/models/trained/rlfn_ntire_x4.onnx}
RUNS=${2:-5}
REPEATS=${3:-10}
THREADS=${4:-0}
BIN=$(mktemp -d)/srarena
# With its child program beside it, as make build makes it.
LD="-X github.com/srarena/srarena/runner/sandbox.BuildStamp=bench-$$"
go build -ldflags "$LD" -o "$BIN" ./cmd/srarena
go build -ldflags "$LD" -o "$(dirname "$BIN")/srarena-sandbox" ./cmd/srarena-sandbox
echo "model $(basename "$MODEL"), Set5, $RUNS runs x (1 warm-up + $REPEATS repeats) per image, threads=$THREADS"
i=0
while [ "$i" -lt "$RUNS" ]; do
	"$BIN" eval "$MODEL" --lr "$FIX/images/Set5/LR_bicubic_X4" --hr "$FIX/images/Set5/HR" \
		--json --repeats "$REPEATS" --threads "$THREADS"
	i=$((i + 1))
done | python3 -c '
import json, sys, statistics as st
dec = json.JSONDecoder(); s = sys.stdin.read(); pos = 0; rt = []
while pos < len(s):
    while pos < len(s) and s[pos].isspace(): pos += 1
    if pos >= len(s): break
    r, pos = dec.raw_decode(s, pos)
    rt.append(r["runtime_ms"])
    print("runtime %8.2f ms  std %6.2f  min %8.2f  max %8.2f  startup %5.0f ms  session %4.0f ms  peak %4.0f MiB  psnr %.4f" % (
        r["runtime_ms"], r["runtime_std_ms"], r["runtime_min_ms"], r["runtime_max_ms"], r["startup_ms"], r["session_ms"], r["peak_memory_mb"], r["psnr"]))
if len(rt) > 1:
    print("run-to-run: mean %.2f ms, std %.2f ms (%.1f%%), min %.2f, max %.2f" % (st.mean(rt), st.stdev(rt), 100*st.stdev(rt)/st.mean(rt), min(rt), max(rt)))
'
rm -rf "$(dirname "$BIN")"
