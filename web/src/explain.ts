// "What we did and why" in a musician's words: problems first, then what was done, each with
// the number behind it on demand. Built from the report's measurements, warnings and decisions
// (engine/chain/decisions.cpp); every field may be missing or null.
import type { Decision, Job, MasterReport } from './api';
import { isNum, signed } from './dom';

export interface Finding {
  /** Stable id, for tests and styling. */
  id: string;
  kind: 'problem' | 'note' | 'done';
  /** One plain sentence. */
  text: string;
  /** The numbers (and the engine's own reason), shown on demand. */
  detail: string;
}

/** A band of the spectrum in studio words. */
export function bandWord(hz: number): string {
  if (hz < 60) return 'sub-bass';
  if (hz < 250) return 'bass';
  if (hz < 500) return 'low mids (body)';
  if (hz < 2000) return 'mids';
  if (hz < 6000) return 'presence';
  return 'air';
}

function warningCode(w: unknown): string {
  return w && typeof w === 'object' && typeof (w as { code?: unknown }).code === 'string' ? (w as { code: string }).code : '';
}
function warningMessage(w: unknown): string {
  if (typeof w === 'string') return w;
  const m = w && typeof w === 'object' ? (w as { message?: unknown }).message : undefined;
  return typeof m === 'string' ? m : '';
}

function decision(report: MasterReport, name: string): Decision | undefined {
  return (report.decisions ?? []).find((d) => d && d.name === name);
}

const pct = (v: number): string => `${Math.round(v * 100)} %`;

/** Summarise an EQ curve [{hz, gain_db}] as "more X, less Y". */
function eqSentence(points: { hz: number; gain: number }[]): { text: string; detail: string } {
  const byWord = new Map<string, number[]>();
  for (const p of points) byWord.set(bandWord(p.hz), [...(byWord.get(bandWord(p.hz)) ?? []), p.gain]);
  const more: string[] = [];
  const less: string[] = [];
  for (const [word, gains] of byWord) {
    const mean = gains.reduce((a, b) => a + b, 0) / gains.length;
    // 1 dB: about the smallest broad tonal change most listeners notice.
    if (mean >= 1) more.push(`${word} (${signed(mean, 1, true)} dB)`);
    else if (mean <= -1) less.push(`${word} (${signed(mean, 1, true)} dB)`);
  }
  const parts: string[] = [];
  if (more.length) parts.push(`more ${more.join(', ')}`);
  if (less.length) parts.push(`less ${less.join(', ')}`);
  const max = points.reduce((a, p) => (Math.abs(p.gain) > Math.abs(a.gain) ? p : a), points[0] ?? { hz: 0, gain: 0 });
  return {
    text: parts.length
      ? `Tone: ${parts.join('; ')}, to move your mix toward the balance of professionally mastered music.`
      : 'Tone: your balance was already close to professionally mastered music, so the EQ stayed within ±1 dB.',
    detail: `${points.length} bands; the largest change is ${signed(max.gain, 1, true)} dB at ${max.hz >= 1000 ? `${max.hz / 1000} kHz` : `${max.hz} Hz`}.`,
  };
}

