// Upload a file and start a job: the one path used by the upload form and by "Master again".
// The API takes one PUT per upload slot (no ranged or chunked PUT), so after a dropped
// connection the file is sent again from the start on a fresh slot, automatically once the
// browser is back online; the user's file and settings are never lost.
import { api, ApiError, contentTypeFor, uploadFile, type Job, type NewJob } from './api';

export interface SubmitHooks {
  onProgress: (fraction: number) => void;
  /** Called when the connection dropped and the upload waits to start over. */
  onWaiting?: (err: ApiError, attempt: number) => void;
  signal?: AbortSignal;
}

/** Retries after a network drop; beyond this the user decides (Retry button). */
const kMaxAttempts = 3;

function waitOnline(signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(new ApiError(0, 'aborted', 'Upload cancelled.'));
    const done = (): void => {
      window.removeEventListener('online', onOnline);
      window.clearTimeout(timer);
      resolve();
    };
    const onOnline = (): void => done();
    window.addEventListener('online', onOnline);
    // Online already (a server-side drop): try again after a short pause.
    const timer = window.setTimeout(() => {
      if (navigator.onLine) done();
    }, 2000);
    signal?.addEventListener('abort', () => {
      window.removeEventListener('online', onOnline);
      window.clearTimeout(timer);
      reject(new ApiError(0, 'aborted', 'Upload cancelled.'));
    });
  });
}

export async function uploadAndCreate(file: File, job: Omit<NewJob, 'upload_id'>, hooks: SubmitHooks): Promise<Job> {
  let best = 0; // progress shown only moves forward, even when a retry starts over
  for (let attempt = 1; ; attempt++) {
    try {
      if (!navigator.onLine) throw new ApiError(0, 'offline', 'You are offline.');
      const slot = await api.createUpload(file.name, file.size, contentTypeFor(file));
      await uploadFile(
        slot,
        file,
        (f) => {
          best = Math.max(best, f);
          hooks.onProgress(best);
        },
        hooks.signal,
      );
      return await api.createJob({ ...job, upload_id: slot.upload_id });
    } catch (err) {
      const e = err instanceof ApiError ? err : new ApiError(0, 'unknown', String(err));
      const dropped = e.code === 'network_error' || e.code === 'offline';
      if (!dropped || attempt >= kMaxAttempts) throw e;
      hooks.onWaiting?.(e, attempt);
      await waitOnline(hooks.signal);
    }
  }
}
