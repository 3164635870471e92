#!/usr/bin/env bash
# Lighthouse (mobile profile: 4x CPU slowdown, 1.6 Mbps, 150 ms RTT, simulated) for the
# landing, upload and result pages of a web build, against the real server on loopback.
#   usage: bench/web/run.sh QUACK_CLI WEB_DIST LABEL [OUT_DIR]
# Prints one line per page: label, page, performance, accessibility, best practices, bytes
# transferred, time to interactive (ms). Needs `npm ci` in bench/web and /usr/bin/chromium.
set -euo pipefail
cli=${1:?usage: run.sh QUACK_CLI WEB_DIST LABEL [OUT_DIR]}
dist=$(cd "${2:?}" && pwd)
label=${3:?}
here=$(cd "$(dirname "$0")" && pwd)
out=${4:-/tmp/quack-lighthouse}/$label
mkdir -p "$out"
tmp=$(mktemp -d /tmp/quack-lh.XXXXXX)
pid=
cleanup() { [[ -n $pid ]] && kill "$pid" 2>/dev/null; wait 2>/dev/null; rm -rf "$tmp"; }
trap cleanup EXIT
sox -n -r 44100 -c 2 -b 16 "$tmp/mix.wav" synth 6 pinknoise pinknoise tremolo 0.5 50 gain -n -8
QUACK_REGISTRATIONS_PER_HOUR=1000 "$cli" serve --port 0 --data-dir "$tmp/data" --web-root "$dist" >"$tmp/log" 2>&1 &
pid=$!
for _ in $(seq 100); do
  port=$(grep -oE '127\.0\.0\.1:[0-9]+' "$tmp/log" | head -n1 | sed 's/.*://' || true)
  [[ -n $port ]] && break
  sleep 0.1
done
base=http://127.0.0.1:$port
sleep 0.5
seed=$(node "$here/seed.mjs" "$base" "$tmp/mix.wav")
cookie=$(node -e 'console.log(JSON.parse(process.argv[1]).cookie)' "$seed")
job=$(node -e 'console.log(JSON.parse(process.argv[1]).job_id)' "$seed")
export CHROME_PATH=${CHROME_PATH:-/usr/bin/chromium}
run() { # page url [cookie]
  local headers=()
  [[ -n ${3:-} ]] && headers=(--extra-headers "{\"Cookie\":\"$3\"}")
  "$here/node_modules/.bin/lighthouse" "$2" --quiet --output=json --output-path="$out/$1.json" \
    --only-categories=performance,accessibility,best-practices \
    --chrome-flags="--headless=new --no-sandbox" "${headers[@]}" >/dev/null 2>&1 || true
  node -e '
    const r = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"));
    const s = (k) => Math.round((r.categories[k]?.score ?? 0) * 100);
    const a = r.audits;
    console.log([process.argv[2], process.argv[3], s("performance"), s("accessibility"), s("best-practices"),
      a["total-byte-weight"]?.numericValue, Math.round(a["interactive"]?.numericValue ?? 0)].join("\t"));
  ' "$out/$1.json" "$label" "$1"
}
run landing "$base/"
run upload "$base/#/new" "$cookie"
run result "$base/#/jobs/$job" "$cookie"
