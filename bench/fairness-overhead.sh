#!/bin/sh
# Fairness and overhead of the runner, measured side by side in one run.
#
#   bench/fairness-overhead.sh [MODEL] [BASELINE] [EVALS]
#
# Overhead (issue #10 §5): `srarena eval` on the three DIV2K test LR images
# (510×339 → 2040×1356; stand-in HR made by bench/mkhr), 3 timed runs per
# image, no warm-up, twice; prints (eval wall − Σ timed inference) / Σ timed
# inference as eval's JSON reports it ("overhead").
#
# OVERHEAD_RUNS="1" runs the overhead measurement once (default twice).
#
# Fairness (§4): EVALS evaluations of MODEL with --baseline BASELINE on Set5
# while a CPU hog comes and goes (busy 1–3 s, idle up to 0.9 s: a noisy
# neighbour); prints each evaluation's runtime and runtime ratio, and the
# coefficient of variation of both across the evaluations. With a baseline
# the model's and the baseline's runs alternate one by one.
set -eu
cd "$(dirname "$0")/.."
FIX=${SRARENA_FIXTURES:-../shared/fixtures}
MODEL=${1:-$FIX/models/trained/rlfn_ntire_x4.onnx}
BASE=${2:-$FIX/models/trained/rfdn_aim2020_x4.onnx}
EVALS=${3:-5}
TMP=$(mktemp -d)
HOG=
cleanup() {
	[ -n "$HOG" ] && kill "$HOG" 2>/dev/null || true
	rm -rf "$TMP"
}
trap cleanup EXIT INT TERM
go build -o "$TMP/srarena" ./cmd/srarena
go run ./bench/mkhr "$FIX/images/DIV2K_test/LR_bicubic_X4" "$TMP/div2k_hr"

echo "== overhead: $(basename "$MODEL"), DIV2K test x3 (510x339 -> 2040x1356), 0 warm-up + 3 timed runs"
for i in ${OVERHEAD_RUNS:-1 2}; do
	"$TMP/srarena" eval "$MODEL" --lr "$FIX/images/DIV2K_test/LR_bicubic_X4" --hr "$TMP/div2k_hr" \
		--warmup 0 --repeats 3 --json >"$TMP/over$i.json"
	python3 -c '
import json, sys
r = json.load(open(sys.argv[1]))
print("eval wall %8.0f ms  timed inference %8.0f ms  overhead %5.2f%%  (startup %.0f ms)" % (
    r["eval_wall_ms"], r["inference_ms"], 100 * r["overhead"], r["startup_ms"]))' "$TMP/over$i.json"
done

echo "== fairness: $(basename "$MODEL") vs baseline $(basename "$BASE"), Set5, $EVALS evaluations under an intermittent CPU hog"
sh -c 'while :; do timeout "$(( $(od -An -N1 -tu1 /dev/urandom) % 3 + 1 ))" sh -c "while :; do :; done"; sleep 0.$(( $(od -An -N1 -tu1 /dev/urandom) % 10 )); done' &
HOG=$!
i=0
while [ "$i" -lt "$EVALS" ]; do
	"$TMP/srarena" eval "$MODEL" --baseline "$BASE" --lr "$FIX/images/Set5/LR_bicubic_X4" --hr "$FIX/images/Set5/HR" \
		--repeats 5 --json >"$TMP/fair$i.json"
	i=$((i + 1))
done
kill "$HOG" 2>/dev/null || true
HOG=
python3 - "$TMP" "$EVALS" <<'PY'
import json, sys, statistics as st
d, n = sys.argv[1], int(sys.argv[2])
rt, ra = [], []
for i in range(n):
    r = json.load(open("%s/fair%d.json" % (d, i)))
    rt.append(r["runtime_ms"]); ra.append(r["runtime_ratio"])
    print("eval %d: runtime %8.2f ms  baseline %8.2f ms  ratio %.4f (std over images %.4f)  overhead %5.2f%%" % (
        i + 1, r["runtime_ms"], r["baseline_runtime_ms"], r["runtime_ratio"], r["runtime_ratio_std"], 100 * r["overhead"]))
cv = lambda v: 100 * st.stdev(v) / st.mean(v)
print("CV over %d evaluations: raw runtime %.2f%%, runtime ratio %.2f%% (raw/ratio %.1fx)" % (n, cv(rt), cv(ra), cv(rt) / max(cv(ra), 1e-9)))
PY
