import { api, ApiError, followJob, kTerminalStatuses, type Job, type MasterReport } from '../api';
import { AbPlayer, decode, drawSpectra, drawWaveform, kMaxPreviewBytes, type AbSide } from '../audio';
import { formatBytes, h, signed, timeEl } from '../dom';
import {
  decisionTitle,
  decisionValue,
  errorAdvice,
  humanize,
  kStatusHelp,
  stageName,
  warningText,
} from '../help';
import { sessionEnded, state, type View } from '../state';

const kOriginalColor = '#8a4b00'; // dark amber: 6.6:1 on white
const kMasterColor = '#0b4f9c'; // dark blue: 7.9:1 on white

function settingsSummary(job: Job): string {
  const s = job.settings;
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

function metricsTable(report: MasterReport): HTMLTableElement {
  const b = report.before;
  const a = report.after;
  const row = (
    name: string,
    key: string,
    before: number,
    after: number,
    unit: string,
    changeUnit: string,
    explain: string,
  ): HTMLTableRowElement =>
    h(
      'tr',
      {},
      h('th', { scope: 'row' }, h('span', {}, name), h('span', { class: 'hint' }, explain)),
      h('td', { 'data-metric': `before-${key}`, 'data-value': before }, `${signed(before)} ${unit}`),
      h('td', { 'data-metric': `after-${key}`, 'data-value': after }, `${signed(after)} ${unit}`),
      h('td', { 'data-metric': `change-${key}` }, `${signed(after - before, 1, true)} ${changeUnit}`),
    );
  return h(
    'table',
    { class: 'metrics' },
    h('caption', {}, 'Before and after'),
    h(
      'thead',
      {},
      h('tr', {}, h('th', { scope: 'col' }, 'Measure'), h('th', { scope: 'col' }, 'Original'), h('th', { scope: 'col' }, 'Master'), h('th', { scope: 'col' }, 'Change')),
    ),
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
  const a = report.after;
  const offBy = a.integrated_lufs - job.settings.target_lufs;
  // 0.5 LU: the EBU R128 tolerance for "on target" programme loudness.
  const loudOk = Math.abs(offBy) <= 0.5;
  const peakOk = a.true_peak_dbtp <= job.settings.ceiling_dbtp + 0.05;
  return h(
    'ul',
    { class: 'checks' },
    h('li', { class: loudOk ? 'ok' : 'warn' }, loudOk ? '✓ ' : '! ', `Loudness target ${signed(job.settings.target_lufs)} LUFS: ${loudOk ? 'met' : `off by ${signed(offBy, 1, true)} LU`}.`),
    h('li', { class: peakOk ? 'ok' : 'warn' }, peakOk ? '✓ ' : '! ', `Peaks stay at or below ${signed(job.settings.ceiling_dbtp)} dBTP: ${peakOk ? 'yes' : 'no'}.`),
  );
}

function spectrumSection(report: MasterReport): HTMLElement | null {
  const before = report.before.spectrum;
  const after = report.after.spectrum;
  if (!before || !after) return null;
  const canvas = h('canvas', {
    class: 'spectrum',
    role: 'img',
    'aria-label': 'Third-octave spectrum of the original (dashed amber) and the master (solid blue), in dB by frequency. The same values are in the table below.',
  });
  const table = h(
    'table',
    { class: 'spectrum-table' },
    h('caption', {}, 'Level per third-octave band, dBFS'),
    h('thead', {}, h('tr', {}, h('th', { scope: 'col' }, 'Band'), h('th', { scope: 'col' }, 'Original'), h('th', { scope: 'col' }, 'Master'))),
    h(
      'tbody',
      {},
      before.center_hz.map((hz, i) =>
        h(
          'tr',
          {},
          h('th', { scope: 'row' }, hz >= 1000 ? `${hz / 1000} kHz` : `${hz} Hz`),
          h('td', {}, signed(before.level_dbfs[i] ?? NaN)),
          h('td', {}, signed(after.level_dbfs[i] ?? NaN)),
        ),
      ),
    ),
  );
  const section = h(
    'section',
    { class: 'panel', 'aria-labelledby': 'spectrum-title' },
    h('h2', { id: 'spectrum-title' }, 'Tonal balance'),
    h('p', { class: 'hint' }, 'Energy per third-octave band, from deep bass (left) to air (right).'),
    h('ul', { class: 'legend' }, h('li', { class: 'legend-original' }, 'Original (dashed)'), h('li', { class: 'legend-master' }, 'Master (solid)')),
    canvas,
    h('details', {}, h('summary', {}, 'Show the values as a table'), table),
  );
  // Draw once laid out (the canvas needs its CSS size).
  requestAnimationFrame(() =>
    drawSpectra(canvas, [
      { label: 'Original', color: kOriginalColor, dash: [6, 4], spectrum: before },
      { label: 'Master', color: kMasterColor, dash: [], spectrum: after },
    ]),
  );
  return section;
}

function decisionsSection(report: MasterReport): HTMLElement | null {
  const decisions = report.decisions ?? [];
  const warnings = report.warnings ?? [];
  if (decisions.length === 0 && warnings.length === 0) return null;
  return h(
    'section',
    { class: 'panel', 'aria-labelledby': 'decisions-title' },
    h('h2', { id: 'decisions-title' }, 'What we did and why'),
    warnings.length
      ? h('ul', { class: 'warnings' }, warnings.map((w) => h('li', {}, warningText(w))))
      : null,
    h(
      'dl',
      { class: 'decisions' },
      decisions.flatMap((d) => [
        h('dt', {}, decisionTitle(d), h('span', { class: 'value' }, decisionValue(d))),
        h('dd', {}, d.reason.charAt(0).toUpperCase() + d.reason.slice(1) + (d.reason.endsWith('.') ? '' : '.')),
      ]),
    ),
  );
}

/** Waveforms and the A/B player; both need decoded audio, fetched after the page shows. */
function listenSection(job: Job, report: MasterReport | null, registerDispose: (f: () => void) => void): HTMLElement {
  const local = state.localFiles.get(job.id) ?? null;
  const status = h('p', { class: 'status', role: 'status', 'aria-live': 'polite' }, 'Loading the audio for preview…');
  const waveOriginal = h('canvas', { class: 'wave', role: 'img', 'aria-label': 'Waveform of the original' });
  const waveMaster = h('canvas', { class: 'wave', role: 'img', 'aria-label': 'Waveform of the master' });
  const originalFigure = h('figure', { class: 'wave-figure' }, h('figcaption', {}, 'Original'), waveOriginal);
  const masterFigure = h('figure', { class: 'wave-figure' }, h('figcaption', {}, 'Master'), waveMaster);
  const noLocal = local
    ? null
    : h(
        'p',
        { class: 'note' },
        'Only the master can be shown here: your original is not on our servers any more (it is deleted as soon as mastering finishes) and this browser tab no longer holds the file you picked. Upload it again to compare.',
      );
  if (!local) originalFigure.hidden = true;

  const playButton = h('button', { type: 'button', class: 'primary', disabled: true, 'aria-describedby': 'ab-help' }, 'Play');
  const position = h('span', { class: 'position', 'aria-label': 'Playback position' }, '0:00 / 0:00');
  const sideMaster = h('input', { type: 'radio', name: 'ab-side', id: 'ab-master', value: 'master', checked: true, disabled: true });
  const sideOriginal = h('input', { type: 'radio', name: 'ab-side', id: 'ab-original', value: 'original', disabled: true });
  const matchDb = report ? report.after.integrated_lufs - report.before.integrated_lufs : 0;
  const abHelp = h(
    'p',
    { class: 'hint', id: 'ab-help' },
    local
      ? `Loudness-matched: the original is played ${signed(Math.abs(matchDb))} dB ${matchDb >= 0 ? 'louder' : 'quieter'} than it really is, so both are equally loud and you hear the difference in tone and dynamics, not just volume. Switch while it plays.`
      : 'Only the master is available to play.',
  );
  const player = h(
    'div',
    { class: 'player', 'data-state': 'loading' },
    h(
      'fieldset',
      { class: 'ab', hidden: !local },
      h('legend', {}, 'Listen to'),
      h('div', { class: 'choice inline' }, sideMaster, h('label', { for: 'ab-master' }, 'Master (B)')),
      h('div', { class: 'choice inline' }, sideOriginal, h('label', { for: 'ab-original' }, 'Original, loudness-matched (A)')),
    ),
    h('div', { class: 'transport' }, playButton, position),
    abHelp,
  );

  const section = h(
    'section',
    { class: 'panel', 'aria-labelledby': 'listen-title' },
    h('h2', { id: 'listen-title' }, local ? 'Compare: A/B' : 'Listen'),
    player,
    status,
    noLocal,
    h('div', { class: 'waves' }, originalFigure, masterFigure),
  );

  let ab: AbPlayer | null = null;
  let disposed = false;
  registerDispose(() => {
    disposed = true;
    ab?.dispose();
  });
  const refresh = (): void => {
    if (!ab) return;
    playButton.textContent = ab.playing ? 'Pause' : 'Play';
    playButton.setAttribute('aria-pressed', String(ab.playing));
    position.textContent = ab.positionText();
    player.dataset.state = ab.playing ? 'playing' : 'paused';
    player.dataset.side = ab.side;
  };
  playButton.addEventListener('click', () => {
    if (!ab) return;
    if (ab.playing) ab.pause();
    else ab.play().catch((err: unknown) => (status.textContent = `Playback failed: ${String(err)}`));
  });
  for (const radio of [sideMaster, sideOriginal]) {
    radio.addEventListener('change', () => {
      if (radio.checked) ab?.setSide(radio.value as AbSide);
    });
  }

  const loadMaster = async (): Promise<AudioBuffer | null> => {
    if (!job.download) return null;
    const res = await fetch(job.download.url, { credentials: 'same-origin' });
    if (!res.ok) throw new Error(`the master could not be fetched (${res.status})`);
    return decode(await res.arrayBuffer());
  };
  const loadOriginal = async (): Promise<AudioBuffer | null> => {
    if (!local) return null;
    if (local.size > kMaxPreviewBytes) throw new Error(`the original (${formatBytes(local.size)}) is too large to preview in the browser`);
    return decode(await local.arrayBuffer());
  };
  Promise.allSettled([loadMaster(), loadOriginal()]).then(([m, o]) => {
    if (disposed) return;
    const notes: string[] = [];
    const master = m.status === 'fulfilled' ? m.value : null;
    const original = o.status === 'fulfilled' ? o.value : null;
    if (m.status === 'rejected') notes.push(`The master could not be previewed: ${String(m.reason instanceof Error ? m.reason.message : m.reason)}.`);
    if (o.status === 'rejected') {
      notes.push(`Your original could not be previewed (${o.reason instanceof Error ? o.reason.message : String(o.reason)}).`);
      originalFigure.hidden = true;
    }
    if (master) drawWaveform(waveMaster, master, kMasterColor);
    else masterFigure.hidden = true;
    if (original) drawWaveform(waveOriginal, original, kOriginalColor);
    if (master) {
      ab = new AbPlayer(
        master,
        original,
        report
          ? {
              beforeLufs: report.before.integrated_lufs,
              afterLufs: report.after.integrated_lufs,
              beforeTruePeakDbtp: report.before.true_peak_dbtp,
            }
          : null,
        refresh,
      );
      playButton.disabled = false;
      sideMaster.disabled = false;
      sideOriginal.disabled = !original;
      if (!original) player.querySelector('fieldset.ab')?.setAttribute('hidden', '');
      refresh();
    } else {
      player.dataset.state = 'unavailable';
    }
    status.textContent = notes.length ? notes.join(' ') : 'Ready to play.';
  });
  return section;
}

function downloadSection(job: Job, onDeleted: (job: Job) => void): HTMLElement {
  const error = h('div', { class: 'error', role: 'alert' });
  const link = h(
    'a',
    { class: 'button primary download', href: job.download?.url ?? '#', download: '' },
    `Download master (${(job.settings.format ?? '').toUpperCase() || 'audio'})`,
  );
  link.addEventListener('click', (e) => {
    // The signed URL lives minutes; the master lives days. Refresh a stale URL before use.
    const expires = job.download ? Date.parse(job.download.expires_at) : 0;
    if (job.download && expires - Date.now() > 30_000) return;
    e.preventDefault();
    api
      .job(job.id)
      .then((fresh) => {
        if (!fresh.download) throw new ApiError(410, 'url_expired', 'The master is no longer available.');
        job.download = fresh.download;
        link.href = fresh.download.url;
        location.assign(fresh.download.url);
      })
      .catch((err: unknown) => (error.textContent = err instanceof Error ? err.message : String(err)));
  });
  const del = h('button', { type: 'button', class: 'danger' }, 'Delete now');
  del.addEventListener('click', () => {
    if (!window.confirm('Delete the master from our servers now? This cannot be undone.')) return;
    del.disabled = true;
    api
      .deleteJob(job.id)
      .then(onDeleted)
      .catch((err: unknown) => {
        error.textContent = err instanceof Error ? err.message : String(err);
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

function jobMeta(job: Job): HTMLElement {
  return h(
    'dl',
    { class: 'meta' },
    h('dt', {}, 'File'),
    h('dd', {}, job.original_filename),
    h('dt', {}, 'Settings'),
    h('dd', {}, settingsSummary(job)),
    h('dt', {}, 'Submitted'),
    h('dd', {}, timeEl(job.created_at)),
    job.finished_at ? [h('dt', {}, 'Finished'), h('dd', {}, timeEl(job.finished_at))] : null,
    job.deleted_at ? [h('dt', {}, 'Deleted'), h('dd', {}, timeEl(job.deleted_at))] : null,
  );
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
  // For screen readers only: the visible stage line above says the same at every tick.
  const live = h('p', { class: 'visually-hidden', role: 'status', 'aria-live': 'polite' });
  let lastAnnounce = '';
  const progressPanel = h(
    'div',
    { class: 'panel progress-panel' },
    h('label', { for: 'job-progress' }, 'Mastering progress'),
    bar,
    stage,
    live,
    h('p', { class: 'hint' }, 'You can leave this page; the job keeps running and appears under “My jobs”.'),
  );

  const setTitle = (text: string): void => {
    heading.textContent = text;
    document.title = `${text} – QuackTracks`;
  };

  const renderProgress = (job: Job): void => {
    setTitle(`Mastering ${job.original_filename}`);
    const pct = Math.round(Math.max(0, Math.min(1, job.progress ?? 0)) * 100);
    bar.value = pct;
    const what = job.status === 'queued' ? 'Waiting in line' : stageName(job.stage);
    stage.textContent = `${what} – ${pct} %`;
    // Announce stage changes and 25 % steps, not every tick.
    const announce = `${what}, ${Math.floor(pct / 25) * 25} %`;
    if (announce !== lastAnnounce) {
      lastAnnounce = announce;
      live.textContent = `${what}: ${pct} %`;
    }
    if (body.firstChild !== progressPanel) body.replaceChildren(jobMeta(job), progressPanel);
  };

  const renderFinal = (job: Job, moveFocus: boolean): void => {
    disposers.splice(0).forEach((f) => f());
    const report = job.report;
    const parts: (HTMLElement | null)[] = [];
    if (job.status === 'done') {
      setTitle('Your master is ready');
      parts.push(
        h('p', { class: 'status', role: 'status' }, `Mastered ${job.original_filename}.`),
        report ? h('section', { class: 'panel', 'aria-labelledby': 'numbers-title' }, h('h2', { id: 'numbers-title', class: 'visually-hidden' }, 'Loudness'), metricsTable(report), targetCheck(job, report)) : null,
        downloadSection(job, (deleted) => renderFinal(deleted, true)),
        listenSection(job, report, registerDispose),
      );
    } else if (job.status === 'failed') {
      setTitle('Mastering failed');
      const code = job.error?.code ?? 'unknown';
      parts.push(
        // Advice first; the engine's own message (technical) folded away below it.
        h('div', { class: 'error', role: 'alert' }, errorAdvice(code) || 'The file could not be mastered.', ` (code: ${code})`),
        job.error?.message ? h('details', {}, h('summary', {}, 'Technical details'), h('p', {}, job.error.message)) : null,
        h('p', {}, 'Your upload has been deleted. ', h('a', { href: '#/new' }, 'Try again with another file'), '.'),
      );
    } else {
      setTitle(job.status === 'expired' ? 'This master has expired' : 'This master was deleted');
      state.localFiles.delete(job.id);
      parts.push(
        h('p', { class: 'status', role: 'status' }, `${kStatusHelp[job.status]} The settings and measurements are kept so you can see what was done.`),
        report ? metricsTable(report) : null,
        h('p', {}, h('a', { href: '#/new' }, 'Master another track')),
      );
    }
    parts.push(jobMeta(job));
    if (job.status !== 'failed' && report) parts.push(spectrumSection(report), decisionsSection(report));
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
      setTitle('Job not found');
      body.replaceChildren(
        h('p', { class: 'error', role: 'alert' }, err instanceof Error ? err.message : String(err)),
        h('p', {}, h('a', { href: '#/jobs' }, 'Back to my jobs')),
      );
    });
  return view;
}
