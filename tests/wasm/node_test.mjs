// The WebAssembly engine in Node against the native CLI, on the same files and settings:
//   node tests/wasm/node_test.mjs <quacktracks> <build/wasm> <fixtures dir> [corpus dir, else $QUACK_CORPUS]
// For every WAV/FLAC fixture and corpus track and every preset: integrated loudness within
// 0.05 LU of native (the tolerance; both engines measure with the same BS.1770 code, so
// only float rounding differs: measured differences are ~1e-6 LU), true peak at or under the
// ceiling, the same report fields; for every bad fixture, the same error code. Byte identity is
// checked where it holds (the WAV header); the audio bytes differ (see engine/wasm/README.md).
// Exit 0 all passed, 1 a failure, 77 skipped (no WASM build).
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, mkdtempSync, rmSync, readFileSync, openSync, readSync, closeSync } from 'node:fs';
import { join, basename } from 'node:path';
import { tmpdir } from 'node:os';

const [cli, wasmDir, fixtures, corpusArg] = process.argv.slice(2);
const corpus = corpusArg ?? process.env.QUACK_CORPUS;
if (!existsSync(join(wasmDir, 'quack_engine.wasm'))) {
  console.log('SKIP: no WASM build in', wasmDir, '(make wasm)');
  process.exit(77);
}
const { loadQuackEngine, QuackError } = await import(new URL('../../engine/wasm/js/quack-node.mjs', import.meta.url));
const engine = await loadQuackEngine({ buildDir: wasmDir });
const work = mkdtempSync(join(tmpdir(), 'quack-wasm-test-'));
let failures = 0, checks = 0;
const fail = (msg) => { failures++; console.log('FAIL', msg); };
const check = (ok, msg) => { checks++; if (!ok) fail(msg); };

const native = (args) => {
  try {
    return { ok: true, json: JSON.parse(execFileSync(cli, [...args, '--json', '-q'], { encoding: 'utf8', maxBuffer: 1 << 26, stdio: ['ignore', 'pipe', 'pipe'] })) };
  } catch (e) {
    return { ok: false, status: e.status, stdout: e.stdout, stderr: String(e.stderr) };
  }
};
const wasm = (fn) => {
  try { return { ok: true, json: fn() }; } catch (e) {
    if (e instanceof QuackError) return { ok: false, code: e.code, exitCode: e.exitCode, message: e.message };
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

// 1. Bad input: the same stable code as native, for every bad fixture.
// Native's code from its message, "quacktracks: error [corrupt_file]: ..." (exit statuses are
// shared by several codes).
const nativeCodeOf = (n) => (n.ok ? 'ok' : /error \[([a-z_]+)\]/.exec(n.stderr ?? '')?.[1] ?? `exit ${n.status}`);
for (const f of readdirSync(fixtures).filter((f) => f.startsWith('bad_')).sort()) {
  const path = join(fixtures, f);
  const n = native(['master', path, '-o', join(work, 'n.wav')]);
  const w = wasm(() => engine.master(path, join(work, 'w.wav')));
  // MP3/Ogg/AIFF are decoded natively only: there the WASM engine's refusal is unsupported_format
  // before any decoding, which is the routing signal for the service.
  const nativeOnly = /\.(mp3|ogg|opus|aiff|m4a)$/.test(f);
  const nativeCode = nativeCodeOf(n);
  const wasmCode = w.ok ? 'ok' : w.code;
  if (nativeOnly && wasmCode === 'unsupported_format') { checks++; continue; }
  check(nativeCode === wasmCode, `${f}: native ${nativeCode}, wasm ${wasmCode} (${w.message ?? ''})`);
  console.log(`bad input ${f}: native ${nativeCode} wasm ${wasmCode}`);
}
// Settings errors have codes too.
{
  const tone = join(fixtures, 'tone_48k_stereo_s24.wav');
  for (const [settings, code] of [[{ preset: 'nope' }, 'invalid_argument'], [{ format: 'mp3' }, 'unsupported_output_format'],
    [{ target_lufs: 'loud' }, 'invalid_argument'], [{ colour: 'red' }, 'invalid_argument']]) {
    const w = wasm(() => engine.master(tone, join(work, 'w.wav'), settings));
    check(!w.ok && w.code === code, `settings ${JSON.stringify(settings)}: wasm ${w.ok ? 'ok' : w.code}, want ${code}`);
  }
}

// 2. Masters: fixtures (WAV/FLAC) and the corpus, every preset.
const presets = (process.env.QUACK_WASM_PRESETS || 'streaming,loud,podcast,broadcast').split(',');
const inputs = readdirSync(fixtures).filter((f) => f.startsWith('tone_') && /\.(wav|flac)$/.test(f)).map((f) => join(fixtures, f));
if (corpus && existsSync(corpus))
  for (const d of ['unmastered', 'mastered'])
    if (existsSync(join(corpus, d)))
      inputs.push(...readdirSync(join(corpus, d)).filter((f) => /\.(wav|flac)$/.test(f)).sort().map((f) => join(corpus, d, f)));
const header = (p, n) => { const b = Buffer.alloc(n); const fd = openSync(p, 'r'); readSync(fd, b, 0, n, 0); closeSync(fd); return b; };
let worst = 0;
for (const input of inputs) {
  for (const preset of presets) {
    const format = input.endsWith('.flac') ? 'flac24' : 'wav24';
    const ext = format.startsWith('flac') ? 'flac' : 'wav';
    const no = join(work, `n.${ext}`), wo = join(work, `w.${ext}`);
    const n = native(['master', input, '-o', no, '-p', preset, '-f', format]);
    const w = wasm(() => engine.master(input, wo, { preset, format }));
    const what = `${basename(input)} ${preset}`;
    if (!n.ok || !w.ok) { check(n.ok === w.ok, `${what}: native ${nativeCodeOf(n)} wasm ${w.ok ? 'ok' : w.code}`); continue; }
    const nl = n.json.after.integrated_lufs, wl = w.json.after.integrated_lufs;
    const d = Math.abs(nl - wl);
    worst = Math.max(worst, Number.isFinite(d) ? d : 0);
    check(Number.isFinite(nl) === Number.isFinite(wl) && (!Number.isFinite(nl) || d <= 0.05), `${what}: integrated ${wl} vs native ${nl} LUFS`);
    const tp = w.json.after.true_peak_dbtp;
    const ceil = w.json.intent.ceiling_dbtp;
    check(tp <= ceil, `${what}: true peak ${tp} dBTP above the ceiling ${ceil}`);
    sameKeys(w.json, n.json, what);
    if (ext === 'wav') check(header(wo, 44).equals(header(no, 44)), `${what}: WAV header differs from native`);
    console.log(`${what}: wasm ${wl.toFixed(6)} native ${nl.toFixed(6)} LUFS, TP ${tp.toFixed(3)} (ceiling ${ceil})`);
  }
}
engine.close();
rmSync(work, { recursive: true, force: true });
console.log(`${checks} checks, ${failures} failures; worst loudness difference ${worst.toExponential(2)} LU`);
process.exit(failures ? 1 : 0);
