import { api, ApiError, followJob, kTerminalStatuses, type Job, type JobSettings, type MasterReport } from '../api';
import { AbPlayer, decode, drawSpectra, drawWaveform, kMaxPreviewBytes, themeColor, type AbSide } from '../audio';
import { formatBytes, formatDuration, h, isNum, signed, timeEl } from '../dom';
import { messageForCode, plainError } from '../errors';
import { findings } from '../explain';
import { humanize, kStatusHelp, stageName } from '../help';
import { addVersion, loadCatalog, navigate, sessionEnded, state, type View } from '../state';
import { uploadAndCreate } from '../submit';

const orig = (): string => themeColor('--original', '#8a4b00');
const mast = (): string => themeColor('--master', '#0b4f9c');

export function settingsSummary(s: JobSettings | null | undefined): string {
  if (!s) return '–';
  const parts = [
    s.preset ? humanize(s.preset) : 'Custom',
    `${signed(s.target_lufs)} LUFS`,
    `peaks ≤ ${signed(s.ceiling_dbtp)} dBTP`,
  ];
  if (s.style) parts.push(`${humanize(s.style)} tone`);
  if (s.intensity) parts.push(`${s.intensity} intensity`);
  if (s.format) parts.push(s.format.toUpperCase());
  return parts.join(' · ');
}

/** What differs between two versions' settings, in words ("preset streaming → loud"). */
export function settingsDiff(from: JobSettings | null | undefined, to: JobSettings | null | undefined): string {
  const a = from ?? {};
  const b = to ?? {};
  const out: string[] = [];
  const word = (v: unknown): string => (v === null || v === undefined || v === '' ? 'custom' : typeof v === 'number' ? signed(v) : humanize(String(v)));
  const keys: [keyof JobSettings, string][] = [
    ['preset', 'preset'],
    ['target_lufs', 'target (LUFS)'],
    ['ceiling_dbtp', 'ceiling (dBTP)'],
    ['style', 'tone'],
    ['intensity', 'intensity'],
    ['format', 'format'],
  ];
  for (const [k, label] of keys) if (a[k] !== b[k]) out.push(`${label} ${word(a[k])} → ${word(b[k])}`);
  return out.length ? out.join(', ') : 'same settings';
}

function metricsTable(report: MasterReport): HTMLTableElement {
  const b = report.before ?? {};
  const a = report.after ?? {};
  const row = (name: string, key: string, before: number | null | undefined, after: number | null | undefined, unit: string, changeUnit: string, explain: string): HTMLTableRowElement =>
    h(
      'tr',
      {},
      h('th', { scope: 'row' }, h('span', {}, name), h('span', { class: 'hint' }, explain)),
      h('td', { 'data-metric': `before-${key}`, 'data-value': isNum(before) ? before : '' }, `${signed(before)} ${unit}`),
      h('td', { 'data-metric': `after-${key}`, 'data-value': isNum(after) ? after : '' }, `${signed(after)} ${unit}`),
      h('td', { 'data-metric': `change-${key}` }, isNum(after) && isNum(before) ? `${signed(after - before, 1, true)} ${changeUnit}` : '–'),
    );
  return h(
    'table',
    { class: 'metrics' },
    h('caption', {}, 'Before and after'),
    h('thead', {}, h('tr', {}, h('th', { scope: 'col' }, 'Measure'), h('th', { scope: 'col' }, 'Original'), h('th', { scope: 'col' }, 'Master'), h('th', { scope: 'col' }, 'Change'))),
    h(
      'tbody',
      {},
      row('Loudness', 'lufs', b.integrated_lufs, a.integrated_lufs, 'LUFS', 'LU', 'Integrated, over the whole track'),
      row('True peak', 'tp', b.true_peak_dbtp, a.true_peak_dbtp, 'dBTP', 'dB', 'Highest point, between samples too'),
      row('Loudness range', 'lra', b.loudness_range_lu, a.loudness_range_lu, 'LU', 'LU', 'How much loud and quiet parts differ'),
    ),
  );
}

function targetCheck(job: Job, report: MasterReport): HTMLElement {
  const a = report.after ?? {};
  const target = job.settings?.target_lufs;
  const ceiling = job.settings?.ceiling_dbtp;
  const items: HTMLElement[] = [];
  if (isNum(target)) {
    if (!isNum(a.integrated_lufs)) {
      items.push(h('li', { class: 'warn' }, '! ', `Loudness target ${signed(target)} LUFS: not applicable, the file is silent.`));
    } else {
      const offBy = a.integrated_lufs - target;
      // 0.5 LU: the EBU R128 tolerance for "on target" programme loudness.
      const ok = Math.abs(offBy) <= 0.5;
      items.push(h('li', { class: ok ? 'ok' : 'warn' }, ok ? '✓ ' : '! ', `Loudness target ${signed(target)} LUFS: ${ok ? 'met' : `off by ${signed(offBy, 1, true)} LU`}.`));
    }
  }
  if (isNum(ceiling) && isNum(a.true_peak_dbtp)) {
    const ok = a.true_peak_dbtp <= ceiling + 0.05;
    items.push(h('li', { class: ok ? 'ok' : 'warn' }, ok ? '✓ ' : '! ', `Peaks stay at or below ${signed(ceiling)} dBTP: ${ok ? 'yes' : 'no'}.`));
  }
  return h('ul', { class: 'checks' }, items);
}

