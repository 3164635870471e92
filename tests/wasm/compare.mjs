// The WebAssembly engine against the native CLI, on the same files and settings, whatever runs
// the WebAssembly (Node: node_test.mjs; Chromium: browser_test.mjs). A runner is
//   { label, master(inputPath, outputPath, settings) -> report (throws { code, message }),
//     memoryBytes() -> bytes of WebAssembly memory }.
// For every WAV/FLAC fixture and corpus track and every preset: integrated loudness within
// 0.05 LU of native (the tolerance), true peak at or under the ceiling, the same report
// fields, and byte identity where the arithmetic allows it (see engine/wasm/README.md,
// "Identity with native": the container bytes always; the samples are counted, not required);
// for every bad fixture and bad setting, the same error code.
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, mkdtempSync, rmSync, readFileSync } from 'node:fs';
import { join, basename } from 'node:path';
import { tmpdir } from 'node:os';

/// 24-bit little-endian PCM of a FLAC file, decoded by sox.
const pcm24 = (path) => execFileSync('sox', [path, '-t', 'raw', '-e', 'signed-integer', '-b', '24', '-L', '-'], { maxBuffer: 1 << 30 });

/// Samples that differ between two 24-bit little-endian PCM streams, and by how much at most.
export function compareS24(a, b) {
  const total = Math.floor(Math.min(a.length, b.length) / 3);
  let differing = Math.abs(a.length - b.length) / 3, maxLsb = 0;
  for (let i = 0; i < total * 3; i += 3) {
    if (a[i] === b[i] && a[i + 1] === b[i + 1] && a[i + 2] === b[i + 2]) continue;
    differing++;
    const va = (a[i] | (a[i + 1] << 8) | (a[i + 2] << 24 >> 8)), vb = (b[i] | (b[i + 1] << 8) | (b[i + 2] << 24 >> 8));
    maxLsb = Math.max(maxLsb, Math.abs(va - vb));
  }
  return { differing, maxLsb, total };
}

export function inputsFor(fixtures, corpus) {
  const inputs = readdirSync(fixtures).filter((f) => f.startsWith('tone_') && /\.(wav|flac)$/.test(f)).sort().map((f) => join(fixtures, f));
  if (corpus && existsSync(corpus))
    for (const d of ['unmastered', 'mastered'])
      if (existsSync(join(corpus, d)))
        inputs.push(...readdirSync(join(corpus, d)).filter((f) => /\.(wav|flac)$/.test(f)).sort().map((f) => join(corpus, d, f)));
  return inputs;
}

