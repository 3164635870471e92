#!/usr/bin/env bash
# Browser test of the web UI against the real server. Builds nothing: ctest passes the CLI, and
# `make build` has built web/dist and installed web/node_modules.
#   usage: run-e2e.sh QUACK_CLI SOURCE_DIR [OUTPUT_DIR [PLAYWRIGHT_ARGS...]]
# Exits 77 (ctest SKIP_RETURN_CODE) only when Chromium, web/dist or web/node_modules is missing.
# QUACK_E2E_BASE_URL set: use that already-running server instead of starting one.
set -euo pipefail

cli=${1:?usage: run-e2e.sh QUACK_CLI SOURCE_DIR [OUTPUT_DIR]}
src=$(cd "${2:?usage: run-e2e.sh QUACK_CLI SOURCE_DIR [OUTPUT_DIR]}" && pwd)
out=${3:-${QUACK_TEST_OUTPUT:-$PWD/web-e2e}}
web=$src/web
chromium=${CHROMIUM:-/usr/bin/chromium}

skip() { echo "SKIP web_e2e: $*"; exit 77; }
[[ -x $chromium ]] || skip "no Chromium at $chromium (apt-get install chromium)"
[[ -f $web/dist/index.html ]] || skip "web/dist is not built (make web)"
[[ -x $web/node_modules/.bin/playwright ]] || skip "web/node_modules is missing (make web)"
command -v node >/dev/null || skip "node is not installed"

mkdir -p "$out"
rm -rf "$out/screenshots" "$out/downloads" "$out/playwright"
tmp=$(mktemp -d /tmp/quack-web-e2e.XXXXXX)
server_pid=
cleanup() {
  if [[ -n $server_pid ]]; then
    kill "$server_pid" 2>/dev/null || true
    wait "$server_pid" 2>/dev/null || true
  fi
  rm -rf "$tmp"
}
trap cleanup EXIT

# 6 s of two independent pink-noise channels with a slow swell: a music-like spectrum, some
# loudness range, and quieter than every preset but broadcast, so the engine must raise it.
wav=$tmp/e2e-mix.wav
if command -v sox >/dev/null; then
  sox -n -r 44100 -c 2 -b 16 "$wav" synth 6 pinknoise pinknoise tremolo 0.5 50 gain -n -8
else
  cp "$src/tests/fixtures/tone_48k_stereo_s24.wav" "$wav"
fi

# Digital silence: the engine passes it through; the page must still render (issue 14).
silent=$tmp/e2e-silent.wav
if command -v sox >/dev/null; then
  sox -n -r 44100 -c 2 -b 16 "$silent" trim 0 3
else
  cp "$src/tests/fixtures/tone_48k_stereo_s24.wav" "$silent"
fi

base_url=${QUACK_E2E_BASE_URL:-}
if [[ -z $base_url ]]; then
  [[ -x $cli ]] || { echo "web_e2e: no CLI at $cli" >&2; exit 1; }
  log=$out/server.log
  # Every test signs up a fresh user from 127.0.0.1: lift the per-address registration limit
  # (10 an hour by default) for this throw-away server only.
  QUACK_REGISTRATIONS_PER_HOUR=1000 "$cli" serve --port 0 --data-dir "$tmp/data" --web-root "$web/dist" >"$log" 2>&1 &
  server_pid=$!
  # The server logs the address it bound (port 0: the kernel picks one).
  for _ in $(seq 1 200); do
    port=$(grep -oE '(127\.0\.0\.1|localhost|\[::1\]|0\.0\.0\.0):[0-9]+' "$log" | head -n1 | sed 's/.*://' || true)
    [[ -n $port ]] && break
    kill -0 "$server_pid" 2>/dev/null || { echo "web_e2e: server exited early:" >&2; cat "$log" >&2; exit 1; }
    sleep 0.1
  done
  [[ -n ${port:-} ]] || { echo "web_e2e: server did not report its port:" >&2; cat "$log" >&2; exit 1; }
  base_url=http://127.0.0.1:$port
  healthy=
  for _ in $(seq 1 100); do
    if node -e 'fetch(process.argv[1]).then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))' \
      "$base_url/api/v1/health" 2>/dev/null; then healthy=1; break; fi
    kill -0 "$server_pid" 2>/dev/null || break
    sleep 0.1
  done
  [[ -n $healthy ]] || { echo "web_e2e: server not healthy at $base_url:" >&2; cat "$log" >&2; exit 1; }
fi
echo "web_e2e: server $base_url, output $out"

export QUACK_E2E_BAD_WAV=$src/tests/fixtures/bad_corrupt_header.wav QUACK_E2E_SILENT_WAV=$silent
export QUACK_E2E_BASE_URL=$base_url QUACK_E2E_WAV=$wav QUACK_TEST_OUTPUT=$out CHROMIUM=$chromium
export PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1
cd "$web"
status=0
node_modules/.bin/playwright test --config tests/playwright.config.ts "${@:4}" || status=$?

# Privacy: the server log must not carry the test users' emails or password.
if [[ -n $server_pid ]] && grep -qE 'e2e-(desktop|phone)-[0-9]+@example\.test|correct horse battery staple' "$out/server.log"; then
  echo "web_e2e: FAIL: the server log contains an email address or password" >&2
  status=1
fi
echo "web_e2e: screenshots in $out/screenshots"
exit "$status"
