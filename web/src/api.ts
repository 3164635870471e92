// Client for the HTTP API v1 (docs/api.md). Every request is same-origin with the session
// cookie; bodies are JSON so the server's CSRF rule (Content-Type + Origin) is met.

export interface User {
  id: string;
  email: string;
  name: string;
  created_at: string;
}

export type JobStatus = 'queued' | 'processing' | 'done' | 'failed' | 'expired' | 'deleted';

export interface Spectrum {
  center_hz: number[];
  level_dbfs: number[];
}

/**
 * One side (before or after) of a quacktracks.master.v1 report; only the fields we draw. Any
 * number may be null (the loudness of silence is undefined) and any field may be missing (older
 * reports): every reader must cope, so one odd job cannot break a page.
 */
export interface Measurement {
  integrated_lufs?: number | null;
  true_peak_dbtp?: number | null;
  loudness_range_lu?: number | null;
  sample_peak_dbfs?: number | null;
  plr_db?: number | null;
  correlation?: number | null;
  width_side_to_mid?: number | null;
  duration_s?: number | null;
  sample_rate_hz?: number | null;
  channels?: number | null;
  clipping?: { clip_runs?: number | null; clipped_samples?: number | null } | null;
  band_stereo?: { low_hz?: number | null; high_hz?: number | null; correlation?: number | null }[] | null;
  spectrum?: Spectrum | null;
}

export interface Decision {
  name: string;
  reason: string;
  value: unknown;
}

export interface MultibandBand {
  low_hz?: number | null;
  high_hz?: number | null;
  ratio?: number | null;
  threshold_db?: number | null;
  max_gain_reduction_db?: number | null;
  mean_gain_reduction_db?: number | null;
}

export interface MasterReport {
  schema?: string;
  before?: Measurement | null;
  after?: Measurement | null;
  decisions?: Decision[] | null;
  warnings?: unknown[] | null;
  intent?: { target_lufs?: number | null; ceiling_dbtp?: number | null; preset?: string | null } | null;
  input?: { format?: { lossy?: boolean | null; container?: string | null; encoding?: string | null } | null } | null;
  limiter?: {
    max_gain_reduction_db?: number | null;
    mean_gain_reduction_db?: number | null;
    frames_limited_percent?: number | null;
    /** Not sent yet: a gain-reduction envelope would feed the player's limiter lane. */
    gain_reduction_db?: number[] | null;
    gain_reduction_hop_s?: number | null;
  } | null;
  multiband?: { active?: boolean | null; bands?: MultibandBand[] | null } | null;
  loudness_loop?: { processed_lufs_before_limiter?: number | null; renders?: { drive_db?: number | null }[] | null } | null;
}

export interface JobSettings {
  preset?: string | null;
  target_lufs?: number | null;
  ceiling_dbtp?: number | null;
  style?: string | null;
  intensity?: string | null;
  format?: string | null;
}

export interface Job {
  id: string;
  status: JobStatus;
  progress?: number | null;
  stage?: string | null;
  original_filename?: string | null;
  settings?: JobSettings | null;
  created_at?: string | null;
  started_at?: string | null;
  finished_at?: string | null;
  download?: { url: string; expires_at: string } | null;
  download_expires_at?: string | null;
  deleted_at?: string | null;
  report?: MasterReport | null;
  error?: { code?: string | null; message?: string | null } | null;
  usage?: { audio_seconds?: number | null; input_bytes?: number | null } | null;
}

export interface PresetInfo {
  id: string;
  target_lufs: number;
  ceiling_dbtp: number;
  description: string;
}
export interface Choice {
  id: string;
  description: string;
}
export interface FormatInfo extends Choice {
  extension: string;
}
export interface Catalog {
  presets: PresetInfo[];
  styles: Choice[];
  intensities: Choice[];
  formats: FormatInfo[];
  /** Not sent yet by the server; the app falls back to the documented defaults below. */
  limits?: { max_upload_bytes?: number | null } | null;
}

/** docs/api.md: uploads up to max_upload_bytes, 2 GiB by default. */
export const kDefaultMaxUploadBytes = 2 * 1024 * 1024 * 1024;

