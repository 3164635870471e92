// Pages for visitors: the landing page with a real before/after example, help, privacy, 404,
// and the "service unreachable" page. None needs the API except the example's static files.
import type { Job, MasterReport } from '../api';
import { AbPlayer, decode, drawSpectra, themeColor } from '../audio';
import { h, signed } from '../dom';
import { findings } from '../explain';
import { kFormatHelp, kIntensityHelp, kPresetHelp, kStyleHelp } from '../help';
import { state, type View } from '../state';

function heading(text: string): HTMLElement {
  return h('h1', { id: 'view-title', tabindex: -1 }, text);
}

/** The example, rendered by our engine (web/scripts/make-example.sh) and committed. */
function exampleSection(): HTMLElement {
  const status = h('p', { class: 'status', role: 'status', 'aria-live': 'polite' });
  const play = h('button', { type: 'button', class: 'primary', 'aria-describedby': 'example-help' }, 'Play the example');
  const sideA = h('input', { type: 'radio', name: 'ex-side', id: 'ex-original', value: 'original' });
  const sideB = h('input', { type: 'radio', name: 'ex-side', id: 'ex-master', value: 'master', checked: true });
  const numbers = h('ul', { class: 'example-numbers' });
  const done = h('ul', { class: 'findings' });
  const canvas = h('canvas', { class: 'spectrum', role: 'img', 'aria-label': 'Spectrum of the example before (dashed, level-matched) and after mastering (solid)' });
  const section = h(
    'section',
    { class: 'panel example', 'aria-labelledby': 'example-title' },
    h('h2', { id: 'example-title' }, 'Hear it: one mix, before and after'),
    h('p', { class: 'hint', id: 'example-help' }, 'An 8-second demo groove, mastered by our engine with the Streaming preset. Both play at the same loudness, so you hear the change in tone and punch, not just volume. Switch while it plays.'),
    h(
      'div',
      { class: 'player', 'data-state': 'idle' },
      h('fieldset', { class: 'ab' }, h('legend', {}, 'Listen to'), h('div', { class: 'choice inline' }, sideA, h('label', { for: 'ex-original' }, 'Before (A)')), h('div', { class: 'choice inline' }, sideB, h('label', { for: 'ex-master' }, 'After (B)'))),
      h('div', { class: 'transport' }, play),
    ),
    status,
    numbers,
    canvas,
    h('h3', {}, 'What the engine did'),
    done,
  );
  let ab: AbPlayer | null = null;
  let report: MasterReport | null = null;
  fetch('/example/report.json')
    .then((r) => (r.ok ? (r.json() as Promise<MasterReport>) : Promise.reject(new Error(String(r.status)))))
    .then((rep) => {
      report = rep;
      const b = rep.before ?? {};
      const a = rep.after ?? {};
      numbers.replaceChildren(
        h('li', {}, h('strong', {}, 'Loudness '), `${signed(b.integrated_lufs)} → ${signed(a.integrated_lufs)} LUFS`),
        h('li', {}, h('strong', {}, 'Peaks '), `${signed(b.true_peak_dbtp)} → ${signed(a.true_peak_dbtp)} dBTP`),
        h('li', {}, h('strong', {}, 'Loudness range '), `${signed(b.loudness_range_lu)} → ${signed(a.loudness_range_lu)} LU`),
      );
      const job = { id: 'example', status: 'done', settings: { target_lufs: rep.intent?.target_lufs, ceiling_dbtp: rep.intent?.ceiling_dbtp } } as Job;
      done.replaceChildren(...findings(job, rep).map((f) => h('li', { class: `finding finding-${f.kind}` }, h('p', {}, f.text))));
      const match = (a.integrated_lufs ?? 0) - (b.integrated_lufs ?? 0);
      if (b.spectrum && a.spectrum)
        requestAnimationFrame(() =>
          drawSpectra(canvas, [
            { label: 'Before', color: themeColor('--original', '#8a4b00'), dash: [6, 4], spectrum: b.spectrum!, offsetDb: match },
            { label: 'After', color: themeColor('--master', '#0b4f9c'), dash: [], spectrum: a.spectrum! },
          ]),
        );
    })
    .catch(() => (status.textContent = 'The example could not be loaded.'));
  const player = section.querySelector('.player') as HTMLElement;
  const refresh = (): void => {
    if (!ab) return;
    play.textContent = ab.playing ? 'Pause' : 'Play the example';
    player.dataset.state = ab.playing ? 'playing' : 'paused';
    player.dataset.side = ab.side;
  };
  play.addEventListener('click', () => {
    if (ab) {
      if (ab.playing) ab.pause();
      else void ab.play();
      return;
    }
    play.disabled = true;
    status.textContent = 'Loading the example…';
    const get = (u: string): Promise<AudioBuffer> => fetch(u).then((r) => r.arrayBuffer()).then(decode);
    Promise.all([get('/example/master.ogg'), get('/example/original.ogg')])
      .then(([m, o]) => {
        const b = report?.before;
        const a = report?.after;
        ab = new AbPlayer(m, o, b && a && typeof b.integrated_lufs === 'number' && typeof a.integrated_lufs === 'number' ? { beforeLufs: b.integrated_lufs, afterLufs: a.integrated_lufs, beforeTruePeakDbtp: b.true_peak_dbtp ?? 0 } : null, refresh);
        ab.setSide(sideA.checked ? 'original' : 'master');
        status.textContent = '';
        play.disabled = false;
        return ab.play();
      })
      .catch(() => {
        play.disabled = false;
        status.textContent = 'This browser could not play the example (it is Ogg Vorbis).';
      });
  });
  for (const r of [sideA, sideB]) r.addEventListener('change', () => r.checked && ab?.setSide(r.value as 'master' | 'original'));
  return section;
}

