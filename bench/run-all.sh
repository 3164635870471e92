#!/usr/bin/env bash
# Side-by-side benchmark: QuackTracks vs ffmpeg loudnorm on the shared corpus, same machine,
# same session. Prints speed (wall time, median of N runs, one core), peak RSS, and loudness /
# true-peak accuracy measured by an independent meter (ffmpeg's ebur128 filter, true peak at
# 192 kHz). Usage: bench/run-all.sh [CORPUS_DIR] [RUNS] [all|speed|memory|accuracy|mp3]
set -euo pipefail
CORPUS=${1:-/tmp/quack-corpus}
RUNS=${2:-5}
PART=${3:-all}
want() { [ "$PART" = all ] || [ "$PART" = "$1" ]; }
here="$(cd "$(dirname "$0")/.." && pwd)"
Q="${QUACK_BIN:-$here/build/release/bin/quacktracks}" # QUACK_BIN: another build's binary
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
[ -x "$Q" ] || { echo "build first: make build" >&2; exit 1; }

# A 3-minute 44.1 kHz stereo 24-bit WAV cut from the corpus's long file.
sox "$CORPUS/long/long.wav" -b 24 "$work/three.wav" trim 0 180

median() { sort -n | awk '{a[NR]=$1} END {print (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}'; }
# time_cmd CMD... -> "seconds maxrss_kb cpu_seconds" (GNU time; cpu = user + system), pinned
# to one core. On a shared machine the CPU time is the steadier figure.
time_cmd() {
  /usr/bin/time -f "%e %M %U %S" -o "$work/t" taskset -c 0 "$@" >/dev/null 2>&1
  awk '{printf "%s %s %.2f\n", $1, $2, $3 + $4}' "$work/t"
}

if want speed; then
echo "== Speed: 3-minute 44.1 kHz stereo WAV -> 24-bit WAV, -14 LUFS, one core, median of $RUNS =="
echo "load before: $(cut -d' ' -f1-3 /proc/loadavg)"
: > "$work/ours"; : > "$work/ffm"; : > "$work/ours_cpu"; : > "$work/ffm_cpu"
for _ in $(seq "$RUNS"); do
  time_cmd "$Q" master "$work/three.wav" -o "$work/ours.wav" --preset streaming --quiet > "$work/r"
  awk '{print $1}' "$work/r" >> "$work/ours"; awk '{print $3}' "$work/r" >> "$work/ours_cpu"
  time_cmd ffmpeg -nostdin -v error -y -threads 1 -i "$work/three.wav" -af loudnorm=I=-14:TP=-1:LRA=20 \
    -ar 44100 -c:a pcm_s24le "$work/ffm.wav" > "$work/r"
  awk '{print $1}' "$work/r" >> "$work/ffm"; awk '{print $3}' "$work/r" >> "$work/ffm_cpu"
done
ours=$(median < "$work/ours"); ffm=$(median < "$work/ffm")
oc=$(median < "$work/ours_cpu"); fc=$(median < "$work/ffm_cpu")
echo "quacktracks master: ${ours} s wall, ${oc} s CPU  ($(awk -v t="$ours" 'BEGIN{printf "%.0f", 180/t}')x real time)"
echo "ffmpeg loudnorm:    ${ffm} s wall, ${fc} s CPU  ($(awk -v t="$ffm" 'BEGIN{printf "%.0f", 180/t}')x real time)"
echo "ratio (loudnorm / quacktracks): $(awk -v a="$ffm" -v b="$ours" 'BEGIN{printf "%.1f", a/b}')x wall, $(awk -v a="$fc" -v b="$oc" 'BEGIN{printf "%.1f", a/b}')x CPU"
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)"
fi

if want memory; then
echo
echo "== Memory: peak RSS by input length =="
long_s=$(soxi -D "$CORPUS/long/long.wav")
r3=$(time_cmd "$Q" master "$work/three.wav" -o "$work/o.wav" --preset streaming --quiet | awk '{print $2}')
rl=$(time_cmd "$Q" master "$CORPUS/long/long.wav" -o "$work/o.wav" --preset streaming --quiet | awk '{print $2}')
fl=$(time_cmd ffmpeg -nostdin -v error -y -threads 1 -i "$CORPUS/long/long.wav" -af loudnorm=I=-14:TP=-1:LRA=20 \
    -ar 44100 -c:a pcm_s24le "$work/o2.wav" | awk '{print $2}')
echo "quacktracks, 180 s: $((r3 / 1024)) MB; $(printf %.0f "$long_s") s: $((rl / 1024)) MB"
echo "ffmpeg loudnorm, $(printf %.0f "$long_s") s: $((fl / 1024)) MB"
fi

# Integrated LUFS (last running value, 3 decimals) and true peak in dBTP (max of the running
# linear true peak, 3 decimals) from ffmpeg's ebur128 metadata.
measure() { ffmpeg -nostdin -v error -i "$1" -af ebur128=peak=true:metadata=1,ametadata=mode=print:file=- \
    -f null - 2>/dev/null | awk -F= '/lavfi.r128.I=/ {i=$2} /lavfi.r128.true_peak=/ {if ($2>tp) tp=$2}
    END {printf "%s %.3f\n", i, 20*log(tp)/log(10)}'; }
if want accuracy; then
echo
echo "== Accuracy on every corpus track (measured by ffmpeg ebur128, true peak at 192 kHz) =="
for target in -14 -9; do
  preset=$([ "$target" = -14 ] && echo streaming || echo loud)
  wq=0; pq=-99; wf=0; pf=-99
  for f in "$CORPUS"/unmastered/*.wav "$CORPUS"/mastered/*.wav; do
    "$Q" master "$f" -o "$work/q.wav" --preset "$preset" --quiet
    ffmpeg -nostdin -v error -y -i "$f" -af loudnorm=I=$target:TP=-1:LRA=20 -ar 44100 -c:a pcm_s24le "$work/f.wav"
    read -r iq tq < <(measure "$work/q.wav"); read -r if_ tf < <(measure "$work/f.wav")
    wq=$(awk -v a="$wq" -v i="$iq" -v t="$target" 'BEGIN{d=i-t; d=d<0?-d:d; print (d>a?d:a)}')
    wf=$(awk -v a="$wf" -v i="$if_" -v t="$target" 'BEGIN{d=i-t; d=d<0?-d:d; print (d>a?d:a)}')
    pq=$(awk -v a="$pq" -v p="$tq" 'BEGIN{print (p>a?p:a)}'); pf=$(awk -v a="$pf" -v p="$tf" 'BEGIN{print (p>a?p:a)}')
  done
  echo "target $target LUFS: quacktracks worst |error| $wq LU, max true peak $pq dBTP;" \
       "loudnorm worst |error| $wf LU, max true peak $pf dBTP"
done
fi

if want mp3; then
echo
echo "== MP3 320k at -14 LUFS / -1 dBTP, decoded (ffmpeg ebur128) =="
pm=-99; wm=0
for f in "$CORPUS"/unmastered/*.wav "$CORPUS"/mastered/*.wav; do
  "$Q" master "$f" -o "$work/q.mp3" --preset streaming --quiet
  read -r im tm < <(measure "$work/q.mp3")
  wm=$(awk -v a="$wm" -v i="$im" 'BEGIN{d=i+14; d=d<0?-d:d; print (d>a?d:a)}')
  pm=$(awk -v a="$pm" -v p="$tm" 'BEGIN{print (p>a?p:a)}')
done
echo "quacktracks mp3: worst |error| $wm LU, max true peak $pm dBTP"
fi
