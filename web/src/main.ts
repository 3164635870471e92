// Entry point: the header, a hash router (#/signin, #/signup, #/new, #/jobs, #/jobs/<id>) and
// focus management. Hash routes need no server-side fallback and survive reloads.
import './style.css';
import { api, ApiError } from './api';
import { h } from './dom';
import { navigate, state, type View } from './state';
import { accountView } from './views/account';
import { authView } from './views/auth';
import { jobView } from './views/job';
import { jobsView } from './views/jobs';
import { uploadView } from './views/upload';

const main = document.getElementById('main') as HTMLElement;
const nav = document.getElementById('site-nav') as HTMLElement;
let current: View | null = null;
let firstRender = true;

function renderNav(): void {
  if (!state.user) {
    nav.replaceChildren();
    return;
  }
  const signOut = h('button', { type: 'button', class: 'link' }, 'Sign out');
  signOut.addEventListener('click', () => {
    signOut.disabled = true;
    api
      .logout()
      .catch(() => undefined)
      .finally(() => {
        state.user = null;
        state.localFiles.clear();
        renderNav();
        navigate('#/signin');
      });
  });
  const route = location.hash;
  const link = (href: string, text: string): HTMLElement =>
    h('li', {}, h('a', { href, 'aria-current': route === href || (href === '#/jobs' && route.startsWith('#/jobs/')) ? 'page' : undefined }, text));
  nav.replaceChildren(
    h(
      'ul',
      {},
      link('#/new', 'New master'),
      link('#/jobs', 'My jobs'),
      link('#/account', 'Account'),
      h('li', { class: 'who' }, h('span', { class: 'visually-hidden' }, 'Signed in as '), state.user.name || state.user.email),
      h('li', {}, signOut),
    ),
  );
}

function resolve(route: string): View {
  const signedIn = state.user !== null;
  if (route === '#/signup') return signedIn ? jobsView() : authView('signup', renderNav);
  if (!signedIn) return authView('signin', renderNav);
  if (route === '#/jobs') return jobsView();
  if (route === '#/account') return accountView(renderNav);
  const m = /^#\/jobs\/([^/]+)$/.exec(route);
  if (m?.[1]) return jobView(decodeURIComponent(m[1]));
  return uploadView();
}

function render(): void {
  const route = location.hash || '#/new';
  if (!state.user && route !== '#/signin' && route !== '#/signup') {
    location.replace('#/signin');
    return; // the hashchange renders
  }
  if (state.user && (route === '#/signin' || route === '#/signup')) {
    location.replace('#/new');
    return;
  }
  current?.dispose?.();
  current = resolve(route);
  main.replaceChildren(current.root);
  document.title = `${current.title} – QuackTracks`;
  renderNav();
  // Move focus to the new heading so keyboard and screen-reader users land on the new content;
  // on first load leave it at the top of the document as browsers do.
  if (!firstRender) current.root.querySelector<HTMLElement>('h1')?.focus();
  firstRender = false;
}

// The skip link must not change the hash (that is the router's), so it moves focus itself.
document.querySelector('.skip-link')?.addEventListener('click', (e) => {
  e.preventDefault();
  main.focus();
});

async function start(): Promise<void> {
  try {
    state.user = await api.me();
  } catch (err) {
    if (!(err instanceof ApiError) || err.status !== 401) {
      main.replaceChildren(h('p', { class: 'error', role: 'alert' }, `The service is not reachable: ${err instanceof Error ? err.message : String(err)}`));
    }
    state.user = null;
  }
  window.addEventListener('hashchange', render);
  render();
}

void start();
