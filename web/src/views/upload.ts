import { api, ApiError, kAudioExtensions, kDefaultMaxUploadBytes, type Catalog, type Choice } from '../api';
import { formatBytes, h, signed, uid } from '../dom';
import { plainError } from '../errors';
import { humanize, kFormatHelp, kIntensityHelp, kPresetHelp, kStyleHelp } from '../help';
import { uploadAndCreate } from '../submit';
import { loadCatalog, navigate, sessionEnded, state, type View } from '../state';

const kAccept = ['audio/*', ...kAudioExtensions.map((e) => `.${e}`)].join(',');

/** Why a picked file cannot be mastered, checked at once (before any upload), or ''. */
export function fileProblem(f: File, maxBytes: number): string {
  const ext = f.name.toLowerCase().includes('.') ? (f.name.toLowerCase().split('.').pop() ?? '') : '';
  if (!kAudioExtensions.includes(ext) && !(f.type.startsWith('audio/') && ext === '')) {
    return `“${f.name}” is not an audio file we can master. Use WAV, FLAC, AIFF, MP3, Ogg, Opus or M4A (AAC or ALAC).`;
  }
  if (f.size === 0) return `“${f.name}” is empty.`;
  if (f.size > maxBytes) return `“${f.name}” is ${formatBytes(f.size)}, more than the ${formatBytes(maxBytes)} limit. Export a shorter file, or FLAC instead of WAV (about half the size).`;
  return '';
}

interface RadioOption {
  id: string;
  label: string;
  help: string;
}

/** A fieldset of radio cards; every option's help text is tied to it with aria-describedby. */
function radioGroup(legend: string, name: string, options: RadioOption[], checked: string): HTMLFieldSetElement {
  return h(
    'fieldset',
    { class: 'choices' },
    h('legend', {}, legend),
    options.map((o) => {
      const id = uid(name);
      return h(
        'div',
        { class: 'choice' },
        h('input', {
          type: 'radio',
          id,
          name,
          value: o.id,
          checked: o.id === checked,
          'aria-describedby': `${id}-help`,
        }),
        h('label', { for: id }, h('span', { class: 'choice-label' }, o.label), h('span', { class: 'hint', id: `${id}-help` }, o.help)),
      );
    }),
  );
}

function choiceOptions(items: Choice[], help: Record<string, string>): RadioOption[] {
  return items.map((c) => ({
    id: c.id,
    label: humanize(c.id),
    help: help[c.id] ?? c.description,
  }));
}

function selected(form: HTMLFormElement, name: string): string {
  const el = form.elements.namedItem(name);
  return el instanceof RadioNodeList || el instanceof HTMLSelectElement ? el.value : '';
}