export function landingView(): View {
  const signedIn = state.user !== null;
  const cta = signedIn ? h('a', { href: '#/new', class: 'button primary big' }, 'Master a track') : h('a', { href: '#/signup', class: 'button primary big' }, 'Create a free account');
  const root = h(
    'section',
    { class: 'view landing' },
    h(
      'div',
      { class: 'hero' },
      heading('Your mix, mastered to the exact loudness of every platform'),
      h('p', { class: 'lede' }, 'Upload a finished mix; get back a master that hits the Spotify, Apple Music, YouTube, podcast or broadcast level to a tenth of a decibel, never clips, and comes with a plain account of what was changed and why.'),
      h('div', { class: 'actions' }, cta, signedIn ? null : h('a', { href: '#/signin', class: 'button secondary big' }, 'Sign in')),
    ),
    exampleSection(),
    h(
      'section',
      { class: 'features', 'aria-label': 'What you get' },
      h('div', { class: 'feature' }, h('h2', {}, 'Exactly on target'), h('p', {}, 'Every master is measured after rendering (ITU-R BS.1770) and corrected until it is within 0.1 LU of the target, with true peaks below the ceiling.')),
      h('div', { class: 'feature' }, h('h2', {}, 'An honest A/B'), h('p', {}, 'Compare your original and the master at the same loudness, at the same spot, with one key. Louder always sounds better; we take that trick away.')),
      h('div', { class: 'feature' }, h('h2', {}, 'Your files stay yours'), h('p', {}, 'Your original is deleted as soon as mastering finishes; the master after 7 days, or the moment you delete it.')),
    ),
    h('p', {}, 'Questions? Read ', h('a', { href: '#/help' }, 'the help pages'), ' or the ', h('a', { href: '#/privacy' }, 'privacy policy'), '.'),
  );
  return { title: 'Online mastering, exactly on target', root };
}

const kHelpTopics: { id: string; title: string; body: () => (HTMLElement | string)[] }[] = [
  {
    id: 'presets',
    title: 'Presets: where will it be played?',
    body: () => [
      h('p', {}, 'A preset sets the loudness target (LUFS) and the peak ceiling (dBTP). Pick the place your track will mostly be heard:'),
      h('dl', {}, Object.entries(kPresetHelp).flatMap(([k, v]) => [h('dt', {}, k.charAt(0).toUpperCase() + k.slice(1)), h('dd', {}, v)])),
      h('p', {}, 'Custom lets you type both numbers yourself.'),
    ],
  },
  {
    id: 'styles',
    title: 'Tone and intensity',
    body: () => [
      h('h2', {}, 'Tone'),
      h('dl', {}, Object.entries(kStyleHelp).flatMap(([k, v]) => [h('dt', {}, k.charAt(0).toUpperCase() + k.slice(1)), h('dd', {}, v)])),
      h('h2', {}, 'Intensity'),
      h('dl', {}, Object.entries(kIntensityHelp).flatMap(([k, v]) => [h('dt', {}, k.charAt(0).toUpperCase() + k.slice(1)), h('dd', {}, v)])),
    ],
  },
  {
    id: 'formats',
    title: 'File formats',
    body: () => [
      h('p', {}, 'You can upload WAV, FLAC, AIFF, MP3, Ogg Vorbis, Opus and M4A (AAC or Apple Lossless), mono or stereo. Lossless files (WAV, FLAC, AIFF, ALAC) give the best result: a lossy file’s artefacts are mastered too.'),
      h('p', {}, 'The master can be delivered as:'),
      h('dl', {}, Object.entries(kFormatHelp).flatMap(([k, v]) => [h('dt', {}, k.toUpperCase()), h('dd', {}, v)])),
    ],
  },
  {
    id: 'loudness',
    title: 'Loudness, LUFS and true peak',
    body: () => [
      h('p', {}, 'LUFS measures how loud a track feels over its whole length (ITU-R BS.1770, the method every streaming service uses). −14 LUFS is louder than −23 LUFS.'),
      h('p', {}, 'Streaming services turn every track to about the same loudness. A master louder than their level is simply turned down, and only loses punch on the way; that is why the Streaming preset aims at −14 LUFS.'),
      h('p', {}, 'dBTP (true peak) is the highest point of the waveform, including between the samples, where a converter or an MP3 encoder can overshoot. Keeping it at or below −1 dBTP avoids distortion after encoding.'),
      h('p', {}, 'Loudness range (LU) tells how much the loud and quiet passages differ: a ballad may have 8 LU or more, a dense club track 3 to 5.'),
    ],
  },
  {
    id: 'report',
    title: 'What the result page means',
    body: () => [
      h('p', {}, 'Worth knowing about your mix lists problems found in your file, first: clipping, a limiter already on the mix, a lossy source, or phase trouble (left and right partly cancelling, so the mix gets thin in mono).'),
      h('p', {}, 'What we did says, in words, how the loudness, tone, dynamics, stereo image and peaks were changed. Open “The numbers” under any line for the measurement behind it.'),
      h('p', {}, 'The table shows loudness, true peak and loudness range before and after. The tonal balance chart draws both spectra at the same loudness, so the curves differ only where the tone changed.'),
      h('p', {}, 'Compare: A/B plays the original (only while this tab still holds your file) and the master in sync at the same loudness. Click a waveform to jump, drag to loop a passage; A, B or T switch sides, Space plays and pauses.'),
    ],
  },
];

