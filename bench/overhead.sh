#!/bin/sh
# Evaluation overhead (issue #10 §5), old against new, A/B interleaved in
# one run.
#
#   bench/overhead.sh [ROUNDS] [MODEL]
#
# A is `srarena` built from the git ref $A_REF (default main), B from this
# working tree. Each round runs `srarena eval MODEL` on the three DIV2K test
# LR images (510×339 → 2040×1356; stand-in HR made by bench/mkhr), 0 warm-up
# + 3 timed runs per image, once with each binary, in the order AB, BA, AB,
# … so that a drifting machine load favours neither. Prints per run the
# overhead (eval wall − Σ timed inference) / Σ timed inference as eval's JSON
# reports it, B's per-phase breakdown (phases_ms), and at the end the median
# and range of the overhead per side, the median and range of the ratio of
# B's to A's wall time and of B's to A's overhead time (wall − inference)
# over the rounds, and whether every image's PSNR, SSIM and PSNR-Y are
# bit-identical between A and B.
#
# EVAL_ARGS adds flags to both sides' srarena eval, e.g.
# EVAL_ARGS="--baseline $FIX/models/trained/rfdn_aim2020_x4.onnx" (two
# children start side by side, and the baseline's runs are inference too).
set -eu
cd "$(dirname "$0")/.."
FIX=${SRARENA_FIXTURES:-../shared/fixtures}
ROUNDS=${1:-3}
MODEL=${2:-$FIX/models/trained/rlfn_ntire_x4.onnx}
A_REF=${A_REF:-main}
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT INT TERM
mkdir "$TMP/a-src"
git archive "$A_REF" | tar -x -C "$TMP/a-src"
# Each side as make build makes it: srarena with its child program
# srarena-sandbox beside it, of the same build stamp (otherwise srarena
# re-execs itself as the child, ≈ 20–30 ms slower to start), when the
# side's tree has one. Each in a directory of its own, as the child is
# found beside the executable.
mkdir "$TMP/a" "$TMP/b"
(cd "$TMP/a-src" && go build -ldflags "-X github.com/srarena/srarena/runner/sandbox.BuildStamp=bench-a-$$" -o "$TMP/a/srarena" ./cmd/srarena &&
	if [ -d cmd/srarena-sandbox ]; then
		go build -ldflags "-X github.com/srarena/srarena/runner/sandbox.BuildStamp=bench-a-$$" -o "$TMP/a/srarena-sandbox" ./cmd/srarena-sandbox
	fi)
LD="-X github.com/srarena/srarena/runner/sandbox.BuildStamp=bench-b-$$"
go build -ldflags "$LD" -o "$TMP/b/srarena" ./cmd/srarena
go build -ldflags "$LD" -o "$TMP/b/srarena-sandbox" ./cmd/srarena-sandbox
go run ./bench/mkhr "$FIX/images/DIV2K_test/LR_bicubic_X4" "$TMP/div2k_hr"
echo "== overhead A ($A_REF $(git rev-parse --short "$A_REF")) vs B (working tree $(git rev-parse --short HEAD)$(git diff --quiet HEAD || echo +changes)), $(basename "$MODEL"), DIV2K test x3, 0 warm-up + 3 timed runs, $ROUNDS rounds, load $(cut -d' ' -f1-3 /proc/loadavg)"
i=0
while [ "$i" -lt "$ROUNDS" ]; do
	order="a b"
	[ $((i % 2)) -eq 1 ] && order="b a"
	for side in $order; do
		# shellcheck disable=SC2086 # EVAL_ARGS is a list of flags
		"$TMP/$side/srarena" eval "$MODEL" --lr "$FIX/images/DIV2K_test/LR_bicubic_X4" --hr "$TMP/div2k_hr" \
			--warmup 0 --repeats 3 ${EVAL_ARGS:-} --json >"$TMP/$side$i.json"
		python3 - "$TMP/$side$i.json" "$side" "$i" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
line = "round %s %s: wall %7.0f ms  inference %7.0f ms  overhead %6.2f%%" % (
    sys.argv[3], sys.argv[2].upper(), r["eval_wall_ms"], r["inference_ms"], 100 * r["overhead"])
ph = r.get("phases_ms")
if ph:
    line += "  [" + " ".join("%s %.0f" % (k, v) for k, v in ph.items()) + "]"
print(line + "  load " + open("/proc/loadavg").read().split()[0])
PY
	done
	i=$((i + 1))
done
python3 - "$TMP" "$ROUNDS" <<'PY'
import json, sys, statistics as st
d, n = sys.argv[1], int(sys.argv[2])
load = lambda s, i: json.load(open("%s/%s%d.json" % (d, s, i)))
A = [load("a", i) for i in range(n)]
B = [load("b", i) for i in range(n)]
def summary(name, v, fmt):
    return "%s median %s (range %s .. %s)" % (name, fmt % st.median(v), fmt % min(v), fmt % max(v))
print(summary("overhead A", [100 * r["overhead"] for r in A], "%.2f%%"))
print(summary("overhead B", [100 * r["overhead"] for r in B], "%.2f%%"))
print(summary("wall B/A  ", [b["eval_wall_ms"] / a["eval_wall_ms"] for a, b in zip(A, B)], "%.3f"))
out = lambda r: r["eval_wall_ms"] - r["inference_ms"]
print(summary("overhead time B/A", [out(b) / out(a) for a, b in zip(A, B)], "%.3f"))
print(summary("overhead time A ms", [out(a) for a in A], "%.0f"))
print(summary("overhead time B ms", [out(b) for b in B], "%.0f"))
same = all((x["psnr"], x["ssim"], x["psnr_y"]) == (y["psnr"], y["ssim"], y["psnr_y"])
           for a, b in zip(A, B) for x, y in zip(a["images"], b["images"]))
print("scores A == B bit for bit on every image and round: %s" % same)
if B[0].get("phases_ms"):
    keys = list(B[0]["phases_ms"])
    print("B phases, median over rounds (ms): " + ", ".join("%s %.0f" % (k, st.median(r["phases_ms"][k] for r in B)) for k in keys))
PY
