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
};

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
  navigate('#/signin');
}
