// Decoding, waveform and spectrum drawing, and the loudness-matched A/B player (Web Audio).
// Drawn on <canvas> by hand rather than with wavesurfer.js: wavesurfer v7 injects a <style>
// element, which the service's Content-Security-Policy (default-src 'self') blocks, and min/max
// per pixel column is all a static overview needs.
import type { Spectrum } from './api';
import { formatDuration } from './dom';

/** Files above this are not decoded for preview: a decoded 32-bit float copy is ~4x a 16-bit WAV. */
export const kMaxPreviewBytes = 300 * 1024 * 1024;

let sharedContext: AudioContext | null = null;
/** One AudioContext for the page; it starts suspended until a user gesture resumes it. */
export function audioContext(): AudioContext {
  sharedContext ??= new AudioContext();
  return sharedContext;
}

export async function decode(bytes: ArrayBuffer): Promise<AudioBuffer> {
  return audioContext().decodeAudioData(bytes);
}

/** Device pixels for a canvas at its CSS size, so lines stay sharp on phones. */
function fitCanvas(canvas: HTMLCanvasElement): { ctx: CanvasRenderingContext2D; w: number; h: number } {
  const ratio = window.devicePixelRatio || 1;
  const rect = canvas.getBoundingClientRect();
  const w = Math.max(1, Math.round((rect.width || 600) * ratio));
  const h = Math.max(1, Math.round((rect.height || 120) * ratio));
  canvas.width = w;
  canvas.height = h;
  const ctx = canvas.getContext('2d');
  if (!ctx) throw new Error('2D canvas unavailable');
  return { ctx, w, h };
}

/** Min/max envelope of all channels, one pair per column. */
export function envelope(buffer: AudioBuffer, columns: number): { min: Float32Array; max: Float32Array } {
  const min = new Float32Array(columns);
  const max = new Float32Array(columns);
  const frames = buffer.length;
  for (let ch = 0; ch < buffer.numberOfChannels; ch++) {
    const data = buffer.getChannelData(ch);
    for (let c = 0; c < columns; c++) {
      const start = Math.floor((c * frames) / columns);
      const end = Math.max(start + 1, Math.floor(((c + 1) * frames) / columns));
      let lo = min[c] ?? 0;
      let hi = max[c] ?? 0;
      for (let i = start; i < end && i < frames; i++) {
        const s = data[i] ?? 0;
        if (s < lo) lo = s;
        if (s > hi) hi = s;
      }
      min[c] = lo;
      max[c] = hi;
    }
  }
  return { min, max };
}

export function drawWaveform(canvas: HTMLCanvasElement, buffer: AudioBuffer, color: string): void {
  const { ctx, w, h } = fitCanvas(canvas);
  const { min, max } = envelope(buffer, w);
  ctx.clearRect(0, 0, w, h);
  ctx.fillStyle = themeColor('--canvas', '#f3f5f8');
  ctx.fillRect(0, 0, w, h);
  // Centre line.
  ctx.strokeStyle = themeColor('--grid', '#c9ced6');
  ctx.lineWidth = 1;
  ctx.beginPath();
  ctx.moveTo(0, h / 2);
  ctx.lineTo(w, h / 2);
  ctx.stroke();
  ctx.fillStyle = color;
  const mid = h / 2;
  const scale = (h / 2) * 0.95;
  for (let x = 0; x < w; x++) {
    const top = mid - Math.min(1, max[x] ?? 0) * scale;
    const bottom = mid - Math.max(-1, min[x] ?? 0) * scale;
    ctx.fillRect(x, top, 1, Math.max(1, bottom - top));
  }
}

export interface SpectrumSeries {
  label: string;
  color: string;
  dash: number[];
  spectrum: Spectrum;
  /** Added to every band: the level match, so the curves differ by tone, not by loudness. */
  offsetDb?: number;
}

/** Canvas colours from the page's CSS variables, so the drawings follow dark mode. */
export function themeColor(name: string, fallback: string): string {
  const v = getComputedStyle(document.documentElement).getPropertyValue(name).trim();
  return v || fallback;
}

