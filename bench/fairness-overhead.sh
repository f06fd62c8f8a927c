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
# OVERHEAD_RUNS="1" runs the overhead measurement once (default twice),
# OVERHEAD_RUNS=none not at all.
#
# Fairness (§4): EVALS rounds of evaluations of MODEL with --baseline
# BASELINE on Set5 while a CPU hog comes and goes (busy 1–3 s, idle up to
# 0.9 s: a noisy neighbour). Each round runs every configuration in
# FAIR_CONFIGS (default: 2 threads; 2 threads under real-time scheduling,
# --realtime, which needs root; 1 thread), in turn, so
# the configurations share the machine's moods. The model's and the
# baseline's runs alternate one by one in ABBA order (S B, B S, …), and
# each evaluation's JSON carries every paired run's wall and CPU time, so
# the estimators are compared on the very same runs (A/B without a second
# measurement):
#   old       median of single pairs' wall-time ratios per image, plain
#             mean over images (srarena before runner-fair);
#   wall      ABBA blocks, median of log block ratios, baseline-weighted
#             mean over images (runner/evaluate/ratio.go), wall time;
#   cpu       the same on the runs' process CPU time (--ratio-clock cpu,
#             srarena's default on the CPU).
# For each: the CV of the evaluation's ratio over the EVALS evaluations, the
# mean std of per-image ratios, and (new estimators) the spread the runner
# predicted for itself (runtime_ratio_cv); and the raw runtime's CV.
# FAIR_OUT=DIR keeps the evaluations' JSON there; FAIR_REPEATS sets the
# pairs per image (default 8).
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
# As make build makes it: the child program srarena-sandbox beside srarena,
# with the same build stamp (else srarena re-execs itself, ≈ 40 ms slower).
LD="-X github.com/srarena/srarena/runner/sandbox.BuildStamp=bench-$$"
go build -ldflags "$LD" -o "$TMP/srarena" ./cmd/srarena
go build -ldflags "$LD" -o "$TMP/srarena-sandbox" ./cmd/srarena-sandbox
go run ./bench/mkhr "$FIX/images/DIV2K_test/LR_bicubic_X4" "$TMP/div2k_hr"

echo "== overhead: $(basename "$MODEL"), DIV2K test x3 (510x339 -> 2040x1356), 0 warm-up + 3 timed runs"
OVERHEAD_RUNS=${OVERHEAD_RUNS:-1 2}
[ "$OVERHEAD_RUNS" = none ] && OVERHEAD_RUNS=
for i in $OVERHEAD_RUNS; do
	"$TMP/srarena" eval "$MODEL" --lr "$FIX/images/DIV2K_test/LR_bicubic_X4" --hr "$TMP/div2k_hr" \
		--warmup 0 --repeats 3 --json >"$TMP/over$i.json"
	python3 -c '
import json, sys
r = json.load(open(sys.argv[1]))
print("eval wall %8.0f ms  timed inference %8.0f ms  overhead %5.2f%%  (startup %.0f ms)" % (
    r["eval_wall_ms"], r["inference_ms"], 100 * r["overhead"], r["startup_ms"]))' "$TMP/over$i.json"
done

FAIR_CONFIGS=${FAIR_CONFIGS:-"--threads 2;--threads 2 --realtime;--threads 1"}
echo "== fairness: $(basename "$MODEL") vs baseline $(basename "$BASE"), Set5, $EVALS rounds of [$FAIR_CONFIGS] under an intermittent CPU hog"
sh -c 'while :; do timeout "$(( $(od -An -N1 -tu1 /dev/urandom) % 3 + 1 ))" sh -c "while :; do :; done"; sleep 0.$(( $(od -An -N1 -tu1 /dev/urandom) % 10 )); done' &
HOG=$!
i=0
while [ "$i" -lt "$EVALS" ]; do
	c=0
	echo "$FAIR_CONFIGS" | tr ';' '\n' | while read -r cfg; do
		# shellcheck disable=SC2086 # cfg is a list of flags
		"$TMP/srarena" eval "$MODEL" --baseline "$BASE" --lr "$FIX/images/Set5/LR_bicubic_X4" --hr "$FIX/images/Set5/HR" \
			--repeats "${FAIR_REPEATS:-8}" $cfg --json </dev/null >"$TMP/fair_${c}_$i.json"
		echo "$cfg" >"$TMP/cfg_$c"
		c=$((c + 1))
	done
	i=$((i + 1))
