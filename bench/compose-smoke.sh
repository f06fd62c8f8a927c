#!/usr/bin/env bash
# Starts docker-compose.yml for real (PostgreSQL, SeaweedFS, migrate, seed,
# two web servers behind Caddy, two CPU workers), signs a participant up,
# uploads a fixture model through the HTML form with curl (the same request
# a browser sends; it does not depend on the `srarena submit` CLI) and waits
# for the evaluation to finish. Exit 0 when the submission finished; the
# stack is removed afterwards unless KEEP=1.
#
#   bench/compose-smoke.sh [MODEL.onnx]   (default: the fixtures' imdn_x4.onnx)
#
# Needs a Docker engine with compose v2, curl and the shared fixtures.
set -euo pipefail
cd "$(dirname "$0")/.."

model=${1:-${SRARENA_FIXTURES:-../shared/fixtures}/models/trained/imdn_x4.onnx}
port=${SRARENA_PORT:-8080}
base=http://127.0.0.1:$port
timeout_s=${TIMEOUT_S:-900}
export SRARENA_PORT=$port SRARENA_BASE_URL=$base

if ! command -v docker >/dev/null || ! docker info >/dev/null 2>&1; then
  echo "compose-smoke: no Docker engine here; nothing was started" >&2
  exit 2
fi
[ -f "$model" ] || { echo "compose-smoke: model $model not found" >&2; exit 2; }

cleanup() {
  if [ "${KEEP:-0}" != 1 ]; then docker compose down -v --remove-orphans >/dev/null 2>&1 || true; fi
}
trap cleanup EXIT

start=$(date +%s)
docker compose up -d --build
echo "compose-smoke: waiting for $base/healthz"
until curl -fsS "$base/healthz" >/dev/null 2>&1; do
  if (( $(date +%s) - start > timeout_s )); then
    docker compose ps; docker compose logs --tail 50; exit 1
  fi
  sleep 2
done

jar=$(mktemp); trap 'rm -f "$jar"; cleanup' EXIT
csrf() { curl -fsS -b "$jar" -c "$jar" "$base$1" | sed -n 's/.*name="csrf_token" value="\([^"]*\)".*/\1/p' | head -1; }

user=smoke$RANDOM
curl -fsS -b "$jar" -c "$jar" -o /dev/null \
  --data-urlencode "csrf_token=$(csrf /signup)" --data-urlencode "email=$user@example.org" \
  --data-urlencode "username=$user" --data-urlencode "password=correct horse battery" "$base/signup"

# The demo challenge exists once `seed` has run; its page carries the form.
until page_csrf=$(csrf /c/demo-x4) && [ -n "$page_csrf" ]; do sleep 2; done
loc=$(curl -sS -b "$jar" -c "$jar" -o /dev/null -w '%{redirect_url}' \
  -F "csrf_token=$page_csrf" -F "label=compose smoke" -F "model=@$model;type=application/octet-stream" \
  "$base/c/demo-x4/submissions")
id=${loc##*/submissions/}
[[ "$id" =~ ^[0-9]+$ ]] || { echo "compose-smoke: upload refused (redirect '$loc')" >&2; exit 1; }
echo "compose-smoke: submission $id queued; waiting for the workers"

while :; do
  status=$(curl -fsS -b "$jar" "$base/submissions/$id/status.json")
  case "$status" in
    *'"status":"finished"'*) echo "compose-smoke: finished in $(( $(date +%s) - start ))s: $status"; break ;;
    *'"status":"failed"'*) echo "compose-smoke: evaluation failed: $status" >&2; docker compose logs --tail 100 worker-cpu; exit 1 ;;
  esac
  if (( $(date +%s) - start > timeout_s )); then echo "compose-smoke: timed out: $status" >&2; exit 1; fi
  sleep 3
done
# The leaderboard is public and served by either replica.
curl -fsS "$base/c/demo-x4/leaderboard.json" | head -c 600; echo
