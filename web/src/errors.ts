// Plain-language messages for the API's stable error codes (docs/api.md, the error table in
// service/domain/errors.cpp and engine/core). The server's own message is technical (it may
// quote byte counts or internal names), so it is shown only when a code is not known here.
import { ApiError } from './api';

const kMessages: Record<string, string> = {
  // Network and session.
  network_error: 'We could not reach QuackTracks. Check your internet connection and try again.',
  offline: 'You are offline. Reconnect and try again: your file and settings are kept.',
  aborted: 'The upload was cancelled.',
  unauthenticated: 'Your session has ended. Please sign in again.',
  invalid_credentials: 'That email and password do not match. Check them and try again.',
  email_taken: 'An account with this email already exists. Sign in instead.',
  rate_limited: 'Too many attempts in a short time. Wait a minute and try again.',
  forbidden: 'The browser refused this request for security reasons. Reload the page and try again.',
  // Uploads and files.
  payload_too_large: 'This file is larger than the upload limit.',
  unsupported_media_type: 'This file type is not supported. Use WAV, FLAC, AIFF, MP3, Ogg, Opus or M4A (AAC or ALAC).',
  unsupported_format: 'This file type is not supported. Use WAV, FLAC, AIFF, MP3, Ogg, Opus or M4A (AAC or ALAC).',
  format_mismatch: 'The file’s contents do not match its name (for example an MP3 named .wav). Export it again.',
  corrupt_file: 'The file seems damaged. Export it again from your audio software and retry.',
  empty_file: 'The file is empty.',
  no_audio: 'The file holds no audio we can read.',
  silent_input: 'The file is silent: there is nothing to master.',
  too_many_channels: 'Only mono and stereo files can be mastered.',
  unsupported_sample_rate: 'This sample rate is not supported. Export at 44.1, 48, 88.2 or 96 kHz.',
  too_long: 'The track is longer than the limit for one master.',
  invalid_samples: 'The file contains invalid sample values. Export it again.',
  target_unreachable: 'This loudness target cannot be reached with these settings without distortion. Try a quieter target or a higher intensity.',
  url_expired: 'This link has expired. Reload the page to get a fresh one.',
  invalid_signature: 'This link is not valid any more. Reload the page to get a fresh one.',
  gone: 'This master is no longer available: it was deleted or its download period ended.',
  not_found: 'We could not find that. It may have been deleted.',
  quota_exceeded: 'You have used this period’s mastering allowance.',
  validation_failed: 'Some settings are not valid. Check them and try again.',
  unknown_preset: 'That preset is not available any more. Pick another one.',
  malformed_request: 'The request was not understood. Reload the page and try again.',
  conflict: 'That changed in the meantime. Reload the page and try again.',
  internal_error: 'Something went wrong on our side. Please try again in a moment.',
  internal: 'Something went wrong on our side. Please try again in a moment.',
  unavailable: 'QuackTracks is busy or under maintenance. Please try again in a few minutes.',
};

/** The message for a stable code, or '' when the code is not one we know. */
export function messageForCode(code: string | null | undefined): string {
  return (code && kMessages[code]) || '';
}

/**
 * One plain sentence for any error: the known code's message, else the server's message as is
 * (never both, so nothing is said twice), else a generic line for an HTTP status.
 */
export function plainError(err: unknown): string {
  if (err instanceof ApiError) {
    const known = messageForCode(err.code);
    if (known) return known;
    if (err.status >= 500) return kMessages.internal_error ?? '';
    const m = err.message.trim();
    return m ? m.charAt(0).toUpperCase() + m.slice(1) + (/[.!?]$/.test(m) ? '' : '.') : 'Something went wrong.';
  }
  if (err instanceof Error && err.message) return err.message;
  return 'Something went wrong. Please try again.';
}