/** Loudness gain that plays/draws the original at the master's loudness; 0 when undefined. */
function matchGainDb(report: MasterReport | null | undefined): number {
  const b = report?.before?.integrated_lufs;
  const a = report?.after?.integrated_lufs;
  return isNum(a) && isNum(b) ? a - b : 0;
}

function spectrumSection(report: MasterReport): HTMLElement | null {
  const before = report.before?.spectrum;
  const after = report.after?.spectrum;
  if (!before || !after || !Array.isArray(before.center_hz) || !Array.isArray(after.level_dbfs)) return null;
  const match = matchGainDb(report);
  const canvas = h('canvas', {
    class: 'spectrum',
    role: 'img',
    'aria-label': 'Third-octave spectrum of the original at the master’s loudness (dashed) and of the master (solid), in dB by frequency. The same values are in the table below.',
  });
  const table = h(
    'table',
    { class: 'spectrum-table' },
    h('caption', {}, 'Level per third-octave band, dB, original level-matched'),
    h('thead', {}, h('tr', {}, h('th', { scope: 'col' }, 'Band'), h('th', { scope: 'col' }, 'Original'), h('th', { scope: 'col' }, 'Master'), h('th', { scope: 'col' }, 'Change'))),
    h(
      'tbody',
      {},
      before.center_hz.map((hz, i) => {
        const bo = before.level_dbfs[i];
        const af = after.level_dbfs[i];
        const bm = isNum(bo) ? bo + match : null;
        return h(
          'tr',
          {},
          h('th', { scope: 'row' }, hz >= 1000 ? `${hz / 1000} kHz` : `${hz} Hz`),
          h('td', {}, signed(bm)),
          h('td', {}, signed(af)),
          h('td', { 'data-band-change': String(hz) }, isNum(bm) && isNum(af) ? signed(af - bm, 1, true) : '–'),
        );
      }),
    ),
  );
  const section = h(
    'section',
    { class: 'panel', 'aria-labelledby': 'spectrum-title' },
    h('h2', { id: 'spectrum-title' }, 'Tonal balance'),
    h(
      'p',
      { class: 'hint' },
      `Energy per third-octave band, from deep bass (left) to air (right). The original is drawn ${signed(Math.abs(match))} dB ${match >= 0 ? 'higher' : 'lower'}, at the master’s loudness, so the curves differ only where the tone changed.`,
    ),
    h('ul', { class: 'legend' }, h('li', { class: 'legend-original' }, 'Original, level-matched (dashed)'), h('li', { class: 'legend-master' }, 'Master (solid)')),
    canvas,
    h('details', {}, h('summary', {}, 'Show the values as a table'), table),
  );
  section.dataset.matchDb = match.toFixed(2);
  requestAnimationFrame(() =>
    drawSpectra(canvas, [
      { label: 'Original', color: orig(), dash: [6, 4], spectrum: before, offsetDb: match },
      { label: 'Master', color: mast(), dash: [], spectrum: after },
    ]),
  );
  return section;
}

function findingsSection(job: Job, report: MasterReport): HTMLElement | null {
  const list = findings(job, report);
  if (list.length === 0) return null;
  const problems = list.filter((f) => f.kind === 'problem');
  const done = list.filter((f) => f.kind !== 'problem');
  const item = (f: (typeof list)[number]): HTMLElement =>
    h(
      'li',
      { class: `finding finding-${f.kind}`, 'data-finding': f.id },
      h('p', {}, f.text),
      f.detail ? h('details', {}, h('summary', {}, 'The numbers'), h('p', { class: 'hint' }, f.detail)) : null,
    );
  return h(
    'section',
    { class: 'panel', 'aria-labelledby': 'decisions-title' },
    h('h2', { id: 'decisions-title' }, 'What we did and why'),
    problems.length
      ? [h('h3', {}, 'Worth knowing about your mix'), h('ul', { class: 'findings problems' }, problems.map(item))]
      : h('p', { class: 'ok' }, '✓ No problems found in your mix: no clipping, phase trouble or lossy source.'),
    h('h3', {}, 'What we did'),
    h('ul', { class: 'findings' }, done.map(item)),
  );
}