export function findings(job: Job, report: MasterReport): Finding[] {
  const out: Finding[] = [];
  const b = report.before ?? {};
  const a = report.after ?? {};
  const warnings = report.warnings ?? [];
  const codes = new Set(warnings.map(warningCode));
  const target = job.settings?.target_lufs ?? report.intent?.target_lufs;
  const ceiling = job.settings?.ceiling_dbtp ?? report.intent?.ceiling_dbtp;
  const mode = decision(report, 'mode');

  // --- Problems in the mix, first ---
  if (mode?.value === 'silent' || codes.has('silent_input') || (!isNum(b.integrated_lufs) && b.integrated_lufs !== undefined)) {
    out.push({
      id: 'silent',
      kind: 'problem',
      text: 'Your file is silent (or nearly): there was nothing to master, so it was left as it was, never turned up into noise.',
      detail: 'Integrated loudness is below the −70 LUFS gate of ITU-R BS.1770, so it is undefined.',
    });
  }
  if (codes.has('clipped_input')) {
    out.push({
      id: 'clipped',
      kind: 'problem',
      text: 'Your mix clips in places. Mastering cannot undo clipping: export the mix with a few dB of headroom if you can.',
      detail: warningMessage(warnings.find((w) => warningCode(w) === 'clipped_input')),
    });
  }
  if (codes.has('already_limited')) {
    out.push({
      id: 'already-limited',
      kind: 'problem',
      text: 'Your mix is already squashed by a limiter, which leaves little room to work. For the best result, send the mix without the limiter on the master bus.',
      detail: `Peak-to-loudness ratio ${signed(b.plr_db)} dB (unlimited mixes usually sit above 8 dB). ${warningMessage(warnings.find((w) => warningCode(w) === 'already_limited'))}`,
    });
  }
  if (codes.has('lossy_input') || report.input?.format?.lossy === true) {
    out.push({
      id: 'lossy',
      kind: 'problem',
      text: 'Your file is a compressed (lossy) format such as MP3 or AAC: its artefacts are mastered too. Use WAV or FLAC when you can.',
      detail: `Input: ${report.input?.format?.encoding ?? report.input?.format?.container ?? 'lossy codec'}.`,
    });
  }
  const corr = b.correlation;
  const lowBand = (b.band_stereo ?? []).find((x) => x && isNum(x.high_hz) && x.high_hz <= 250);
  // Below 0 the channels are more opposed than alike: mono playback cancels part of the mix.
  if (isNum(corr) && corr < 0) {
    out.push({
      id: 'phase',
      kind: 'problem',
      text: 'Phase trouble: your left and right channels partly cancel each other. On a phone, a smart speaker or a club system in mono, parts of the mix get quieter or hollow.',
      detail: `Stereo correlation ${signed(corr, 2)} (+1 is mono, 0 unrelated, −1 cancels completely)${lowBand && isNum(lowBand.correlation) ? `; bass below ${lowBand.high_hz} Hz: ${signed(lowBand.correlation, 2)}` : ''}.`,
    });
  }
  const maxGr = report.limiter?.max_gain_reduction_db;
  if (isNum(maxGr) && maxGr >= 3 && isNum(target)) {
    out.push({
      id: 'target-cost',
      kind: 'problem',
      text: `Reaching ${signed(target)} LUFS cost some punch: the limiter had to pull the loudest hits down by up to ${signed(maxGr, 1)} dB. A quieter target or preset keeps more of your transients.`,
      detail: `Limiter: up to ${signed(maxGr, 1)} dB, on average ${signed(report.limiter?.mean_gain_reduction_db, 1)} dB, active on ${signed(report.limiter?.frames_limited_percent, 1)} % of the track.`,
    });
  }
  for (const w of warnings) {
    const c = warningCode(w);
    if (['clipped_input', 'already_limited', 'lossy_input', 'silent_input', 'dc_offset'].includes(c)) continue;
    const m = warningMessage(w);
    if (m) out.push({ id: `warning-${c || 'other'}`, kind: 'problem', text: m.charAt(0).toUpperCase() + m.slice(1) + (m.endsWith('.') ? '' : '.'), detail: c ? `Code: ${c}` : '' });
  }

  // --- What was done ---
  const gain = isNum(a.integrated_lufs) && isNum(b.integrated_lufs) ? a.integrated_lufs - b.integrated_lufs : null;
  if (mode?.value !== 'silent' && isNum(gain) && isNum(a.integrated_lufs)) {
    const how = mode?.value === 'gain_only' ? 'with a plain level change (your mix already sits close to the target)' : '';
    out.push({
      id: 'loudness',
      kind: 'done',
      text: `Loudness: ${gain >= 0 ? 'turned up' : 'turned down'} by ${signed(Math.abs(gain))} dB to ${signed(a.integrated_lufs)} LUFS${isNum(target) ? `, the ${signed(target)} LUFS target` : ''}${how ? ` ${how}` : ''}.`,
      detail: `Before ${signed(b.integrated_lufs)} LUFS, after ${signed(a.integrated_lufs)} LUFS (integrated, ITU-R BS.1770). ${mode?.reason ?? ''}`.trim(),
    });
  }
  const eq = decision(report, 'eq.curve');
  if (eq && Array.isArray(eq.value)) {
    const points = (eq.value as { hz?: unknown; gain_db?: unknown }[])
      .filter((p) => isNum(p?.hz) && isNum(p?.gain_db))
      .map((p) => ({ hz: p.hz as number, gain: p.gain_db as number }));
    if (points.length) {
      const s = eqSentence(points);
      out.push({ id: 'eq', kind: 'done', text: s.text, detail: `${s.detail} ${eq.reason}` });
    }
  }
  const mbActive = decision(report, 'multiband.active');
  const bands = (report.multiband?.bands ?? []).filter((x) => x);
  if (mbActive?.value === true || report.multiband?.active === true) {
    const worked = bands.filter((x) => isNum(x.max_gain_reduction_db) && x.max_gain_reduction_db > 0.1 && isNum(x.ratio) && x.ratio > 1);
    const name = (x: (typeof bands)[number]): string => (isNum(x.high_hz) && x.high_hz <= 250 ? 'lows' : !isNum(x.high_hz) ? 'highs' : 'mids');
    out.push({
      id: 'multiband',
      kind: 'done',
      text: worked.length
        ? `Dynamics: gently evened out the ${worked.map(name).join(', ')} so the mix sits tighter.`
        : 'Dynamics: a multiband compressor was ready but your mix never crossed its thresholds.',
      detail: bands
        .map((x) => `${name(x)} ${isNum(x.low_hz) ? x.low_hz : 0}–${isNum(x.high_hz) ? x.high_hz : '∞'} Hz: ratio ${signed(x.ratio, 1)}:1, up to ${signed(x.max_gain_reduction_db, 1)} dB`)
        .join('; '),
    });
  } else if (mbActive) {
    out.push({
      id: 'multiband',
      kind: 'done',
      text: 'Dynamics: left alone. Your mix’s punch already fits the target, so no compression was added.',
      detail: mbActive.reason,
    });
  }
  const lowWidth = decision(report, 'stereo.low_width');
  const highWidth = decision(report, 'stereo.high_width');
  if (lowWidth && isNum(lowWidth.value) && lowWidth.value < 0.99) {
    out.push({
      id: 'bass-mono',
      kind: 'done',
      text: `Stereo: the bass was made more central (${pct(lowWidth.value)} of its width) so it stays solid in mono and on club systems.`,
      detail: lowWidth.reason,
    });
  }
  if (highWidth && isNum(highWidth.value) && Math.abs(highWidth.value - 1) > 0.01) {
    out.push({
      id: 'width',
      kind: 'done',
      text:
        highWidth.value < 1
          ? `Stereo: the highs were narrowed slightly (${pct(highWidth.value)} of their width) so the mix holds together in mono.`
          : `Stereo: the highs were widened a little (${pct(highWidth.value)}).`,
      detail: highWidth.reason,
    });
  }
  const sub = decision(report, 'subsonic.cutoff_hz');
  if (sub && isNum(sub.value)) {
    out.push({ id: 'rumble', kind: 'done', text: `Cleanup: removed inaudible rumble below ${Math.round(sub.value)} Hz${codes.has('dc_offset') ? ' and a DC offset' : ''}, which would only waste headroom.`, detail: sub.reason });
  }
  if (isNum(ceiling)) {
    const lim = report.limiter;
    const limDetail = lim && isNum(lim.max_gain_reduction_db)
      ? `Limiter: up to ${signed(lim.max_gain_reduction_db, 1)} dB of gain reduction, active on ${signed(lim.frames_limited_percent, 1)} % of the track; release ${signed(decision(report, 'limiter.release_ms')?.value as number, 0)} ms. True peak after: ${signed(a.true_peak_dbtp)} dBTP.`
      : `True peak after: ${signed(a.true_peak_dbtp)} dBTP.`;
    out.push({
      id: 'peaks',
      kind: 'done',
      text: `Peaks: a limiter keeps every peak at or below ${signed(ceiling)} dBTP, so nothing distorts when streaming services convert the file.`,
      detail: limDetail,
    });
  }
  return out;
}
