import { api, ApiError, kTerminalStatuses, type Job } from '../api';
import { h, isNum, signed, timeEl } from '../dom';
import { plainError } from '../errors';
import { humanize, kStatusHelp } from '../help';
import { sessionEnded, type View } from '../state';

/** One row; every field may be null, so one odd job can never break the list. */
function jobItem(job: Job, onChanged: () => void): HTMLLIElement {
  const after = job.report?.after?.integrated_lufs;
  const pct = Math.round((isNum(job.progress) ? job.progress : 0) * 100);
  const name = job.original_filename || 'Untitled track';
  const s = job.settings ?? {};
  const error = h('p', { class: 'error', role: 'alert' });
  const actions = h('div', { class: 'actions compact' });
  if (job.status === 'done' && job.download) {
    const audio = h('audio', { preload: 'none', src: job.download.url, 'aria-label': `Master of ${name}` });
    const play = h('button', { type: 'button', class: 'secondary', 'aria-label': `Play the master of ${name}` }, 'Play');
    audio.addEventListener('play', () => {
      // One at a time: starting a row pauses the others.
      for (const other of Array.from(document.querySelectorAll<HTMLAudioElement>('.jobs audio'))) if (other !== audio) other.pause();
      play.textContent = 'Pause';
    });
    audio.addEventListener('pause', () => (play.textContent = 'Play'));
    audio.addEventListener('error', () => (error.textContent = 'The master could not be played: its link may have expired. Refresh the list.'));
    play.addEventListener('click', () => (audio.paused ? void audio.play().catch(() => undefined) : audio.pause()));
    actions.append(play, audio, h('a', { class: 'button secondary', href: job.download.url, download: '', 'aria-label': `Download the master of ${name}` }, 'Download'));
  }
  if (job.status !== 'deleted') {
    const del = h('button', { type: 'button', class: 'danger', 'aria-label': `Delete ${name}` }, 'Delete');
    del.addEventListener('click', () => {
      if (!window.confirm(`Delete “${name}” from our servers now? This cannot be undone.`)) return;
      del.disabled = true;
      api
        .deleteJob(job.id)
        .then(onChanged)
        .catch((err: unknown) => {
          if (err instanceof ApiError && err.status === 401) return sessionEnded();
          error.textContent = plainError(err);
          del.disabled = false;
        });
    });
    actions.append(del);
  }
  return h(
    'li',
    { class: `job-item status-${job.status}`, 'data-job-id': job.id, 'data-status': job.status },
    h(
      'div',
      { class: 'job-line' },
      h('a', { href: `#/jobs/${encodeURIComponent(job.id)}`, class: 'job-name' }, name),
      // Status is written out, not only coloured.
      h('span', { class: `badge badge-${job.status}`, 'data-status': job.status }, humanize(job.status || 'unknown')),
    ),
    h(
      'p',
      { class: 'hint' },
      timeEl(job.created_at),
      ` · ${s.preset ? humanize(s.preset) : 'Custom'} ${signed(s.target_lufs)} LUFS`,
      s.format ? ` · ${s.format.toUpperCase()}` : '',
      isNum(after) ? ` · result ${signed(after)} LUFS` : '',
      job.status === 'processing' || job.status === 'queued' ? ` · ${pct} %` : '',
    ),
    h('p', { class: 'hint' }, kStatusHelp[job.status] ?? '', job.status === 'done' && job.download_expires_at ? [' Available until ', timeEl(job.download_expires_at), '.'] : null),
    actions.childElementCount ? actions : null,
    error,
  );
}

const kFilters: [string, string][] = [
  ['all', 'All'],
  ['active', 'In progress'],
  ['done', 'Ready'],
  ['failed', 'Failed'],
  ['gone', 'Expired or deleted'],
];

function matchesFilter(job: Job, filter: string): boolean {
  if (filter === 'active') return !kTerminalStatuses.has(job.status);
  if (filter === 'done' || filter === 'failed') return job.status === filter;
  if (filter === 'gone') return job.status === 'expired' || job.status === 'deleted';
  return true;
}

export function jobsView(): View {
  const list = h('ul', { class: 'jobs', 'aria-labelledby': 'view-title' });
  const status = h('p', { class: 'status', role: 'status', 'aria-live': 'polite' }, 'Loading your jobs…');
  const refresh = h('button', { type: 'button', class: 'secondary' }, 'Refresh');
  const search = h('input', { type: 'search', id: 'job-search', placeholder: 'File name', autocomplete: 'off' });
  const filter = h('select', { id: 'job-filter' }, kFilters.map(([v, t]) => h('option', { value: v }, t)));
  const root = h(
    'section',
    { class: 'view' },
    h('h1', { id: 'view-title', tabindex: -1 }, 'My jobs'),
    h('div', { class: 'actions' }, h('a', { href: '#/new', class: 'button primary' }, 'Master a new track'), refresh),
    h(
      'div',
      { class: 'list-tools', role: 'search' },
      h('div', { class: 'field' }, h('label', { for: 'job-search' }, 'Search'), search),
      h('div', { class: 'field' }, h('label', { for: 'job-filter' }, 'Show'), filter),
    ),
    status,
    list,
  );
  let timer: number | undefined;
  let disposed = false;
  let jobs: Job[] = [];
  const show = (): void => {
    const q = search.value.trim().toLowerCase();
    const shown = jobs.filter((j) => matchesFilter(j, filter.value) && (!q || (j.original_filename ?? '').toLowerCase().includes(q)));
    const items: HTMLLIElement[] = [];
    for (const j of shown) {
      try {
        items.push(jobItem(j, load));
      } catch (err) {
        // Never let one job hide the rest of the history.
        console.error('jobs view: job', j?.id, err);
        items.push(h('li', { class: 'job-item' }, h('a', { href: `#/jobs/${encodeURIComponent(String(j?.id))}` }, 'A job that could not be shown')));
      }
    }
    list.replaceChildren(...items);
    status.textContent =
      jobs.length === 0 ? 'No jobs yet.' : shown.length === jobs.length ? `${jobs.length} job${jobs.length === 1 ? '' : 's'}.` : `${shown.length} of ${jobs.length} jobs shown.`;
  };
  function load(): void {
    if (timer !== undefined) window.clearTimeout(timer);
    timer = undefined;
    api
      .jobs()
      .then((got) => {
        if (disposed) return;
        jobs = Array.isArray(got) ? got.filter((j) => j && typeof j.id === 'string') : [];
        show();
        // While something is running, refresh now and then so statuses move on their own.
        if (jobs.some((j) => !kTerminalStatuses.has(j.status))) timer = window.setTimeout(load, 3000);
      })
      .catch((err: unknown) => {
        if (err instanceof ApiError && err.status === 401) {
          sessionEnded();
          return;
        }
        status.textContent = `Could not load your jobs. ${plainError(err)}`;
      });
  }
  search.addEventListener('input', show);
  filter.addEventListener('change', show);
  refresh.addEventListener('click', load);
  load();
  return {
    title: 'My jobs',
    root,
    dispose: () => {
      disposed = true;
      if (timer !== undefined) window.clearTimeout(timer);
    },
  };
}