/** A waveform with a playhead and a loop region: click to seek, drag to loop, arrows to move. */
interface WaveLane {
  figure: HTMLElement;
  canvas: HTMLCanvasElement;
  surface: HTMLElement;
  setPlayhead: (fraction: number) => void;
  setLoop: (start: number | null, end: number | null) => void;
}

function waveLane(label: string, side: AbSide): WaveLane {
  const canvas = h('canvas', { class: 'wave', 'aria-hidden': 'true' });
  const playhead = h('div', { class: 'playhead', 'aria-hidden': 'true' });
  const loop = h('div', { class: 'loop-region', hidden: true, 'aria-hidden': 'true' });
  const surface = h(
    'div',
    { class: 'wave-surface', role: 'slider', tabindex: 0, 'aria-label': `Waveform of the ${label.toLowerCase()}: playback position`, 'aria-valuemin': 0, 'aria-valuemax': 0, 'aria-valuenow': 0, 'data-side': side },
    canvas,
    loop,
    playhead,
  );
  const figure = h('figure', { class: `wave-figure wave-${side}` }, h('figcaption', {}, label), surface);
  return {
    figure,
    canvas,
    surface,
    setPlayhead: (f) => {
      playhead.style.left = `${Math.max(0, Math.min(1, f)) * 100}%`;
    },
    setLoop: (a, b) => {
      loop.hidden = a === null || b === null;
      if (a !== null && b !== null) {
        loop.style.left = `${a * 100}%`;
        loop.style.width = `${(b - a) * 100}%`;
      }
    },
  };
}

function limiterLane(report: MasterReport | null | undefined): HTMLElement | null {
  const gr = report?.limiter?.gain_reduction_db;
  const lim = report?.limiter;
  if (!lim) return null;
  if (Array.isArray(gr) && gr.length > 1) {
    const canvas = h('canvas', { class: 'gr-lane', role: 'img', 'aria-label': `Limiter gain reduction over time, up to ${signed(lim.max_gain_reduction_db, 1)} dB` });
    requestAnimationFrame(() => {
      const ratio = window.devicePixelRatio || 1;
      const rect = canvas.getBoundingClientRect();
      canvas.width = Math.max(1, Math.round(rect.width * ratio));
      canvas.height = Math.max(1, Math.round(rect.height * ratio));
      const ctx = canvas.getContext('2d');
      if (!ctx) return;
      const maxDb = Math.max(3, ...gr.filter(isNum).map(Math.abs));
      ctx.fillStyle = themeColor('--warn', '#8a4b00');
      gr.forEach((v, i) => {
        const x = (i / gr.length) * canvas.width;
        const hgt = (Math.abs(isNum(v) ? v : 0) / maxDb) * canvas.height;
        ctx.fillRect(x, 0, Math.max(1, canvas.width / gr.length), hgt);
      });
    });
    return h('figure', { class: 'wave-figure' }, h('figcaption', {}, 'Where the limiter worked (deeper = more)'), canvas);
  }
  return h(
    'p',
    { class: 'hint limiter-summary' },
    `Limiter: active on ${signed(lim.frames_limited_percent, 1)} % of the track, at most ${signed(lim.max_gain_reduction_db, 1)} dB of gain reduction.`,
  );
}