export async function compareWithNative({ cli, fixtures, corpus, runner, presets, log = console.log }) {
  const work = mkdtempSync(join(tmpdir(), 'quack-wasm-test-'));
  let failures = 0, checks = 0;
  const fail = (msg) => { failures++; log(`FAIL [${runner.label}] ${msg}`); };
  const check = (ok, msg) => { checks++; if (!ok) fail(msg); };

  const native = (args) => {
    try {
      return { ok: true, json: JSON.parse(execFileSync(cli, [...args, '--json', '-q'], { encoding: 'utf8', maxBuffer: 1 << 26, stdio: ['ignore', 'pipe', 'pipe'] })) };
    } catch (e) {
      return { ok: false, status: e.status, stderr: String(e.stderr) };
    }
  };
  const wasm = async (fn) => {
    try { return { ok: true, json: await fn() }; } catch (e) {
      if (typeof e?.code === 'string') return { ok: false, code: e.code, message: e.message };
      throw e;
    }
  };
  // Key paths of a report; array elements by their first element's keys. Timings are per run.
  const keys = (o, p = '') => {
    if (Array.isArray(o)) return o.length && typeof o[0] === 'object' ? keys(o[0], p + '[].') : [];
    if (typeof o !== 'object' || o === null) return [];
    // The tags written are the input's (the WASM build has no TagLib: it carries none, and says so).
    return Object.keys(o).filter((k) => k !== 'timing_ms' && !(p === 'output.tags.written.')).flatMap((k) => [p + k, ...keys(o[k], p + k + '.')]);
  };
  const sameKeys = (a, b, what) => {
    const ka = new Set(keys(a)), kb = new Set(keys(b));
    const onlyA = [...ka].filter((k) => !kb.has(k)), onlyB = [...kb].filter((k) => !ka.has(k));
    check(onlyA.length === 0 && onlyB.length === 0, `${what}: report fields differ: wasm-only ${onlyA} native-only ${onlyB}`);
  };
  // Native's code from its message, "quacktracks: error [corrupt_file]: ..." (exit statuses are
  // shared by several codes).
  const nativeCodeOf = (n) => (n.ok ? 'ok' : /error \[([a-z_]+)\]/.exec(n.stderr ?? '')?.[1] ?? `exit ${n.status}`);

  // 1. Bad input: the same stable code as native, for every bad fixture.
  for (const f of readdirSync(fixtures).filter((f) => f.startsWith('bad_')).sort()) {
    const path = join(fixtures, f);
    const n = native(['master', path, '-o', join(work, 'n.wav')]);
    const w = await wasm(() => runner.master(path, join(work, 'w.wav'), {}));
    // MP3/Ogg/AIFF are decoded natively only: there the WASM engine's refusal is
    // unsupported_format before any decoding, which is the routing signal for the service.
    const nativeOnly = /\.(mp3|ogg|opus|aiff|m4a)$/.test(f);
    const nativeCode = nativeCodeOf(n);
    const wasmCode = w.ok ? 'ok' : w.code;
    log(`bad input ${f}: native ${nativeCode} wasm ${wasmCode}`);
    if (nativeOnly && wasmCode === 'unsupported_format') { checks++; continue; }
    check(nativeCode === wasmCode, `${f}: native ${nativeCode}, wasm ${wasmCode} (${w.message ?? ''})`);
  }
  // Settings errors have codes too (the native column is the CLI's code for the same mistake).
  const tone = join(fixtures, 'tone_48k_stereo_s24.wav');
  for (const [settings, code] of [[{ preset: 'nope' }, 'invalid_argument'], [{ format: 'mp3' }, 'unsupported_output_format'],
    [{ target_lufs: 'loud' }, 'invalid_argument'], [{ colour: 'red' }, 'invalid_argument'], [{ ceiling_dbtp: 3 }, 'invalid_argument']]) {
    const w = await wasm(() => runner.master(tone, join(work, 'w.wav'), settings));
    check(!w.ok && w.code === code, `settings ${JSON.stringify(settings)}: wasm ${w.ok ? 'ok' : w.code}, want ${code}`);
  }
  // The MP3/Ogg/AIFF fixtures decode natively and are refused with unsupported_format here.
  for (const f of readdirSync(fixtures).filter((f) => f.startsWith('tone_') && /\.(mp3|ogg|opus|aiff)$/.test(f)).sort()) {
    const w = await wasm(() => runner.master(join(fixtures, f), join(work, 'w.wav'), {}));
    check(!w.ok && w.code === 'unsupported_format', `${f}: wasm ${w.ok ? 'ok' : w.code}, want unsupported_format`);
  }

  // 2. Masters: fixtures (WAV/FLAC) and the corpus, every preset.
  let worst = 0, identical = 0, masters = 0, peakMemory = 0;
  let sameDecisions = 0, samplesTotal = 0, samplesDiffering = 0, worstLsb = 0;
  const rows = [];
  for (const input of inputsFor(fixtures, corpus)) {
    for (const preset of presets) {
      const format = input.endsWith('.flac') ? 'flac24' : 'wav24';
      const ext = format.startsWith('flac') ? 'flac' : 'wav';
      const no = join(work, `n.${ext}`), wo = join(work, `w.${ext}`);
      // A fixed dither seed on both sides, so dither noise cannot be the difference.
      const n = native(['master', input, '-o', no, '-p', preset, '-f', format, '--seed', '1']);
      const w = await wasm(() => runner.master(input, wo, { preset, format, seed: 1 }));
      peakMemory = Math.max(peakMemory, runner.memoryBytes());
      const what = `${basename(input)} ${preset}`;
      if (!n.ok || !w.ok) { check(n.ok === w.ok, `${what}: native ${nativeCodeOf(n)} wasm ${w.ok ? 'ok' : w.code}`); continue; }
      masters++;
      const nl = n.json.after.integrated_lufs, wl = w.json.after.integrated_lufs;
      const d = Math.abs(nl - wl);
      worst = Math.max(worst, Number.isFinite(d) ? d : 0);
      // 0.05 LU: the bound. Both engines run the same BS.1770 code on nearly the same
      // samples; the limiter's loudness loop stops within its own 0.01 LU tolerance, so a
      // difference near 0.05 LU would mean a different decision, not float rounding.
      check(Number.isFinite(nl) === Number.isFinite(wl) && (!Number.isFinite(nl) || d <= 0.05), `${what}: integrated ${wl} vs native ${nl} LUFS`);
      const tp = w.json.after.true_peak_dbtp;
      const ceil = w.json.intent.ceiling_dbtp;
      check(tp <= ceil, `${what}: true peak ${tp} dBTP above the ceiling ${ceil}`);
      sameKeys(w.json, n.json, what);
      const nb = readFileSync(no), wb = readFileSync(wo);
      // The container: for WAV the 44-byte header is a function of format, rate, channels and
      // frame count only, so it must match exactly (a different length is a different frame count).
      if (ext === 'wav') check(nb.subarray(0, 44).equals(wb.subarray(0, 44)), `${what}: WAV header differs from native`);
      const same = nb.equals(wb);
      if (same) identical++;
      // The samples, 24-bit: FLAC files from two different encoders differ in their bytes
      // whatever the samples, so both are decoded (sox) before comparing.
      const ns = ext === 'wav' ? nb.subarray(44) : pcm24(no), ws = ext === 'wav' ? wb.subarray(44) : pcm24(wo);
      const { differing, maxLsb, total } = compareS24(ns, ws);
      const decisionsSame = JSON.stringify(n.json.decisions) === JSON.stringify(w.json.decisions);
      if (decisionsSame) sameDecisions++;
      samplesTotal += total; samplesDiffering += differing; worstLsb = Math.max(worstLsb, maxLsb);
      rows.push({ what, wl, nl, tp, ceil, same, differing, maxLsb, total, decisionsSame });
      log(`${what}: wasm ${wl.toFixed(6)} native ${nl.toFixed(6)} LUFS, TP ${tp.toFixed(3)} (ceiling ${ceil}); ` +
        (same ? 'byte-identical' : `${differing} of ${total} samples differ, by at most ${maxLsb} LSB`) +
        (decisionsSame ? '; same decisions' : '; decisions differ'));
    }
  }
  rmSync(work, { recursive: true, force: true });
  log(`[${runner.label}] ${checks} checks, ${failures} failures; ${masters} masters, ${identical} byte-identical to native; ` +
    `${sameDecisions} with the same decisions; ` +
    `${samplesDiffering} of ${samplesTotal} samples differ, by at most ${worstLsb} LSB (24-bit); ` +
    `worst loudness difference ${worst.toExponential(2)} LU; peak WebAssembly memory ${(peakMemory / 1048576).toFixed(1)} MiB`);
  return { failures, checks, masters, identical, worst, peakMemory, rows, sameDecisions, samplesDiffering, samplesTotal, worstLsb };
}
