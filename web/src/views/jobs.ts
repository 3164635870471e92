import { api, ApiError, kTerminalStatuses, type Job } from '../api';
import { h, signed, timeEl } from '../dom';
import { humanize, kStatusHelp } from '../help';
import { sessionEnded, type View } from '../state';

function jobItem(job: Job): HTMLLIElement {
  const after = job.report?.after.integrated_lufs;
  const pct = Math.round((job.progress ?? 0) * 100);
  return h(
    'li',
    { class: `job-item status-${job.status}`, 'data-job-id': job.id },
    h(
      'div',
      { class: 'job-line' },
      h('a', { href: `#/jobs/${encodeURIComponent(job.id)}`, class: 'job-name' }, job.original_filename),
      // Status is written out, not only coloured.
      h('span', { class: `badge badge-${job.status}`, 'data-status': job.status }, humanize(job.status)),
    ),
    h(
      'p',
      { class: 'hint' },
      timeEl(job.created_at),
      ` · ${job.settings.preset ? humanize(job.settings.preset) : 'Custom'} ${signed(job.settings.target_lufs)} LUFS`,
      after !== undefined ? ` · result ${signed(after)} LUFS` : '',
      job.status === 'processing' || job.status === 'queued' ? ` · ${pct} %` : '',
    ),
    h(
      'p',
      { class: 'hint' },
      kStatusHelp[job.status],
      job.status === 'done' && job.download_expires_at ? [' Available until ', timeEl(job.download_expires_at), '.'] : null,
    ),
  );
}

export function jobsView(): View {
  const list = h('ul', { class: 'jobs', 'aria-labelledby': 'view-title' });
  const status = h('p', { class: 'status', role: 'status', 'aria-live': 'polite' }, 'Loading your jobs…');
  const refresh = h('button', { type: 'button', class: 'secondary' }, 'Refresh');
  const root = h(
    'section',
    { class: 'view' },
    h('h1', { id: 'view-title', tabindex: -1 }, 'My jobs'),
    h('div', { class: 'actions' }, h('a', { href: '#/new', class: 'button primary' }, 'Master a new track'), refresh),
    status,
    list,
  );
  let timer: number | undefined;
  let disposed = false;
  const load = (): void => {
    if (timer !== undefined) window.clearTimeout(timer);
    timer = undefined;
    api
      .jobs()
      .then((jobs) => {
        if (disposed) return;
        list.replaceChildren(...jobs.map(jobItem));
        status.textContent = jobs.length === 0 ? 'No jobs yet.' : `${jobs.length} job${jobs.length === 1 ? '' : 's'}.`;
        // While something is running, refresh now and then so statuses move on their own.
        if (jobs.some((j) => !kTerminalStatuses.has(j.status))) timer = window.setTimeout(load, 3000);
      })
      .catch((err: unknown) => {
        if (err instanceof ApiError && err.status === 401) {
          sessionEnded();
          return;
        }
        status.textContent = `Could not load your jobs: ${err instanceof Error ? err.message : String(err)}`;
      });
  };
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
