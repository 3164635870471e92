#!/usr/bin/env bash
# Installs the Debian packages QuackTracks needs to build, test and benchmark. Idempotent:
# installs only what is missing, and runs `apt-get update` only when something is.
set -euo pipefail

PACKAGES=(
  # toolchain
  build-essential cmake ninja-build pkg-config
  # engine libraries (decode/encode, resampling, FFT, JSON)
  libsndfile1-dev libsoxr-dev libfftw3-dev nlohmann-json3-dev
  # MP3 decoding driven directly (quiet mode); libsndfile1-dev pulls it in on Debian 12 anyway
  libmpg123-dev
  # AAC in MP4 (encode and decode) through FFmpeg; metadata tags through TagLib
  libavcodec-dev libavformat-dev libavutil-dev libtag1-dev
  # CLI
  libcli11-dev
  # service: HTTP (Boost.Beast 1.81), SQLite, libsodium (Argon2id, HMAC, random)
  libboost1.81-dev libsqlite3-dev libsodium-dev
  # service on PostgreSQL: libpq for the adapter, the server for the tests' throwaway cluster
  # (tests/env/pg.sh) and the scaled-out setup
  libpq-dev postgresql-15
  # service: S3-compatible object storage over libcurl (OpenSSL for Content-MD5)
  libcurl4-openssl-dev libssl-dev
  # browser tests drive Debian's Chromium (no prebuilt browser downloads)
  chromium
  # tests and benchmarks: GoogleTest, Google Benchmark, libebur128 as the independent meter,
  # ffmpeg (ebur128/loudnorm peers), sox
  libgtest-dev libgmock-dev libbenchmark-dev libebur128-dev ffmpeg sox time util-linux
  # the engine as WebAssembly (make wasm); emcc's JS optimiser needs acorn (NODE_PATH below)
  emscripten node-acorn
)

missing=()
# Node.js + npm build the web app; the machine's own Node.js is used when present (a
# NodeSource nodejs bundles npm and conflicts with Debian's npm package).
if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
  missing+=(nodejs npm)
fi
for p in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi
SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
echo "install-deps: installing ${missing[*]}" >&2
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