/** Waveforms and the A/B player; both need decoded audio, fetched after the page shows. */
function listenSection(job: Job, report: MasterReport | null | undefined, registerDispose: (f: () => void) => void): HTMLElement {
  const local = state.localFiles.get(job.id) ?? null;
  const status = h('p', { class: 'status', role: 'status', 'aria-live': 'polite' }, 'Loading the audio for preview…');
  const laneOriginal = waveLane('Original', 'original');
  const laneMaster = waveLane('Master', 'master');
  const lanes = [laneOriginal, laneMaster];
  const noLocal = local
    ? null
    : h('p', { class: 'note' }, 'Only the master can be shown here: your original is not on our servers any more (it is deleted as soon as mastering finishes) and this browser tab no longer holds the file you picked. Upload it again to compare.');
  if (!local) laneOriginal.figure.hidden = true;

  const playButton = h('button', { type: 'button', class: 'primary play', disabled: true, 'aria-describedby': 'ab-help', 'aria-keyshortcuts': 'Space' }, 'Play');
  const position = h('span', { class: 'position', 'aria-label': 'Playback position' }, '0:00 / 0:00');
  const sideMaster = h('input', { type: 'radio', name: 'ab-side', id: 'ab-master', value: 'master', checked: true, disabled: true });
  const sideOriginal = h('input', { type: 'radio', name: 'ab-side', id: 'ab-original', value: 'original', disabled: true });
  const clearLoop = h('button', { type: 'button', class: 'secondary', hidden: true }, 'Clear loop');
  const loopText = h('span', { class: 'loop-text hint' });
  const match = matchGainDb(report);
  const abHelp = h(
    'p',
    { class: 'hint', id: 'ab-help' },
    local
      ? `Loudness-matched: the original is played ${signed(Math.abs(match))} dB ${match >= 0 ? 'louder' : 'quieter'} than it really is, so you hear the difference in tone and dynamics, not just volume. Click a waveform to jump there, drag across it to loop a passage. Keys: Space play/pause, A original, B master, T switch, ←/→ 5 s, [ and ] loop start and end, L clear loop.`
      : 'Click the waveform to jump there, drag across it to loop a passage. Keys: Space play/pause, ←/→ 5 s, [ and ] loop start and end, L clear loop.',
  );
  const player = h(
    'div',
    { class: 'player', 'data-state': 'loading', 'data-side': 'master' },
    h(
      'fieldset',
      { class: 'ab', hidden: !local },
      h('legend', {}, 'Listen to'),
      h('div', { class: 'choice inline' }, sideMaster, h('label', { for: 'ab-master' }, 'Master (B)')),
      h('div', { class: 'choice inline' }, sideOriginal, h('label', { for: 'ab-original' }, 'Original, loudness-matched (A)')),
    ),
    h('div', { class: 'transport' }, playButton, position, clearLoop, loopText),
    abHelp,
  );
  const section = h(
    'section',
    { class: 'panel listen', 'aria-labelledby': 'listen-title' },
    h('h2', { id: 'listen-title' }, local ? 'Compare: A/B' : 'Listen'),
    player,
    status,
    noLocal,
    h('div', { class: 'waves' }, laneOriginal.figure, laneMaster.figure),
    limiterLane(report),
  );

  let ab: AbPlayer | null = null;
  let loopMark: number | null = null; // set by [, used by ]
  let disposed = false;
  let raf = 0;
  const refresh = (): void => {
    if (!ab) return;
    playButton.textContent = ab.playing ? 'Pause' : 'Play';
    playButton.setAttribute('aria-pressed', String(ab.playing));
    position.textContent = ab.positionText();
    player.dataset.state = ab.playing ? 'playing' : 'paused';
    player.dataset.side = ab.side;
    sideMaster.checked = ab.side === 'master';
    sideOriginal.checked = ab.side === 'original';
    const d = ab.duration || 1;
    player.dataset.position = ab.position.toFixed(2);
    for (const l of lanes) {
      l.setPlayhead(ab.position / d);
      l.setLoop(ab.loop ? ab.loop.start / d : null, ab.loop ? ab.loop.end / d : null);
      l.surface.setAttribute('aria-valuenow', String(Math.round(ab.position)));
      l.surface.setAttribute('aria-valuetext', ab.positionText());
    }
    clearLoop.hidden = !ab.loop;
    loopText.textContent = ab.loop
      ? `Looping ${formatDuration(ab.loop.start)}–${formatDuration(ab.loop.end)}`
      : loopMark !== null
        ? `Loop starts at ${formatDuration(loopMark)}; press ] at its end`
        : '';
    player.dataset.loop = ab.loop ? `${ab.loop.start.toFixed(2)}-${ab.loop.end.toFixed(2)}` : '';
  };
  // A smooth playhead while playing; the 100 ms timer in the player keeps the text current.
  const tick = (): void => {
    if (disposed) return;
    if (ab?.playing) refresh();
    raf = requestAnimationFrame(tick);
  };
  const togglePlay = (): void => {
    if (!ab) return;
    if (ab.playing) ab.pause();
    else ab.play().catch((err: unknown) => (status.textContent = `Playback failed: ${plainError(err)}`));
  };
  playButton.addEventListener('click', togglePlay);
  clearLoop.addEventListener('click', () => ab?.setLoop(null));
  for (const radio of [sideMaster, sideOriginal]) {
    radio.addEventListener('change', () => {
      if (radio.checked) ab?.setSide(radio.value as AbSide);
    });
  }
  // Click seeks; a drag of more than 6 px selects a loop region.
  for (const lane of lanes) {
    let downX: number | null = null;
    const timeAt = (clientX: number): number => {
      const r = lane.surface.getBoundingClientRect();
      return ((clientX - r.left) / Math.max(1, r.width)) * (ab?.duration ?? 0);
    };
    lane.surface.addEventListener('pointerdown', (e) => {
      if (!ab) return;
      downX = e.clientX;
      try {
        lane.surface.setPointerCapture(e.pointerId);
      } catch {
        // A synthetic or already-released pointer: the drag still ends on this surface.
      }
    });
    lane.surface.addEventListener('pointerup', (e) => {
      if (!ab || downX === null) return;
      const a = timeAt(downX);
      const b = timeAt(e.clientX);
      if (Math.abs(e.clientX - downX) > 6) ab.setLoop({ start: Math.max(0, Math.min(a, b)), end: Math.min(ab.duration, Math.max(a, b)) });
      else ab.seek(b);
      downX = null;
    });
    lane.surface.addEventListener('keydown', (e) => {
      if (!ab) return;
      if (e.key === 'ArrowRight' || e.key === 'ArrowLeft') {
        e.preventDefault();
        e.stopPropagation();
        ab.seek(ab.position + (e.key === 'ArrowRight' ? 5 : -5));
      } else if (e.key === 'Home') {
        e.preventDefault();
        ab.seek(ab.loop?.start ?? 0);
      }
    });
  }
  // Page-wide keys while this view is shown, except while typing in a form field.
  const onKey = (e: KeyboardEvent): void => {
    if (!ab || e.ctrlKey || e.metaKey || e.altKey) return;
    const t = e.target as HTMLElement | null;
    if (t && (t.tagName === 'INPUT' || t.tagName === 'SELECT' || t.tagName === 'TEXTAREA') && (t as HTMLInputElement).type !== 'radio') return;
    const k = e.key.toLowerCase();
    if (k === 'a' && ab.side !== 'original') ab.setSide('original');
    else if (k === 'b') ab.setSide('master');
    else if (k === 't') ab.toggleSide();
    else if (k === 'l') {
      loopMark = null;
      ab.setLoop(null);
    } else if (k === '[') {
      // Mark where a loop starts; ] at its end makes it (drag does both in one go).
      loopMark = ab.position;
      refresh();
    } else if (k === ']') {
      const start = loopMark ?? ab.loop?.start ?? 0;
      const end = ab.position;
      loopMark = null;
      if (end > start) ab.setLoop({ start, end });
      else refresh();
    }
    else if (k === ' ' && t?.tagName !== 'BUTTON' && t?.tagName !== 'A' && t?.tagName !== 'SUMMARY') {
      e.preventDefault();
      togglePlay();
    } else if ((k === 'arrowright' || k === 'arrowleft') && !(t && t.getAttribute('role') === 'slider') && t?.tagName !== 'INPUT') {
      ab.seek(ab.position + (k === 'arrowright' ? 5 : -5));
    } else return;
  };
  document.addEventListener('keydown', onKey);
  registerDispose(() => {
    disposed = true;
    cancelAnimationFrame(raf);
    document.removeEventListener('keydown', onKey);
    ab?.dispose();
  });

  const loadMaster = async (): Promise<AudioBuffer | null> => {
    if (!job.download) return null;
    const res = await fetch(job.download.url, { credentials: 'same-origin' });
    if (!res.ok) throw new Error(res.status === 410 || res.status === 404 ? 'it is no longer available' : `the server answered ${res.status}`);
    return decode(await res.arrayBuffer());
  };
  const loadOriginal = async (): Promise<AudioBuffer | null> => {
    if (!local) return null;
    if (local.size > kMaxPreviewBytes) throw new Error(`at ${formatBytes(local.size)} it is too large to preview in the browser`);
    return decode(await local.arrayBuffer());
  };
  Promise.allSettled([loadMaster(), loadOriginal()]).then(([m, o]) => {
    if (disposed) return;
    const notes: string[] = [];
    const master = m.status === 'fulfilled' ? m.value : null;
    const original = o.status === 'fulfilled' ? o.value : null;
    if (m.status === 'rejected') notes.push(`The master could not be previewed: ${m.reason instanceof Error ? m.reason.message : String(m.reason)}.`);
    if (o.status === 'rejected') {
      notes.push(`Your original could not be previewed: ${o.reason instanceof Error ? o.reason.message : 'the browser cannot decode this format'}.`);
      laneOriginal.figure.hidden = true;
    }
    if (master) drawWaveform(laneMaster.canvas, master, mast());
    else laneMaster.figure.hidden = true;
    if (original) drawWaveform(laneOriginal.canvas, original, orig());
    if (master) {
      const b = report?.before;
      const a = report?.after;
      const loud = isNum(b?.integrated_lufs) && isNum(a?.integrated_lufs) ? { beforeLufs: b.integrated_lufs, afterLufs: a.integrated_lufs, beforeTruePeakDbtp: isNum(b.true_peak_dbtp) ? b.true_peak_dbtp : 0 } : null;
      ab = new AbPlayer(master, original, loud, refresh);
      for (const l of lanes) l.surface.setAttribute('aria-valuemax', String(Math.round(master.duration)));
      playButton.disabled = false;
      sideMaster.disabled = false;
      sideOriginal.disabled = !original;
      if (!original) player.querySelector('fieldset.ab')?.setAttribute('hidden', '');
      refresh();
      raf = requestAnimationFrame(tick);
    } else {
      player.dataset.state = 'unavailable';
    }
    status.textContent = notes.length ? notes.join(' ') : 'Ready to play.';
  });
  return section;
}