/** Third-octave levels on a log-frequency axis, 20 Hz to 20 kHz. */
export function drawSpectra(canvas: HTMLCanvasElement, series: SpectrumSeries[]): void {
  const { ctx, w, h } = fitCanvas(canvas);
  const ratio = window.devicePixelRatio || 1;
  const padL = 44 * ratio;
  const padB = 22 * ratio;
  const padT = 8 * ratio;
  const padR = 8 * ratio;
  const level = (s: SpectrumSeries, i: number): number => (s.spectrum.level_dbfs[i] ?? NaN) + (s.offsetDb ?? 0);
  const levels = series.flatMap((s) => s.spectrum.level_dbfs.map((_, i) => level(s, i))).filter((v) => Number.isFinite(v));
  // Show 60 dB below the loudest band, in 10 dB steps: deeper than that is inaudible detail
  // next to the music and would flatten the curves.
  const top = Math.ceil((levels.length ? Math.max(...levels) : 0) / 10) * 10;
  const bottom = top - 60;
  const fLo = Math.log10(20);
  const fHi = Math.log10(20000);
  const xOf = (hz: number): number =>
    padL + ((Math.log10(Math.max(20, Math.min(20000, hz))) - fLo) / (fHi - fLo)) * (w - padL - padR);
  const yOf = (db: number): number =>
    padT + ((top - Math.max(bottom, Math.min(top, db))) / (top - bottom)) * (h - padT - padB);

  ctx.clearRect(0, 0, w, h);
  ctx.fillStyle = themeColor('--canvas', '#ffffff');
  ctx.fillRect(0, 0, w, h);
  ctx.font = `${11 * ratio}px system-ui, sans-serif`;
  ctx.fillStyle = themeColor('--muted', '#3d4450');
  ctx.strokeStyle = themeColor('--grid', '#e1e5ea');
  ctx.lineWidth = 1;
  for (let db = bottom; db <= top; db += 10) {
    const y = yOf(db);
    ctx.beginPath();
    ctx.moveTo(padL, y);
    ctx.lineTo(w - padR, y);
    ctx.stroke();
    ctx.textAlign = 'right';
    ctx.textBaseline = 'middle';
    ctx.fillText(`${db}`, padL - 4 * ratio, y);
  }
  for (const hz of [50, 100, 200, 500, 1000, 2000, 5000, 10000]) {
    const x = xOf(hz);
    ctx.beginPath();
    ctx.moveTo(x, padT);
    ctx.lineTo(x, h - padB);
    ctx.stroke();
    ctx.textAlign = 'center';
    ctx.textBaseline = 'top';
    ctx.fillText(hz >= 1000 ? `${hz / 1000}k` : `${hz}`, x, h - padB + 4 * ratio);
  }
  for (const s of series) {
    ctx.strokeStyle = s.color;
    ctx.lineWidth = 2.5 * ratio;
    ctx.setLineDash(s.dash.map((d) => d * ratio));
    ctx.beginPath();
    s.spectrum.center_hz.forEach((hz, i) => {
      const x = xOf(hz);
      const v = level(s, i);
      const y = yOf(Number.isFinite(v) ? v : bottom);
      if (i === 0) ctx.moveTo(x, y);
      else ctx.lineTo(x, y);
    });
    ctx.stroke();
  }
  ctx.setLineDash([]);
}

export type AbSide = 'master' | 'original';

/** A loop region in seconds; end > start. */
export interface LoopRegion {
  start: number;
  end: number;
}

/**
 * Plays the master and the user's original in sync and switches between them instantly at the
 * same position (both sources always run; only their gains change, with a 10 ms ramp). The
 * original gets (after - before) dB of gain, so both are equally loud (integrated loudness,
 * ITU-R BS.1770) and the comparison is about tone and dynamics, not level. If that gain would
 * push the original's true peak over 0 dBFS, both are turned down by the excess, which keeps the
 * match while avoiding clipping in the output. Seeking restarts both sources at the new offset;
 * a loop region makes both loop over it (else the whole track loops).
 */
export class AbPlayer {
  private sources: AudioBufferSourceNode[] = [];
  private readonly gainMaster: GainNode;
  private readonly gainOriginal: GainNode | null;
  private startedAtS = 0; // context time when playback started at startOffsetS
  private startOffsetS = 0;
  private offsetS = 0; // position while paused
  private timer: number | undefined;
  side: AbSide = 'master';
  playing = false;
  loop: LoopRegion | null = null;
  readonly matchGainDb: number;
  readonly headroomDb: number;

  constructor(
    private readonly master: AudioBuffer,
    private readonly original: AudioBuffer | null,
    loudness: { beforeLufs: number; afterLufs: number; beforeTruePeakDbtp: number } | null,
    private readonly onChange: () => void,
  ) {
    const ctx = audioContext();
    this.matchGainDb = loudness ? loudness.afterLufs - loudness.beforeLufs : 0;
    this.headroomDb =
      loudness && original ? Math.max(0, loudness.beforeTruePeakDbtp + this.matchGainDb) : 0;
    const common = Math.pow(10, -this.headroomDb / 20);
    this.gainMaster = ctx.createGain();
    this.gainMaster.connect(ctx.destination);
    this.gainMaster.gain.value = common;
    this.gainOriginal = original ? ctx.createGain() : null;
    if (this.gainOriginal) {
      this.gainOriginal.connect(ctx.destination);
      this.gainOriginal.gain.value = 0;
    }
  }