export function helpView(topic: string | null): View {
  const t = kHelpTopics.find((x) => x.id === topic);
  const nav = h('nav', { class: 'help-nav', 'aria-label': 'Help topics' }, h('ul', {}, kHelpTopics.map((x) => h('li', {}, h('a', { href: `#/help/${x.id}`, 'aria-current': x.id === topic ? 'page' : undefined }, x.title)))));
  if (!t) {
    return { title: 'Help', root: h('section', { class: 'view help' }, heading('Help'), h('p', { class: 'lede' }, 'How QuackTracks works, in plain words.'), nav) };
  }
  return { title: t.title, root: h('section', { class: 'view help' }, heading(t.title), ...t.body(), h('h2', {}, 'More help'), nav) };
}

export function privacyView(): View {
  const body = h('div', { class: 'legal' }, h('p', { role: 'status' }, 'Loading…'));
  fetch('/legal/privacy-policy.txt')
    .then((r) => (r.ok ? r.text() : Promise.reject(new Error(String(r.status)))))
    .then((text) => {
      const nodes: HTMLElement[] = [];
      let list: HTMLUListElement | null = null;
      const lines = text.split(/\r?\n/).map((l) => l.trim()).filter(Boolean);
      lines.slice(1).forEach((line) => {
        if (line.startsWith('- ')) {
          list ??= h('ul', {});
          list.appendChild(h('li', {}, line.slice(2)));
          return;
        }
        if (list) nodes.push(list);
        list = null;
        if (/^\d+\.\s/.test(line)) nodes.push(h('h2', {}, line));
        else nodes.push(h('p', {}, line));
      });
      if (list) nodes.push(list);
      body.replaceChildren(...nodes);
    })
    .catch(() => body.replaceChildren(h('p', { class: 'error', role: 'alert' }, 'The privacy policy could not be loaded. Please try again.')));
  return { title: 'Privacy policy', root: h('section', { class: 'view' }, heading('Privacy policy'), body) };
}

export function notFoundView(): View {
  return {
    title: 'Page not found',
    root: h(
      'section',
      { class: 'view' },
      heading('Page not found'),
      h('p', { class: 'lede' }, 'There is no page at this address. It may have moved, or the link has a typo.'),
      h('ul', {}, h('li', {}, h('a', { href: '#/' }, 'Home')), h('li', {}, h('a', { href: '#/help' }, 'Help')), state.user ? h('li', {}, h('a', { href: '#/jobs' }, 'My jobs')) : h('li', {}, h('a', { href: '#/signin' }, 'Sign in'))),
    ),
  };
}

export function unreachableView(detail: string, retry: () => void): View {
  const button = h('button', { type: 'button', class: 'primary' }, 'Try again');
  button.addEventListener('click', () => {
    button.disabled = true;
    retry();
  });
  return {
    title: 'QuackTracks is not reachable',
    root: h(
      'section',
      { class: 'view' },
      heading('QuackTracks is not reachable right now'),
      h('p', { class: 'error', role: 'alert' }, detail),
      h('p', {}, 'Your jobs and files are safe on the server. Check your connection, or try again in a minute.'),
      h('div', { class: 'actions' }, button, h('a', { href: '#/help' }, 'Read the help meanwhile')),
    ),
  };
}
