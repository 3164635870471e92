#!/usr/bin/env bash
# The scaled-out setup on one machine, for trying it: a throwaway PostgreSQL 15 cluster, an
# S3-protocol server (s3rver), the API server with no in-process workers, and N separate
# `quacktracks worker` processes that share nothing but the database and the bucket (each has
# its own scratch directory). Ctrl-C stops everything and removes the throwaway data.
#
#   scripts/run-scaled.sh [WORKERS] [PORT]      (make run-scaled WORKERS=2 PORT=8080)
#
# In production the same processes run against managed PostgreSQL (QUACK_DATABASE_URL) and
# Cloudflare R2 (QUACK_S3_*); see docs/scaling.md.
set -euo pipefail
here="$(cd "$(dirname "$0")/.." && pwd)"
workers=${1:-2}
port=${2:-8080}
bin="$here/build/release/bin/quacktracks"
[ -x "$bin" ] || { echo "run-scaled: build first (make build)" >&2; exit 2; }

state="$(mktemp -d -t quack-scaled-XXXXXX)"
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
  bash "$here/tests/env/s3.sh" stop "$state/s3" >/dev/null 2>&1 || true
  bash "$here/tests/env/pg.sh" stop "$state/pg" >/dev/null 2>&1 || true
  rm -rf "$state"
}
trap cleanup EXIT INT TERM

mkdir -p "$state/pg" "$state/s3"
export QUACK_DATABASE_URL="$(bash "$here/tests/env/pg.sh" start "$state/pg" | tail -n1)"
export QUACK_S3_ENDPOINT="$(bash "$here/tests/env/s3.sh" start "$state/s3" quacktracks | head -n1)"
export QUACK_S3_BUCKET=quacktracks QUACK_S3_REGION=auto QUACK_S3_PATH_STYLE=true
export QUACK_S3_ACCESS_KEY_ID=S3RVER QUACK_S3_SECRET_ACCESS_KEY=S3RVER
export QUACK_ALLOWED_ORIGINS="http://localhost:$port,http://127.0.0.1:$port"
echo "run-scaled: PostgreSQL and s3rver ($QUACK_S3_ENDPOINT) are up; $workers workers" >&2

QUACK_WORKERS=0 "$bin" serve --port "$port" --data-dir "$state/api" --web-root "$here/web/dist" &
pids+=($!)
for i in $(seq 1 "$workers"); do
  "$bin" worker --data-dir "$state/worker-$i" &
  pids+=($!)
done
wait -n "${pids[@]}"
