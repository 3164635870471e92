#!/usr/bin/env bash
# WASM against native on the 3-minute song, side by side in one run: wall time and memory of the
# native CLI, the WASM engine in Node (NODEFS) and in Chromium (MEMFS).
#   usage: bench/wasm.sh [CORPUS_DIR]    (needs make build: build/release and build/wasm)
set -euo pipefail
CORPUS=${1:-/tmp/quack-corpus}
here="$(cd "$(dirname "$0")/.." && pwd)"
Q=$here/build/release/bin/quacktracks
work=$(mktemp -d); trap 'rm -rf "$work"' EXIT
sox "$CORPUS/long/long.wav" -b 24 "$work/three.wav" trim 0 180
echo "load before: $(cut -d' ' -f1-3 /proc/loadavg)"
/usr/bin/time -f "native: %e s wall, %M KB peak RSS" "$Q" master "$work/three.wav" -o "$work/n.wav" -p streaming -q 2>&1 | tail -1
cat > "$work/node.mjs" <<JS
const { loadQuackEngine } = await import('$here/engine/wasm/js/quack-node.mjs');
const e = await loadQuackEngine({ buildDir: '$here/build/wasm' });
const t = performance.now();
e.master('$work/three.wav', '$work/w.wav', { preset: 'streaming' });
console.log('wasm in node: master ' + ((performance.now() - t) / 1000).toFixed(2) + ' s, WebAssembly memory ' + e.Module.HEAP8.buffer.byteLength / 1048576 + ' MiB');
e.close();
JS
/usr/bin/time -f "wasm in node (whole process): %e s wall, %M KB peak RSS" node "$work/node.mjs" 2>&1 | tail -2
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)"
