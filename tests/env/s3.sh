#!/usr/bin/env bash
# Starts or stops a throwaway S3-protocol server (npm s3rver, tests/env/node_modules) for tests.
#   tests/env/s3.sh start STATE_DIR [BUCKET]   -> prints the endpoint (http://127.0.0.1:PORT)
#   tests/env/s3.sh stop STATE_DIR
# The server listens on a free port chosen by the kernel, stores objects under STATE_DIR/data,
# and creates BUCKET (default quack-test). With QUACK_S3_WATCH_PID set it also exits when that
# process is gone. The credentials s3rver knows are S3RVER / S3RVER; it does not verify SigV4.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
cmd="${1:-}"; state="${2:-}"; bucket="${3:-quack-test}"
if [ -z "$cmd" ] || [ -z "$state" ]; then
  echo "usage: $0 start|stop STATE_DIR [BUCKET]" >&2; exit 2
fi

case "$cmd" in
start)
  if [ ! -d "$here/node_modules/s3rver" ]; then
    echo "s3.sh: $here/node_modules is missing (run: make test-env, i.e. npm ci in tests/env)" >&2
    exit 1
  fi
  command -v node >/dev/null || { echo "s3.sh: node is not installed" >&2; exit 1; }
  mkdir -p "$state/data"
  rm -f "$state/endpoint"
  watch=()
  if [ -n "${QUACK_S3_WATCH_PID:-}" ]; then watch=(--watch-pid "$QUACK_S3_WATCH_PID"); fi
  # setsid: the server outlives this script but not the watched process (or `stop`).
  # --openssl-legacy-provider: s3rver makes ListObjectsV2 continuation tokens with DES, which
  # Node >= 17 (OpenSSL 3) refuses otherwise (every truncated listing would be a 500).
  setsid node --openssl-legacy-provider "$here/s3rver-run.js" --dir "$state/data" --bucket "$bucket" \
    --endpoint-file "$state/endpoint" "${watch[@]}" >"$state/log" 2>&1 < /dev/null &
  echo $! > "$state/pid"
  for _ in $(seq 1 200); do # up to 20 s (node starts in ~0.3 s; ASan CI machines are slower)
    if [ -s "$state/endpoint" ]; then cat "$state/endpoint"; exit 0; fi
    if ! kill -0 "$(cat "$state/pid")" 2>/dev/null; then break; fi
    sleep 0.1
  done
  echo "s3.sh: s3rver did not start:" >&2; cat "$state/log" >&2 || true
  kill "$(cat "$state/pid")" 2>/dev/null || true
  exit 1
  ;;
stop)
  if [ -f "$state/pid" ]; then
    pid="$(cat "$state/pid")"
    kill "$pid" 2>/dev/null || true
    for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$pid" 2>/dev/null || true
  fi
  rm -rf "$state"
  ;;
*)
  echo "usage: $0 start|stop STATE_DIR [BUCKET]" >&2; exit 2
  ;;
esac
