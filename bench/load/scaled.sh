#!/usr/bin/env bash
# The load benchmark three ways in one session, side by side: the embedded default (SQLite +
# local disk + 2 in-process workers), the scaled-out setup (PostgreSQL + S3 server + 2 worker
# processes), and the scaled-out setup with a worker SIGKILLed every 10 s and restarted.
#   bench/load/scaled.sh [USERS] [CLI]      (needs `make build test-env`)
# Prints one JSON object per run; docs/benchmarks.md records them.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
users=${1:-50}
cli=${2:-build/release/bin/quacktracks}
echo "# $(date -u +%FT%TZ) users=$users load=$(cut -d' ' -f1-3 /proc/loadavg)"
echo "## embedded"
python3 "$here/load.py" --users "$users" --workers 2 --cli "$cli" --setup embedded
echo "## scaled"
python3 "$here/load.py" --users "$users" --workers 2 --cli "$cli" --setup scaled
echo "## scaled, a worker killed every 10 s"
# A 20 s lease: a killed worker's job is retried after 20 s rather than the default 60 s.
python3 "$here/load.py" --users "$users" --workers 2 --cli "$cli" --setup scaled --kill-every 10 --lease-seconds 20
echo "# done $(date -u +%FT%TZ) load=$(cut -d' ' -f1-3 /proc/loadavg)"
