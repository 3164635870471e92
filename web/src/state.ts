// Page-lifetime state. Nothing here is persisted: the original audio stays in memory only, so
// it disappears with the tab, matching the service deleting its copy when the job finishes.
import type { Catalog, Job, User } from './api';
import { api } from './api';

export const state = {
  user: null as User | null,
  catalog: null as Catalog | null,
  /** The File the user picked, by job id, for the before/after waveform and the A/B player. */
  localFiles: new Map<string, File>(),
  /** A job just created, so its page shows at once (queued) without waiting for a GET. */
  justCreated: null as Job | null,
  /**
   * Versions of one track made in this tab ("Master again" re-sends the held original): job id
   * -> the ids of every version of the same file, oldest first.
   */
  versions: new Map<string, string[]>(),
  /** The API did not answer at load: shown instead of the sign-in form. */
  unreachable: false,
};

/** Records `newId` as a new version of the track behind `fromId` (same local file). */
export function addVersion(fromId: string, newId: string): void {
  const list = state.versions.get(fromId) ?? [fromId];
  list.push(newId);
  for (const id of list) state.versions.set(id, list);
  const file = state.localFiles.get(fromId);
  if (file) state.localFiles.set(newId, file);
}

export async function loadCatalog(): Promise<Catalog> {
  state.catalog ??= await api.catalog();
  return state.catalog;
}

/** What a view hands back to the router. */
export interface View {
  title: string;
  root: HTMLElement;
  dispose?: () => void;
}

export function navigate(hash: string): void {
  if (location.hash === hash) window.dispatchEvent(new HashChangeEvent('hashchange'));
  else location.hash = hash;
}

/** The session ended (401 from the API): forget the user and go to the sign-in page. */
export function sessionEnded(): void {
  state.user = null;
  state.localFiles.clear();
  state.versions.clear();
  navigate('#/signin');
}
