#!/bin/sh
# Inference time through srarena against onnxruntime-node (issue #10 §5:
# "within 2 %"), A/B interleaved in one run.
#
#   bench/ortnode/compare.sh [ROUNDS] [MODEL]
#
# Environment: SETS (default "Set5 DIV2K"), THREADS (default nproc),
# PREALLOC=0 drops the node-with-preallocated-output arm, REP_SET5 /
# REP_DIV2K the timed runs per image (default 5 / 3).
#
# Needs onnxruntime-node matching srarena's ONNX Runtime (1.30.0):
#   npm install --prefix .cache/ortnode onnxruntime-node@1.30.0
# For Set5 (5 repeats) and the DIV2K test images (510×339 → 2040×1356,
# 3 repeats), 1 warm-up run per image, each round runs `srarena eval --json`
# and bench/ortnode/bench.js (same input tensors, same threads, same session
# options, same protocol: median of the timed runs per image, mean over
# images) in alternating order, and node once more with a preallocated
# output (as srarena's child runs). Prints each round's runtime_ms and the
# ratios srarena/node, then their median and range.
set -eu
cd "$(dirname "$0")/../.."
FIX=${SRARENA_FIXTURES:-../shared/fixtures}
ROUNDS=${1:-3}
MODEL=${2:-$FIX/models/trained/rlfn_ntire_x4.onnx}
THREADS=${THREADS:-$(nproc)}
# ORTNODE_MODULE: the onnxruntime-node directory, if not under .cache/ortnode.
export ORTNODE_MODULE=${ORTNODE_MODULE:-$PWD/.cache/ortnode/node_modules/onnxruntime-node}
[ -d "$ORTNODE_MODULE" ] || {
	echo "onnxruntime-node missing: npm install --prefix .cache/ortnode onnxruntime-node@1.30.0" >&2
	exit 2
}
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT INT TERM
go build -o "$TMP/srarena" ./cmd/srarena
go run ./bench/mkhr "$FIX/images/DIV2K_test/LR_bicubic_X4" "$TMP/div2k_hr"
for ds in ${SETS:-Set5 DIV2K}; do
	if [ "$ds" = Set5 ]; then
		LR=$FIX/images/Set5/LR_bicubic_X4 HR=$FIX/images/Set5/HR REP=${REP_SET5:-5}
	else
		LR=$FIX/images/DIV2K_test/LR_bicubic_X4 HR=$TMP/div2k_hr REP=${REP_DIV2K:-3}
	fi
	go run ./bench/ortnode/mkraw "$LR" "$TMP/raw-$ds"
	echo "== $ds: $(basename "$MODEL"), $THREADS threads, 1 warm-up + $REP timed runs per image, $ROUNDS rounds, load $(cut -d' ' -f1-3 /proc/loadavg)"
	i=0
	while [ "$i" -lt "$ROUNDS" ]; do
		order="srarena node nodepre"
		[ $((i % 2)) -eq 1 ] && order="nodepre node srarena"
		[ "${PREALLOC:-1}" = 0 ] && order=$(echo "$order" | sed 's/nodepre//')
		for side in $order; do
			case $side in
			srarena) "$TMP/srarena" eval "$MODEL" --lr "$LR" --hr "$HR" --threads "$THREADS" --warmup 1 --repeats "$REP" --json >"$TMP/$ds-$side-$i.json" ;;
			node) node bench/ortnode/bench.js "$MODEL" "$TMP/raw-$ds" --threads "$THREADS" --warmup 1 --repeats "$REP" >"$TMP/$ds-$side-$i.json" ;;
			nodepre) node bench/ortnode/bench.js "$MODEL" "$TMP/raw-$ds" --threads "$THREADS" --warmup 1 --repeats "$REP" --prealloc >"$TMP/$ds-$side-$i.json" ;;
			esac
		done
		i=$((i + 1))
	done
	python3 - "$TMP" "$ds" "$ROUNDS" <<'PY'
import json, sys, statistics as st
d, ds, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
import os
def rt(side, i):
    p = "%s/%s-%s-%d.json" % (d, ds, side, i)
    return json.load(open(p))["runtime_ms"] if os.path.exists(p) else None
r1, r2 = [], []
for i in range(n):
    s, nd, npre = rt("srarena", i), rt("node", i), rt("nodepre", i)
    r1.append(s / nd)
    line = "round %d: srarena %8.2f ms  node %8.2f ms  srarena/node %.3f" % (i, s, nd, s / nd)
    if npre:
        r2.append(s / npre)
        line += "  node+prealloc %8.2f ms  srarena/node+prealloc %.3f" % (npre, s / npre)
    print(line)
for name, v in (("srarena/node", r1), ("srarena/node+prealloc", r2)):
    if v:
        print("%s %s: median %.3f (range %.3f .. %.3f)" % (ds, name, st.median(v), min(v), max(v)))
PY
done
