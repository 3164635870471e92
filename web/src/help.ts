// Plain-language wording shown next to the server's own (more technical) descriptions.
import type { JobStatus } from './api';

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

export const kStatusHelp: Partial<Record<JobStatus, string>> = {
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

export function humanize(id: string): string {
  const text = id.replace(/[._]+/g, ' ').trim();
  return text.charAt(0).toUpperCase() + text.slice(1);
}