done
kill "$HOG" 2>/dev/null || true
HOG=
if [ -n "${FAIR_OUT:-}" ]; then # keep the evaluations' JSON for other estimators
	mkdir -p "$FAIR_OUT" && cp "$TMP"/fair_*.json "$TMP"/cfg_* "$FAIR_OUT"/
fi
python3 - "$TMP" "$EVALS" <<'PY'
import glob, json, math, statistics as st, sys
d, n = sys.argv[1], int(sys.argv[2])

def med(v):
    return st.median(v)

def old(r):  # median of single pair ratios per image, plain mean over images
    rs = [med([m / b for m, b in zip(im["runs_ms"], im["baseline_runs_ms"])]) for im in r["images"]]
    return st.mean(rs), st.stdev(rs), None

def new(r, clock):  # runner/evaluate/ratio.go
    rs, ses, ws = [], [], []
    for im in r["images"]:
        m, b = (im["runs_ms"], im["baseline_runs_ms"]) if clock == "wall" else (im["cpu_runs_ms"], im["baseline_cpu_runs_ms"])
        blocks = []
        for k in range(0, min(len(m), len(b)), 2):
            s, t = m[k], b[k]
            if k + 1 < len(m):
                s, t = s + m[k + 1], t + b[k + 1]
            blocks.append(math.log(s / t))
        c = med(blocks)
        sig = 1.4826 * med([abs(x - c) for x in blocks]) if len(blocks) > 1 else float("nan")
        if sig == 0 and len(blocks) > 1:
            sig = st.stdev(blocks)
        rs.append(math.exp(c)); ses.append(1.2533 * sig / math.sqrt(len(blocks))); ws.append(im["baseline_ms"])
    R = sum(r_ * w for r_, w in zip(rs, ws)) / sum(ws)
    cv = math.sqrt(sum((r_ * s * w / sum(ws)) ** 2 for r_, s, w in zip(rs, ses, ws))) / R
    return R, st.stdev(rs), cv

cv = lambda v: 100 * st.stdev(v) / st.mean(v)
for c in sorted(glob.glob(d + "/cfg_*")):
    k = c.rsplit("_", 1)[1]
    cfg = open(c).read().strip()
    runs = [json.load(open("%s/fair_%s_%d.json" % (d, k, i))) for i in range(n)]
    raw = [r["runtime_ms"] for r in runs]
    print("-- config [%s]: raw runtime %s ms, CV %.2f%%" % (cfg, " ".join("%.1f" % x for x in raw), cv(raw)))
    for name, f in (("old ", old), ("wall", lambda r: new(r, "wall")), ("cpu ", lambda r: new(r, "cpu"))):
        est = [f(r) for r in runs]
        ratios = [e[0] for e in est]
        pred = [e[2] for e in est if e[2] is not None and not math.isnan(e[2])]
        print("   %s ratio %s  CV %6.2f%% (raw/ratio %5.1fx)  per-image ratio std %.4f%s" % (
            name, " ".join("%.4f" % x for x in ratios), cv(ratios), cv(raw) / max(cv(ratios), 1e-9),
            st.mean(e[1] for e in est), "  predicted cv %.2f%%" % (100 * st.median(pred)) if pred else ""))
    rep = [r["runtime_ratio"] for r in runs]
    print("   runner's own runtime_ratio (%s clock): CV %.2f%%, runtime_ratio_cv %s" % (
        runs[0].get("runtime_ratio_clock"), cv(rep), " ".join("%.2f%%" % (100 * (r.get("runtime_ratio_cv") or 0)) for r in runs)))
PY