function downloadSection(job: Job, onDeleted: (job: Job) => void): HTMLElement {
  const error = h('div', { class: 'error', role: 'alert' });
  const link = h('a', { class: 'button primary download', href: job.download?.url ?? '#', download: '' }, `Download master (${(job.settings?.format ?? '').toUpperCase() || 'audio'})`);
  link.addEventListener('click', (e) => {
    error.textContent = '';
    if (!navigator.onLine) {
      e.preventDefault();
      error.textContent = 'You are offline, so the master cannot be downloaded now. Reconnect and try again.';
      return;
    }
    // A download that fails in the browser's download manager says nothing on the page, so
    // the job is checked first: still there, and a fresh link (the signed URL lives minutes).
    e.preventDefault();
    api
      .job(job.id)
      .then((fresh) => {
        if (fresh.status !== 'done' || !fresh.download) {
          // Deleted in another tab or expired: the page re-renders in that state, which says so.
          onDeleted(fresh);
          return;
        }
        job.download = fresh.download;
        link.href = fresh.download.url;
        const a = h('a', { href: fresh.download.url, download: '', hidden: true });
        document.body.appendChild(a);
        a.click();
        a.remove();
      })
      .catch((err: unknown) => {
        if (err instanceof ApiError && err.status === 401) return sessionEnded();
        error.textContent = `The download could not start. ${plainError(err)}`;
      });
  });
  const del = h('button', { type: 'button', class: 'danger' }, 'Delete now');
  del.addEventListener('click', () => {
    if (!window.confirm('Delete the master from our servers now? This cannot be undone.')) return;
    del.disabled = true;
    api
      .deleteJob(job.id)
      .then(onDeleted)
      .catch((err: unknown) => {
        error.textContent = plainError(err);
        del.disabled = false;
      });
  });
  return h(
    'section',
    { class: 'panel download-panel', 'aria-labelledby': 'download-title' },
    h('h2', { id: 'download-title' }, 'Download'),
    h('div', { class: 'actions' }, link, del),
    h('p', { class: 'expiry' }, 'Available until ', timeEl(job.download_expires_at), '. After that the master is deleted automatically.'),
    error,
  );
}