export interface UploadSlot {
  upload_id: string;
  url: string;
  method: string;
  headers: Record<string, string>;
  expires_at: string;
}

export interface NewJob {
  upload_id: string;
  preset?: string;
  target_lufs?: number;
  ceiling_dbtp?: number;
  style?: string;
  intensity?: string;
  format?: string;
}

export const kTerminalStatuses: ReadonlySet<JobStatus> = new Set<JobStatus>([
  'done',
  'failed',
  'expired',
  'deleted',
]);

/** An API error with the server's stable code (or http_<status> when the body had none). */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = 'ApiError';
  }
}

async function request<T>(method: string, path: string, body?: unknown): Promise<T> {
  const headers: Record<string, string> = { Accept: 'application/json' };
  const init: RequestInit = { method, credentials: 'same-origin', headers };
  if (body !== undefined) {
    headers['Content-Type'] = 'application/json';
    init.body = JSON.stringify(body);
  }
  let res: Response;
  try {
    res = await fetch(path, init);
  } catch {
    throw new ApiError(0, 'network_error', 'Could not reach the server. Check your connection.');
  }
  const text = await res.text();
  let data: unknown = null;
  if (text) {
    try {
      data = JSON.parse(text);
    } catch {
      data = null;
    }
  }
  if (!res.ok) {
    const err = (data as { error?: { code?: string; message?: string } } | null)?.error;
    throw new ApiError(
      res.status,
      err?.code ?? `http_${res.status}`,
      err?.message ?? `The server answered ${res.status}.`,
    );
  }
  return data as T;
}

export const api = {
  me: () => request<{ user: User }>('GET', '/api/v1/me').then((r) => r.user),
  register: (email: string, password: string, name: string) =>
    request<{ user: User }>('POST', '/api/v1/auth/register', { email, password, name }).then(
      (r) => r.user,
    ),
  login: (email: string, password: string) =>
    request<{ user: User }>('POST', '/api/v1/auth/login', { email, password }).then((r) => r.user),
  logout: () => request<void>('POST', '/api/v1/auth/logout'),
  catalog: () => request<Catalog>('GET', '/api/v1/presets'),
  createUpload: (filename: string, size: number, contentType: string) =>
    request<UploadSlot>('POST', '/api/v1/uploads', {
      filename,
      size,
      content_type: contentType,
    }),
  createJob: (job: NewJob) => request<{ job: Job }>('POST', '/api/v1/jobs', job).then((r) => r.job),
  jobs: () => request<{ jobs: Job[] }>('GET', '/api/v1/jobs').then((r) => r.jobs),
  job: (id: string) =>
    request<{ job: Job }>('GET', `/api/v1/jobs/${encodeURIComponent(id)}`).then((r) => r.job),
  deleteJob: (id: string) =>
    request<{ job: Job }>('DELETE', `/api/v1/jobs/${encodeURIComponent(id)}`).then((r) => r.job),
  changeName: (name: string) =>
    request<{ user: User }>('PATCH', '/api/v1/me', { name }).then((r) => r.user),
  exportData: () => request<unknown>('GET', '/api/v1/me/export'),
  deleteAccount: (password: string) => request<void>('DELETE', '/api/v1/me', { password }),
};

/** File name endings the engine decodes (engine/io); the picker offers these. */
export const kAudioExtensions = ['wav', 'wave', 'flac', 'aif', 'aiff', 'aifc', 'mp3', 'ogg', 'oga', 'opus', 'm4a', 'mp4', 'alac', 'aac'];

/**
 * Content type for an upload: from the extension when it is a known audio one (browsers
 * disagree on types such as .opus or .aif), else the browser's guess.
 */
