#!/usr/bin/env bash
# Provides libonnxruntime.so.1 (>= 1.30) at third_party/ort/libonnxruntime.so.1.
# Order: $ONNXRUNTIME_LIB if set (copied), else the npm package onnxruntime-node
# (npm pack: no install scripts, no node_modules) with a sha256 check, else the
# official GitHub release archive, which must be pinned with ORT_TGZ_SHA256
# (its hash is not known here, and an unverified library is never installed).
# 1.24.x is exploitable by crafted models (shared/design/sandbox.md): do not downgrade.
set -euo pipefail
VERSION=${ORT_VERSION:-1.30.0}
SO_SHA256=${ORT_SO_SHA256:-ffb75a925ba05e47b235bb66e3e3911714a80b328a9c9425539feb204aa32a23}
DEST=${1:-third_party/ort}
OUT="$DEST/libonnxruntime.so.1"

mkdir -p "$DEST"
check() { echo "$SO_SHA256  $1" | sha256sum -c --quiet - >/dev/null 2>&1; }

if [ -f "$OUT" ] && check "$OUT"; then exit 0; fi

if [ -n "${ONNXRUNTIME_LIB:-}" ]; then
  [ -f "$ONNXRUNTIME_LIB" ] || { echo "ONNXRUNTIME_LIB=$ONNXRUNTIME_LIB does not exist" >&2; exit 1; }
  if [ "$(readlink -f "$ONNXRUNTIME_LIB")" != "$(readlink -f "$OUT")" ]; then cp "$ONNXRUNTIME_LIB" "$OUT"; fi
  echo "onnxruntime: using $ONNXRUNTIME_LIB (not checksum-verified: your choice)"
  exit 0
fi

TMP=$(mktemp -d); trap 'rm -rf "$TMP"' EXIT
if command -v npm >/dev/null 2>&1; then
  echo "onnxruntime: fetching onnxruntime-node@$VERSION from npm (about 114 MB) ..."
  if npm pack "onnxruntime-node@$VERSION" --pack-destination "$TMP" --silent >/dev/null 2>&1; then
    tar xzf "$TMP/onnxruntime-node-$VERSION.tgz" -C "$TMP" --strip-components=5 \
      package/bin/napi-v6/linux/x64/libonnxruntime.so.1
    if check "$TMP/libonnxruntime.so.1"; then
      mv "$TMP/libonnxruntime.so.1" "$OUT"; echo "onnxruntime: $OUT (sha256 ok)"; exit 0
    fi
    echo "onnxruntime: sha256 mismatch for the npm copy, refusing it" >&2
  else
    echo "onnxruntime: npm pack failed, trying the release archive" >&2
  fi
fi

URL="https://github.com/microsoft/onnxruntime/releases/download/v$VERSION/onnxruntime-linux-x64-$VERSION.tgz"
if [ -z "${ORT_TGZ_SHA256:-}" ]; then
  echo "onnxruntime: npm did not work; to use the release archive instead, set ORT_TGZ_SHA256 to the" >&2
  echo "sha256 published for $URL, or set ONNXRUNTIME_LIB to a libonnxruntime.so.1 >= 1.30." >&2
  exit 1
fi
echo "onnxruntime: fetching $URL ..."
curl -fsSL "$URL" -o "$TMP/ort.tgz"
echo "$ORT_TGZ_SHA256  $TMP/ort.tgz" | sha256sum -c --quiet -
tar xzf "$TMP/ort.tgz" -C "$TMP"
cp "$TMP/onnxruntime-linux-x64-$VERSION/lib/libonnxruntime.so.$VERSION" "$OUT"
echo "onnxruntime: $OUT from the release archive (sha256 $(sha256sum "$OUT" | cut -c1-16)…)"