/** "Master again": the tab still holds the original, so other settings need no new upload. */
function againSection(job: Job): HTMLElement | null {
  const file = state.localFiles.get(job.id);
  if (!file) return null;
  const s = job.settings ?? {};
  const status = h('p', { class: 'status', role: 'status', 'aria-live': 'polite' });
  const error = h('div', { class: 'error', role: 'alert' });
  const preset = h('select', { id: 'again-preset' });
  const style = h('select', { id: 'again-style' });
  const intensity = h('select', { id: 'again-intensity' });
  const format = h('select', { id: 'again-format' });
  const submit = h('button', { type: 'submit', class: 'primary' }, 'Master again');
  const form = h(
    'form',
    { class: 'again', novalidate: true },
    h(
      'div',
      { class: 'grid' },
      h('div', { class: 'field' }, h('label', { for: 'again-preset' }, 'Preset'), preset),
      h('div', { class: 'field' }, h('label', { for: 'again-style' }, 'Tone'), style),
      h('div', { class: 'field' }, h('label', { for: 'again-intensity' }, 'Intensity'), intensity),
      h('div', { class: 'field' }, h('label', { for: 'again-format' }, 'Format'), format),
    ),
    error,
    status,
    h('div', { class: 'actions' }, submit),
  );
  void loadCatalog()
    .then((c) => {
      const fill = (sel: HTMLSelectElement, items: { id: string }[], current: string | null | undefined, label = humanize): void =>
        sel.replaceChildren(...items.map((i) => h('option', { value: i.id, selected: i.id === current }, label(i.id))));
      fill(preset, c.presets, s.preset ?? c.presets[0]?.id);
      fill(style, c.styles, s.style);
      fill(intensity, c.intensities, s.intensity);
      fill(format, c.formats, s.format, (id) => id.toUpperCase());
    })
    .catch((err: unknown) => (error.textContent = plainError(err)));
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    error.textContent = '';
    submit.disabled = true;
    status.textContent = `Sending ${file.name} again with the new settings…`;
    uploadAndCreate(file, { preset: preset.value, style: style.value, intensity: intensity.value, format: format.value }, {
      onProgress: (f) => (status.textContent = `Sending ${file.name} again: ${Math.round(f * 100)} %`),
      onWaiting: () => (status.textContent = 'The connection dropped; the upload starts again when you are back online.'),
    })
      .then((created) => {
        addVersion(job.id, created.id);
        state.justCreated = created;
        navigate(`#/jobs/${encodeURIComponent(created.id)}`);
      })
      .catch((err: unknown) => {
        if (err instanceof ApiError && err.status === 401) return sessionEnded();
        error.textContent = plainError(err);
        status.textContent = '';
        submit.disabled = false;
      });
  });
  return h(
    'section',
    { class: 'panel', 'aria-labelledby': 'again-title' },
    h('h2', { id: 'again-title' }, 'Try other settings'),
    h('p', { class: 'hint' }, 'Your original is still in this browser tab, so it is sent again for you: no new upload to pick. Every version stays listed below so you can compare them.'),
    form,
  );
}