  get duration(): number {
    return this.master.duration;
  }

  private region(): LoopRegion {
    return this.loop ?? { start: 0, end: this.duration };
  }

  get position(): number {
    if (!this.playing) return this.offsetS;
    const p = this.startOffsetS + Math.max(0, audioContext().currentTime - this.startedAtS);
    const { start, end } = this.region();
    if (p < end || end <= start) return Math.min(p, this.duration);
    return start + ((p - start) % (end - start));
  }

  positionText(): string {
    return `${formatDuration(this.position)} / ${formatDuration(this.duration)}`;
  }

  private levels(side: AbSide): { master: number; original: number } {
    const common = Math.pow(10, -this.headroomDb / 20);
    const match = Math.pow(10, this.matchGainDb / 20);
    return side === 'master' || !this.original
      ? { master: common, original: 0 }
      : { master: 0, original: common * match };
  }

  setSide(side: AbSide): void {
    if (side === 'original' && !this.original) return;
    this.side = side;
    const ctx = audioContext();
    const { master, original } = this.levels(side);
    // 10 ms time constant: quick enough to feel instant, slow enough not to click.
    this.gainMaster.gain.setTargetAtTime(master, ctx.currentTime, 0.01);
    this.gainOriginal?.gain.setTargetAtTime(original, ctx.currentTime, 0.01);
    this.onChange();
  }

  toggleSide(): void {
    this.setSide(this.side === 'master' ? 'original' : 'master');
  }

  /** Moves both sides to `seconds` (clamped into the loop region when one is set). */
  seek(seconds: number): void {
    const { start, end } = this.region();
    const t = Math.max(0, Math.min(this.duration, seconds));
    const inside = this.loop ? (t >= start && t < end ? t : start) : t >= this.duration ? 0 : t;
    if (this.playing) {
      this.stopSources();
      this.offsetS = inside;
      void this.play();
    } else {
      this.offsetS = inside;
      this.onChange();
    }
  }

  setLoop(region: LoopRegion | null): void {
    // 0.25 s: shorter regions are almost always a slipped click, not an intended loop.
    this.loop = region && region.end - region.start >= 0.25 ? region : null;
    const here = this.position;
    this.seek(this.loop ? this.loop.start : here);
  }

  async play(): Promise<void> {
    if (this.playing) return;
    const ctx = audioContext();
    await ctx.resume();
    const { master, original } = this.levels(this.side);
    this.gainMaster.gain.value = master;
    if (this.gainOriginal) this.gainOriginal.gain.value = original;
    const when = ctx.currentTime + 0.03;
    const { start, end } = this.region();
    const offset = this.offsetS >= start && this.offsetS < end ? this.offsetS : start;
    const pairs: [AudioBuffer, GainNode][] = [[this.master, this.gainMaster]];
    if (this.original && this.gainOriginal) pairs.push([this.original, this.gainOriginal]);
    this.sources = pairs.map(([buffer, gain]) => {
      const src = ctx.createBufferSource();
      src.buffer = buffer;
      // A/B listening goes round and round the same passage; stopping at the end only
      // interrupts it. Both loop over the same region of the master's timeline.
      src.loop = true;
      src.loopStart = start;
      src.loopEnd = Math.min(end, buffer.duration);
      src.connect(gain);
      src.start(when, Math.min(offset, buffer.duration));
      return src;
    });
    this.startedAtS = when;
    this.startOffsetS = offset;
    this.playing = true;
    this.timer = window.setInterval(() => this.onChange(), 100);
    this.onChange();
  }

  pause(): void {
    if (!this.playing) return;
    this.offsetS = this.position;
    this.stopSources();
    this.onChange();
  }

  private stopSources(): void {
    for (const src of this.sources) {
      try {
        src.stop();
      } catch {
        // Already stopped.
      }
      src.disconnect();
    }
    this.sources = [];
    this.playing = false;
    if (this.timer !== undefined) window.clearInterval(this.timer);
    this.timer = undefined;
  }

  dispose(): void {
    this.stopSources();
    this.gainMaster.disconnect();
    this.gainOriginal?.disconnect();
  }
}
