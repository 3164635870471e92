// Entry point: the header (with a phone menu), a hash router and focus management. Hash routes
// need no server-side fallback and survive reloads. Public: #/ (landing), #/help[/topic],
// #/privacy, #/signin, #/signup. Signed in: #/new, #/jobs, #/jobs/<id>, #/account. Anything
// else (and any path but "/", which the server answers with index.html) is the 404 page.
import './style.css';
import { api, ApiError } from './api';
import { h } from './dom';
import { plainError } from './errors';
import { navigate, state, type View } from './state';
import { accountView } from './views/account';
import { authView } from './views/auth';
import { jobView } from './views/job';
import { jobsView } from './views/jobs';
import { helpView, landingView, notFoundView, privacyView, unreachableView } from './views/pages';
import { uploadView } from './views/upload';

const main = document.getElementById('main') as HTMLElement;
const nav = document.getElementById('site-nav') as HTMLElement;
const menuButton = document.getElementById('menu-button') as HTMLButtonElement | null;
let current: View | null = null;
let firstRender = true;
let unreachableDetail = '';

const kPrivate = /^#\/(new|jobs|jobs\/[^/]+|account)$/;

function renderNav(): void {
  const route = location.hash || '#/';
  const link = (href: string, text: string): HTMLElement =>
    h('li', {}, h('a', { href, 'aria-current': route === href || (href === '#/jobs' && route.startsWith('#/jobs/')) || (href === '#/help' && route.startsWith('#/help')) ? 'page' : undefined }, text));
  if (!state.user) {
    nav.replaceChildren(h('ul', {}, link('#/', 'Home'), link('#/help', 'Help'), link('#/signin', 'Sign in'), h('li', {}, h('a', { href: '#/signup', class: 'button nav-cta' }, 'Create account'))));
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
        state.versions.clear();
        renderNav();
        navigate('#/signin');
      });
  });
  nav.replaceChildren(
    h(
      'ul',
      {},
      link('#/new', 'New master'),
      link('#/jobs', 'My jobs'),
      link('#/help', 'Help'),
      link('#/account', 'Account'),
      h('li', { class: 'who' }, h('span', { class: 'visually-hidden' }, 'Signed in as '), state.user.name || state.user.email),
      h('li', {}, signOut),
    ),
  );
}

function setMenu(open: boolean): void {
  if (!menuButton) return;
  menuButton.setAttribute('aria-expanded', String(open));
  document.body.classList.toggle('menu-open', open);
}
menuButton?.addEventListener('click', () => setMenu(menuButton.getAttribute('aria-expanded') !== 'true'));
document.addEventListener('keydown', (e) => {
  if (e.key === 'Escape' && document.body.classList.contains('menu-open')) {
    setMenu(false);
    menuButton?.focus();
  }
});

function resolve(route: string): View {
  const signedIn = state.user !== null;
  if (location.pathname !== '/' && location.pathname !== '/index.html') return notFoundView();
  if (route === '#/' || route === '') return landingView();
  if (route === '#/help') return helpView(null);
  const help = /^#\/help\/([a-z-]+)$/.exec(route);
  if (help?.[1]) return helpView(help[1]);
  if (route === '#/privacy') return privacyView();
  if (unreachableDetail && (kPrivate.test(route) || route === '#/signin' || route === '#/signup')) return unreachableView(unreachableDetail, () => void start());
  if (route === '#/signup') return authView('signup', renderNav);
  if (route === '#/signin') return authView('signin', renderNav);
  if (!signedIn) return notFoundView(); // render() sent private routes to sign-in already
  if (route === '#/new') return uploadView();
  if (route === '#/jobs') return jobsView();
  if (route === '#/account') return accountView(renderNav);
  const m = /^#\/jobs\/([^/]+)$/.exec(route);
  if (m?.[1]) return jobView(decodeURIComponent(m[1]));
  return notFoundView();
}

function render(): void {
  const route = location.hash || (state.user ? '#/new' : '#/');
  if (!unreachableDetail) {
    if (!state.user && kPrivate.test(route)) {
      location.replace('#/signin');
      return; // the hashchange renders
    }
    if (state.user && (route === '#/signin' || route === '#/signup')) {
      location.replace('#/new');
      return;
    }
  }
  setMenu(false);
  current?.dispose?.();
  try {
    current = resolve(route);
  } catch (err) {
    console.error(err);
    current = notFoundView();
  }
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

let listening = false;
async function start(): Promise<void> {
  try {
    state.user = await api.me();
    unreachableDetail = '';
  } catch (err) {
    state.user = null;
    // 401 is the normal signed-out answer; anything else means the API itself is not there,
    // and that must be said, not hidden behind a sign-in form that cannot work.
    unreachableDetail = err instanceof ApiError && err.status === 401 ? '' : plainError(err);
  }
  state.unreachable = unreachableDetail !== '';
  if (!listening) window.addEventListener('hashchange', render);
  listening = true;
  render();
}

void start();