/** The versions of this track made in this tab, each with what changed from the first. */
function versionsSection(job: Job): HTMLElement | null {
  const ids = state.versions.get(job.id);
  if (!ids || ids.length < 2) return null;
  const list = h('ol', { class: 'versions' });
  const section = h('section', { class: 'panel', 'aria-labelledby': 'versions-title' }, h('h2', { id: 'versions-title' }, 'Versions of this track'), list);
  void Promise.all(ids.map((id) => api.job(id).catch(() => null))).then((jobs) => {
    const first = jobs[0];
    list.replaceChildren(
      ...jobs.map((j, i) => {
        if (!j) return h('li', {}, `Version ${i + 1}: not available.`);
        const current = j.id === job.id;
        const lufs = j.report?.after?.integrated_lufs;
        return h(
          'li',
          { class: current ? 'current' : undefined, 'data-version': i + 1 },
          h('div', { class: 'version-line' }, current ? h('strong', {}, `Version ${i + 1} (this one)`) : h('a', { href: `#/jobs/${encodeURIComponent(j.id)}` }, `Version ${i + 1}`), ` · ${humanize(j.status)}`, isNum(lufs) ? ` · ${signed(lufs)} LUFS` : ''),
          h('p', { class: 'hint' }, i === 0 ? settingsSummary(j.settings) : `Changed: ${settingsDiff(first?.settings, j.settings)}`),
          j.download && !current ? h('audio', { controls: true, preload: 'none', src: j.download.url, 'aria-label': `Play version ${i + 1}` }) : null,
        );
      }),
    );
  });
  return section;
}

function jobMeta(job: Job): HTMLElement {
  return h(
    'dl',
    { class: 'meta' },
    h('dt', {}, 'File'),
    h('dd', {}, job.original_filename ?? '–'),
    h('dt', {}, 'Settings'),
    h('dd', {}, settingsSummary(job.settings)),
    h('dt', {}, 'Submitted'),
    h('dd', {}, timeEl(job.created_at)),
    job.finished_at ? [h('dt', {}, 'Finished'), h('dd', {}, timeEl(job.finished_at))] : null,
    job.deleted_at ? [h('dt', {}, 'Deleted'), h('dd', {}, timeEl(job.deleted_at))] : null,
  );
}

/** Builds one part of the page; a part that throws becomes a note, never a stuck page. */
function safely(name: string, build: () => HTMLElement | null): HTMLElement | null {
  try {
    return build();
  } catch (err) {
    console.error(`job view: ${name}`, err);
    return h('p', { class: 'note' }, `The ${name} could not be shown for this job.`);
  }
}

