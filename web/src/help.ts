// Plain-language wording shown next to the server's own (more technical) descriptions.
import type { Decision, JobStatus } from './api';
import { signed } from './dom';

export const kPresetHelp: Record<string, string> = {
  streaming:
    'For Spotify, Apple Music, YouTube and Tidal. They turn louder songs down to about this level anyway, so going louder only costs dynamics.',
  loud: 'As loud as club and EDM releases. Punchy, but the limiter works harder and quiet details get squeezed.',
  podcast: 'For speech, podcasts and audiobooks: clear and comfortable on headphones and phones.',
  broadcast: 'The European TV and radio standard (EBU R128). Quiet on purpose, with plenty of headroom.',
};

export const kStyleHelp: Record<string, string> = {
  balanced: 'Neutral: nudges the tone toward professionally mastered music without a flavour.',
  warm: 'A little more low end and softer highs. Good for acoustic, jazz or harsh-sounding mixes.',
  bright: 'A little more sparkle and air. Good for dull or muddy mixes.',
};

export const kIntensityHelp: Record<string, string> = {
  low: 'Gentle: keeps the most dynamics; the loudness target is still met.',
  medium: 'The usual choice: clear and even without sounding squashed.',
  high: 'Dense and powerful: more compression and faster limiting.',
};

export const kFormatHelp: Record<string, string> = {
  wav16: 'CD quality WAV. Works everywhere.',
  wav24: 'Studio WAV with more resolution. Best for distributors and further work.',
  wav32f: '32-bit floating-point WAV, for editing in a DAW. Large files.',
  flac16: 'Lossless and about half the size of WAV, CD quality.',
  flac24: 'Lossless and smaller than WAV, studio resolution.',
  mp3: 'Small and universal, but lossy: fine for sharing, not for distributors.',
};

export const kStatusHelp: Record<JobStatus, string> = {
  queued: 'Waiting for a free mastering engine.',
  processing: 'Mastering now.',
  done: 'Ready to download.',
  failed: 'Could not be mastered.',
  expired: 'The download period ended and the master was deleted.',
  deleted: 'You deleted the files.',
};

export const kStageNames: Record<string, string> = {
  queued: 'Waiting in line',
  fetch: 'Fetching your upload',
  download: 'Fetching your upload',
  decode: 'Reading your file',
  analyze: 'Listening to your mix',
  analysis: 'Listening to your mix',
  process: 'Shaping tone and dynamics',
  loudness_loop: 'Hitting the loudness target',
  render: 'Writing the master',
  render_and_verify: 'Writing and checking the master',
  verify: 'Checking the master',
  encode: 'Encoding the file',
  upload: 'Saving the master',
  store: 'Saving the master',
  done: 'Finished',
};

export function stageName(stage: string | null | undefined): string {
  if (!stage) return 'Working';
  return kStageNames[stage] ?? humanize(stage);
}

const kDecisionTitles: Record<string, string> = {
  mode: 'Approach',
  'limiter.ceiling_dbtp': 'Peak limiter ceiling',
  'limiter.release_ms': 'Limiter release',
  'subsonic.cutoff_hz': 'Rumble filter',
  'eq.curve': 'Tonal balance (EQ)',
  'multiband.active': 'Multiband compression',
  'stereo.low_width': 'Bass stereo width',
  'stereo.high_width': 'Treble stereo width',
  'output.ceiling_dbtp': 'Output peak ceiling',
};

export function humanize(id: string): string {
  const text = id.replace(/[._]+/g, ' ').trim();
  return text.charAt(0).toUpperCase() + text.slice(1);
}

export function decisionTitle(d: Decision): string {
  // Unknown names lose their unit suffix ("x.cutoff_hz" -> "X cutoff"): the value shows it.
  return kDecisionTitles[d.name] ?? humanize(d.name.replace(/_(dbtp|db|ms|hz|lufs|lu)$/, ''));
}

/** A short human rendering of a decision's value, with units taken from the name's suffix. */
export function decisionValue(d: Decision): string {
  const v = d.value;
  if (typeof v === 'boolean') return v ? 'on' : 'off';
  if (typeof v === 'string') return humanize(v);
  if (typeof v === 'number') {
    if (d.name.endsWith('_dbtp')) return `${signed(v, 1)} dBTP`;
    if (d.name.endsWith('_db')) return `${signed(v, 1, true)} dB`;
    if (d.name.endsWith('_ms')) return `${v.toFixed(0)} ms`;
    if (d.name.endsWith('_hz')) return `${v.toFixed(0)} Hz`;
    if (d.name.endsWith('_lufs')) return `${signed(v, 1)} LUFS`;
    if (d.name.includes('width')) return `${Math.round(v * 100)} %`;
    return String(Number(v.toFixed(2)));
  }
  if (Array.isArray(v)) {
    const gains = v
      .map((p) => (p as { gain_db?: unknown }).gain_db)
      .filter((g): g is number => typeof g === 'number');
    if (gains.length > 0) {
      const lo = Math.min(...gains);
      const hi = Math.max(...gains);
      return `${gains.length} bands, ${signed(lo, 1, true)} to ${signed(hi, 1, true)} dB`;
    }
    return `${v.length} values`;
  }
  return '';
}

/** Warnings may be plain strings or {code, message} objects. */
export function warningText(w: unknown): string {
  if (typeof w === 'string') return w;
  if (w && typeof w === 'object') {
    const o = w as { message?: unknown; code?: unknown };
    if (typeof o.message === 'string') return o.message;
    if (typeof o.code === 'string') return humanize(o.code);
  }
  return JSON.stringify(w);
}

/** Friendlier text for the error codes a user can act on. */
export function errorAdvice(code: string): string {
  const advice: Record<string, string> = {
    corrupt_file: 'The file seems damaged. Export it again from your audio software and retry.',
    unsupported_format: 'This file type is not supported. WAV, FLAC, MP3, Ogg or AIFF work.',
    payload_too_large: 'The file is larger than the upload limit.',
    rate_limited: 'Too many attempts. Please wait a minute and try again.',
    unauthorized: 'Please sign in again.',
    quota_exceeded: 'You have used this period’s mastering allowance.',
  };
  return advice[code] ?? '';
}