export function contentTypeFor(file: File): string {
  const ext = file.name.toLowerCase().split('.').pop() ?? '';
  const byExt: Record<string, string> = {
    wav: 'audio/wav',
    wave: 'audio/wav',
    flac: 'audio/flac',
    mp3: 'audio/mpeg',
    ogg: 'audio/ogg',
    oga: 'audio/ogg',
    opus: 'audio/ogg',
    aif: 'audio/aiff',
    aiff: 'audio/aiff',
    aifc: 'audio/aiff',
    // AAC and ALAC live in MPEG-4 containers; .aac is raw ADTS.
    m4a: 'audio/mp4',
    mp4: 'audio/mp4',
    alac: 'audio/mp4',
    aac: 'audio/aac',
  };
  return byExt[ext] ?? (file.type || 'application/octet-stream');
}

// Headers the browser sets itself and refuses from scripts (Fetch "forbidden request headers").
const kForbiddenHeaders = new Set(['content-length', 'host', 'connection', 'origin', 'referer']);

/**
 * PUTs the file to the signed URL with XHR, which (unlike fetch) reports upload progress.
 * onProgress receives a fraction 0..1. Resolves on 2xx, rejects with ApiError otherwise.
 */
export function uploadFile(
  slot: UploadSlot,
  file: File,
  onProgress: (fraction: number) => void,
  signal?: AbortSignal,
): Promise<void> {
  return new Promise((resolve, reject) => {
    const xhr = new XMLHttpRequest();
    xhr.open(slot.method || 'PUT', slot.url);
    for (const [key, value] of Object.entries(slot.headers ?? {})) {
      if (!kForbiddenHeaders.has(key.toLowerCase())) xhr.setRequestHeader(key, value);
    }
    xhr.upload.addEventListener('progress', (e) => {
      if (e.lengthComputable && e.total > 0) onProgress(e.loaded / e.total);
    });
    xhr.addEventListener('load', () => {
      if (xhr.status >= 200 && xhr.status < 300) {
        onProgress(1);
        resolve();
        return;
      }
      let code = `http_${xhr.status}`;
      let message = `The upload was refused (${xhr.status}).`;
      try {
        const body = JSON.parse(xhr.responseText) as { error?: { code?: string; message?: string } };
        code = body.error?.code ?? code;
        message = body.error?.message ?? message;
      } catch {
        // Not JSON (e.g. an S3 XML error): keep the generic message.
      }
      reject(new ApiError(xhr.status, code, message));
    });
    xhr.addEventListener('error', () =>
      reject(
        navigator.onLine
          ? new ApiError(0, 'network_error', 'The upload was interrupted.')
          : new ApiError(0, 'offline', 'You went offline during the upload.'),
      ),
    );
    xhr.addEventListener('abort', () => reject(new ApiError(0, 'aborted', 'Upload cancelled.')));
    signal?.addEventListener('abort', () => xhr.abort());
    xhr.send(file);
  });
}

/**
 * Follows a job: Server-Sent Events from /events, falling back to polling GET /jobs/{id} every
 * 2 s if the stream cannot be opened. Stops by itself after a terminal status. Returns a stop
 * function for when the view goes away.
 */
export function followJob(id: string, onJob: (job: Job) => void): () => void {
  let stopped = false;
  let pollTimer: number | undefined;
  const deliver = (job: Job): void => {
    if (stopped) return;
    onJob(job);
    if (kTerminalStatuses.has(job.status)) stop();
  };
  const poll = (): void => {
    if (stopped) return;
    api
      .job(id)
      .then(deliver)
      .catch(() => undefined)
      .finally(() => {
        if (!stopped) pollTimer = window.setTimeout(poll, 2000);
      });
  };
  const source = new EventSource(`/api/v1/jobs/${encodeURIComponent(id)}/events`);
  source.addEventListener('job', (e) => {
    try {
      deliver(JSON.parse((e as MessageEvent<string>).data) as Job);
    } catch {
      // A malformed event is skipped; the next one (or the poll) carries the full state.
    }
  });
  source.addEventListener('error', () => {
    // CONNECTING means the browser retries by itself; CLOSED means it gave up (e.g. an HTTP
    // error status), so poll instead.
    if (source.readyState === EventSource.CLOSED && !stopped && pollTimer === undefined) poll();
  });
  function stop(): void {
    stopped = true;
    source.close();
    if (pollTimer !== undefined) window.clearTimeout(pollTimer);
  }
  return stop;
}