export function jobView(id: string): View {
  const heading = h('h1', { id: 'view-title', tabindex: -1 }, 'Mastering job');
  const body = h('div', { class: 'job-body' }, h('p', { role: 'status' }, 'Loading…'));
  const root = h('section', { class: 'view job' }, heading, body);
  const disposers: (() => void)[] = [];
  const registerDispose = (f: () => void): void => {
    disposers.push(f);
  };
  const view: View = { title: 'Mastering job', root, dispose: () => disposers.splice(0).forEach((f) => f()) };

  // Progress panel, kept across updates so the live region announces changes only.
  const bar = h('progress', { id: 'job-progress', max: 100, value: 0 });
  const stage = h('p', { class: 'stage' });
  const eta = h('p', { class: 'hint eta' });
  // For screen readers only: the visible stage line above says the same at every tick.
  const live = h('p', { class: 'visually-hidden', role: 'status', 'aria-live': 'polite' });
  let lastAnnounce = '';
  let shownPct = 0; // the bar only moves forward, whatever order the stages report in
  let startedAt = 0;
  const progressPanel = h(
    'div',
    { class: 'panel progress-panel' },
    h('label', { for: 'job-progress' }, 'Mastering progress'),
    bar,
    stage,
    eta,
    live,
    h('p', { class: 'hint' }, 'You can leave this page; the job keeps running and appears under “My jobs”.'),
  );

  const setTitle = (text: string): void => {
    heading.textContent = text;
    document.title = `${text} – QuackTracks`;
  };

  const renderProgress = (job: Job): void => {
    setTitle(`Mastering ${job.original_filename ?? 'your track'}`);
    const raw = isNum(job.progress) ? job.progress : 0;
    const pct = Math.round(Math.max(0, Math.min(1, raw)) * 100);
    shownPct = Math.max(shownPct, job.status === 'queued' ? 0 : pct);
    bar.value = shownPct;
    const what = job.status === 'queued' ? 'Waiting in line' : stageName(job.stage);
    stage.textContent = `${what} – ${shownPct} %`;
    if (job.status === 'processing' && !startedAt) startedAt = performance.now();
    // Time left from the pace so far; only once there is a pace to go by (5 %, 1 s).
    const elapsedS = startedAt ? (performance.now() - startedAt) / 1000 : 0;
    if (job.status === 'queued') eta.textContent = 'Starts as soon as a mastering engine is free.';
    else if (shownPct >= 5 && elapsedS >= 1) {
      const left = Math.max(1, Math.round((elapsedS * (100 - shownPct)) / shownPct));
      eta.textContent = `About ${left < 60 ? `${left} s` : `${Math.round(left / 60)} min`} left.`;
    } else eta.textContent = 'Estimating the time left…';
    const announce = `${what}, ${Math.floor(shownPct / 25) * 25} %`;
    if (announce !== lastAnnounce) {
      lastAnnounce = announce;
      live.textContent = `${what}: ${shownPct} %`;
    }
    if (!body.contains(progressPanel)) body.replaceChildren(jobMeta(job), progressPanel);
  };

  const renderFinal = (job: Job, moveFocus: boolean): void => {
    disposers.splice(0).forEach((f) => f());
    const report = job.report ?? null;
    const parts: (HTMLElement | null)[] = [];
    if (job.status === 'done') {
      setTitle('Your master is ready');
      parts.push(
        h('p', { class: 'status', role: 'status' }, `Mastered ${job.original_filename ?? 'your track'}.`),
        safely('problems and actions', () => (report ? findingsSection(job, report) : null)),
        safely('loudness table', () => (report ? h('section', { class: 'panel', 'aria-labelledby': 'numbers-title' }, h('h2', { id: 'numbers-title', class: 'visually-hidden' }, 'Loudness'), metricsTable(report), targetCheck(job, report)) : null)),
        safely('download', () => downloadSection(job, (deleted) => renderFinal(deleted, true))),
        safely('player', () => listenSection(job, report, registerDispose)),
        safely('versions', () => versionsSection(job)),
        safely('master-again form', () => againSection(job)),
      );
    } else if (job.status === 'failed') {
      setTitle('Mastering failed');
      const code = job.error?.code ?? 'unknown';
      parts.push(
        h('div', { class: 'error', role: 'alert' }, messageForCode(code) || 'The file could not be mastered.', h('span', { class: 'code' }, ` (code: ${code})`)),
        job.error?.message ? h('details', {}, h('summary', {}, 'Technical details'), h('p', {}, job.error.message)) : null,
        h('p', {}, 'Your upload has been deleted. ', h('a', { href: '#/new' }, 'Try again with another file'), '.'),
      );
    } else {
      setTitle(job.status === 'expired' ? 'This master has expired' : 'This master was deleted');
      state.localFiles.delete(job.id);
      parts.push(
        h('p', { class: 'status', role: 'status' }, `${kStatusHelp[job.status] ?? ''} The settings and measurements are kept so you can see what was done.`),
        safely('loudness table', () => (report ? metricsTable(report) : null)),
        h('p', {}, h('a', { href: '#/new' }, 'Master another track')),
      );
    }
    parts.push(jobMeta(job));
    if (job.status !== 'failed' && report) parts.push(safely('tonal balance', () => spectrumSection(report)));
    body.replaceChildren(...parts.filter((p): p is HTMLElement => p !== null));
    if (moveFocus) heading.focus();
  };

  const cached = state.justCreated?.id === id ? state.justCreated : null;
  state.justCreated = null;
  (cached ? Promise.resolve(cached) : api.job(id))
    .then((job) => {
      if (kTerminalStatuses.has(job.status)) {
        renderFinal(job, false);
        return;
      }
      renderProgress(job);
      const stop = followJob(job.id, (update) => {
        if (kTerminalStatuses.has(update.status)) renderFinal(update, true);
        else renderProgress(update);
      });
      disposers.push(stop);
    })
    .catch((err: unknown) => {
      if (err instanceof ApiError && err.status === 401) {
        sessionEnded();
        return;
      }
      setTitle(err instanceof ApiError && err.status === 404 ? 'Job not found' : 'This job could not be loaded');
      body.replaceChildren(h('p', { class: 'error', role: 'alert' }, plainError(err)), h('p', {}, h('a', { href: '#/jobs' }, 'Back to my jobs')));
    });
  return view;
}
