#!/usr/bin/env bash
# Renders the landing page's before/after example with our own engine: a short synthetic
# groove (sox: plucked chords, a sine kick, noise hats; deliberately quiet and dull, like an
# unmastered mix) mastered with the streaming preset. The outputs are committed under
# web/public/example/, so `npm run build` needs neither the corpus nor the CLI.
#   usage: web/scripts/make-example.sh QUACK_CLI
set -euo pipefail
cli=${1:?usage: make-example.sh QUACK_CLI}
out=$(cd "$(dirname "$0")/.." && pwd)/public/example
tmp=$(mktemp -d /tmp/quack-example.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
mkdir -p "$out"
r=44100
# Four chords, 2 s each.
i=0
for chord in "C3 E3 G3 B3" "A2 C3 E3 G3" "F2 A2 C3 E3" "G2 B2 D3 F3"; do
  set -- $chord
  sox -n -r $r -c 1 -b 16 "$tmp/chord$i.wav" synth 2 pluck "$1" pluck "$2" pluck "$3" pluck "$4" gain -n -14
  i=$((i + 1))
done
sox "$tmp"/chord{0,1,2,3}.wav "$tmp/chords.wav"
# Kick: a 55 Hz sine burst every half second; hats: short noise bursts on the off-beats.
sox -n -r $r -c 1 -b 16 "$tmp/kick1.wav" synth 0.18 sine 70-45 fade 0 0.18 0.15 pad 0 0.32 gain -n -6
sox $(for _ in $(seq 16); do echo "$tmp/kick1.wav"; done) "$tmp/kick.wav"
sox -n -r $r -c 1 -b 16 "$tmp/hat1.wav" synth 0.04 whitenoise highpass 7000 fade 0 0.04 0.035 gain -n -20 pad 0.25 0.21
sox $(for _ in $(seq 16); do echo "$tmp/hat1.wav"; done) "$tmp/hats.wav"
# A dull, quiet mix: the highs rolled off, peaks far below full scale; a touch of stereo.
sox -m "$tmp/chords.wav" "$tmp/kick.wav" "$tmp/hats.wav" "$tmp/mono.wav"
sox "$tmp/mono.wav" -c 2 "$tmp/mix.wav" remix 1v0.9 1v1.0 lowpass 6000 gain -n -9 trim 0 8
"$cli" master "$tmp/mix.wav" -o "$tmp/master.wav" --preset streaming --seed 1 --report "$tmp/report.json" -q
# Ogg Vorbis ~q4: small enough for a landing page (loaded only on play), and every browser
# but old Safari plays it.
sox "$tmp/mix.wav" -C 4 "$out/original.ogg"
sox "$tmp/master.wav" -C 4 "$out/master.ogg"
# The report, cut to what the page draws.
node -e '
const r = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"));
const side = (m) => ({ integrated_lufs: m.integrated_lufs, true_peak_dbtp: m.true_peak_dbtp, loudness_range_lu: m.loudness_range_lu, spectrum: m.spectrum });
const keep = { schema: r.schema, before: side(r.before), after: side(r.after), decisions: r.decisions, warnings: r.warnings, limiter: r.limiter, multiband: r.multiband, intent: r.intent };
require("fs").writeFileSync(process.argv[2], JSON.stringify(keep));
' "$tmp/report.json" "$out/report.json"
ls -la "$out"