function buildForm(catalog: Catalog): HTMLFormElement {
  let file: File | null = null;
  const maxBytes = catalog.limits?.max_upload_bytes ?? kDefaultMaxUploadBytes;
  const status = h('p', { class: 'status', role: 'status', 'aria-live': 'polite' });
  const error = h('div', { class: 'error', role: 'alert' });

  // --- file picker + drop zone ---
  const fileInput = h('input', { type: 'file', id: 'file', name: 'file', accept: kAccept, class: 'visually-hidden', 'aria-describedby': 'drop-help chosen' });
  const chosen = h('p', { class: 'chosen', id: 'chosen' }, 'No file chosen yet.');
  const dropZone = h(
    'div',
    { class: 'dropzone', id: 'dropzone' },
    h('p', { class: 'drop-title', id: 'drop-help' }, 'Drag and drop your mix here, or'),
    fileInput,
    h('label', { for: 'file', class: 'button' }, 'Choose an audio file…'),
    h('p', { class: 'hint', id: 'limits' }, `WAV, FLAC, AIFF, MP3, Ogg, Opus or M4A (AAC, ALAC); mono or stereo; up to ${formatBytes(maxBytes)}.`),
    chosen,
  );
  const choose = (f: File | null | undefined): void => {
    if (!f) return;
    const problem = fileProblem(f, maxBytes);
    if (problem) {
      file = null;
      chosen.textContent = 'No file chosen yet.';
      dropZone.classList.remove('has-file');
      error.textContent = problem;
      return;
    }
    file = f;
    chosen.textContent = `Chosen: ${f.name} (${formatBytes(f.size)})`;
    dropZone.classList.add('has-file');
    error.textContent = '';
  };
  fileInput.addEventListener('change', () => choose(fileInput.files?.[0]));
  dropZone.addEventListener('dragover', (e) => {
    e.preventDefault();
    if (e.dataTransfer) e.dataTransfer.dropEffect = 'copy';
    dropZone.classList.add('dragging');
  });
  dropZone.addEventListener('dragleave', () => dropZone.classList.remove('dragging'));
  dropZone.addEventListener('drop', (e) => {
    e.preventDefault();
    dropZone.classList.remove('dragging');
    choose(e.dataTransfer?.files?.[0]);
    fileInput.focus();
  });

  // --- settings ---
  const presetOptions: RadioOption[] = catalog.presets.map((p) => ({
    id: p.id,
    label: `${humanize(p.id)}: ${signed(p.target_lufs)} LUFS, peaks ≤ ${signed(p.ceiling_dbtp)} dBTP`,
    help: kPresetHelp[p.id] ?? p.description,
  }));
  presetOptions.push({
    id: 'custom',
    label: 'Custom target',
    help: 'Choose the loudness and the peak ceiling yourself.',
  });
  const defaultPreset = catalog.presets.some((p) => p.id === 'streaming') ? 'streaming' : (catalog.presets[0]?.id ?? 'custom');
  const presets = radioGroup('Where will it be played?', 'preset', presetOptions, defaultPreset);
  const customTarget = h('input', { type: 'number', id: 'target', name: 'target_lufs', min: -40, max: -5, step: 0.5, value: -14, inputmode: 'decimal' });
  const customCeiling = h('input', { type: 'number', id: 'ceiling', name: 'ceiling_dbtp', min: -9, max: 0, step: 0.1, value: -1, inputmode: 'decimal' });
  const custom = h(
    'div',
    { class: 'custom', hidden: true },
    h('div', { class: 'field' }, h('label', { for: 'target' }, 'Target loudness (LUFS)'), customTarget),
    h('div', { class: 'field' }, h('label', { for: 'ceiling' }, 'Peak ceiling (dBTP)'), customCeiling),
  );
  presets.appendChild(custom);
  presets.addEventListener('change', () => {
    custom.hidden = selected(form, 'preset') !== 'custom';
  });

  const styles = radioGroup('Tone', 'style', choiceOptions(catalog.styles, kStyleHelp), 'balanced');
  const intensities = radioGroup('Intensity', 'intensity', choiceOptions(catalog.intensities, kIntensityHelp), 'medium');

  const formatHelp = h('p', { class: 'hint', id: 'format-help', 'aria-live': 'polite' });
  const format = h(
    'select',
    { id: 'format', name: 'format', 'aria-describedby': 'format-help' },
    catalog.formats.map((f) => h('option', { value: f.id, selected: f.id === 'wav24' }, `${f.id.toUpperCase()} (.${f.extension})`)),
  );
  const showFormatHelp = (): void => {
    const f = catalog.formats.find((x) => x.id === format.value);
    formatHelp.textContent = (f && (kFormatHelp[f.id] ?? f.description)) || '';
  };
  format.addEventListener('change', showFormatHelp);
  showFormatHelp();

  const progress = h('progress', { id: 'upload-progress', max: 100, value: 0, 'aria-label': 'Upload progress' });
  const progressText = h('span', { class: 'progress-text' });
  const progressWrap = h('div', { class: 'progress-wrap', hidden: true }, h('label', { for: 'upload-progress' }, 'Uploading'), progress, progressText);
  const cancel = h('button', { type: 'button', class: 'secondary', hidden: true }, 'Cancel upload');
  const submit = h('button', { type: 'submit', class: 'primary' }, 'Upload and master');

  const form = h(
    'form',
    { class: 'upload', novalidate: true, 'aria-labelledby': 'view-title' },
    dropZone,
    h(
      'p',
      { class: 'privacy', id: 'privacy-note' },
      h('strong', {}, 'Privacy: '),
      'your original is deleted as soon as mastering finishes; the master is kept for 7 days so you can download it, then deleted too. You can delete both sooner at any time.',
    ),
    presets,
    styles,
    intensities,
    h('div', { class: 'field' }, h('label', { for: 'format' }, 'File format of the master'), format, formatHelp),
    h(
      'details',
      { class: 'explain' },
      h('summary', {}, 'What do LUFS and dBTP mean?'),
      h('p', {}, 'LUFS measures how loud a track feels over its whole length; −14 LUFS is louder than −23 LUFS. Streaming services turn everything to about the same loudness, so a track mastered louder than their level is simply turned down.'),
      h('p', {}, 'dBTP (true peak) is the highest point the waveform reaches, including between samples. Keeping it at or below −1 dBTP prevents distortion when the file is converted to MP3 or AAC.'),
    ),
    error,
    progressWrap,
    status,
    h('div', { class: 'actions' }, submit, cancel),
  );

  let aborter: AbortController | null = null;
  cancel.addEventListener('click', () => aborter?.abort());

  form.addEventListener('submit', (e) => {
    e.preventDefault();
    error.textContent = '';
    if (!file) {
      error.textContent = 'Please choose an audio file first.';
      fileInput.focus();
      return;
    }
    const preset = selected(form, 'preset');
    const job: Parameters<typeof api.createJob>[0] = {
      upload_id: '',
      style: selected(form, 'style'),
      intensity: selected(form, 'intensity'),
      format: format.value,
    };
    if (preset === 'custom') {
      const target = customTarget.valueAsNumber;
      const ceiling = customCeiling.valueAsNumber;
      if (!Number.isFinite(target) || !customTarget.checkValidity()) {
        error.textContent = 'Target loudness must be a number between −40 and −5 LUFS.';
        customTarget.focus();
        return;
      }
      if (!Number.isFinite(ceiling) || !customCeiling.checkValidity()) {
        error.textContent = 'Peak ceiling must be a number between −9 and 0 dBTP.';
        customCeiling.focus();
        return;
      }
      job.target_lufs = target;
      job.ceiling_dbtp = ceiling;
    } else {
      job.preset = preset;
    }

    const f = file;
    aborter = new AbortController();
    submit.disabled = true;
    cancel.hidden = false;
    progressWrap.hidden = false;
    progress.value = 0;
    let lastAnnounced = -1;
    status.textContent = `Uploading ${f.name}…`;
    const t0 = performance.now();
    uploadAndCreate(f, job, {
      signal: aborter.signal,
      onProgress: (fraction) => {
        const pct = Math.round(fraction * 100);
        progress.value = pct;
        const elapsed = (performance.now() - t0) / 1000;
        const left = fraction > 0.02 && elapsed > 1 ? Math.round((elapsed * (1 - fraction)) / fraction) : null;
        progressText.textContent = `${pct} %${left !== null && pct < 100 ? `, about ${left < 60 ? `${left} s` : `${Math.round(left / 60)} min`} left` : ''}`;
        // Announce in 25 % steps: every percent would flood a screen reader.
        const step = Math.floor(pct / 25);
        if (step !== lastAnnounced) {
          lastAnnounced = step;
          status.textContent = pct >= 100 ? 'Upload complete. Starting the mastering job…' : `Uploading ${f.name}: ${pct} %`;
        }
      },
      onWaiting: (err) => {
        status.textContent = `${plainError(err)} The upload starts again by itself when the connection is back.`;
      },
    })
      .then((created) => {
        cancel.hidden = true;
        state.localFiles.set(created.id, f);
        state.justCreated = created;
        navigate(`#/jobs/${encodeURIComponent(created.id)}`);
      })
      .catch((err: unknown) => {
        const e2 = err instanceof ApiError ? err : new ApiError(0, 'unknown', String(err));
        if (e2.status === 401) {
          sessionEnded();
          return;
        }
        error.textContent = e2.code === 'payload_too_large' ? `${plainError(e2)} The limit is ${formatBytes(maxBytes)}.` : plainError(e2);
        status.textContent = '';
        progressWrap.hidden = true;
        submit.disabled = false;
        submit.textContent = e2.code === 'aborted' ? 'Upload and master' : 'Try again';
        cancel.hidden = true;
        submit.focus();
      });
  });
  return form;
}

export function uploadView(): View {
  const body = h('div', { class: 'loading' }, h('p', { role: 'status' }, 'Loading the options…'));
  const root = h(
    'section',
    { class: 'view' },
    h('h1', { id: 'view-title', tabindex: -1 }, 'Master a track'),
    h('p', { class: 'lede' }, 'Upload a finished mix, pick where it will be played, and get a master at exactly the right loudness.'),
    body,
  );
  loadCatalog()
    .then((catalog) => body.replaceWith(buildForm(catalog)))
    .catch((err: unknown) => {
      body.replaceChildren(
        h('p', { class: 'error', role: 'alert' }, `Could not load the mastering options. ${plainError(err)}`),
      );
    });
  return { title: 'Master a track', root };
}
