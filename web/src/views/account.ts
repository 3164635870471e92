// Your data (privacy policy section 9): see and download everything held about you (access,
// portability), correct your name, delete the account with every file (password required).
import { api, ApiError } from '../api';
import { h, uid } from '../dom';
import { sessionEnded, state, type View } from '../state';

export function accountView(onChange: () => void): View {
  const status = h('p', { class: 'status', role: 'status', 'aria-live': 'polite' });

  // Correction: the name.
  const nameId = uid('name');
  const nameInput = h('input', { id: nameId, name: 'name', type: 'text', maxlength: 100, required: true, autocomplete: 'name' });
  nameInput.value = state.user?.name ?? '';
  const nameForm = h(
    'form',
    { class: 'stack', 'aria-labelledby': 'name-title' },
    h('h2', { id: 'name-title' }, 'Your name'),
    h('label', { for: nameId }, 'Name'),
    nameInput,
    h('button', { type: 'submit' }, 'Save name'),
  );
  nameForm.addEventListener('submit', (e) => {
    e.preventDefault();
    api
      .changeName(nameInput.value)
      .then((user) => {
        state.user = user;
        status.textContent = 'Your name was saved.';
        onChange();
      })
      .catch((err: unknown) => {
        if (err instanceof ApiError && err.status === 401) return sessionEnded();
        status.textContent = err instanceof Error ? err.message : 'Could not save your name.';
      });
  });

  // Access and portability: the export as a JSON file.
  const exportButton = h('button', { type: 'button', class: 'secondary' }, 'Download my data (JSON)');
  exportButton.addEventListener('click', () => {
    api
      .exportData()
      .then((data) => {
        const blob = new Blob([JSON.stringify(data, null, 2)], { type: 'application/json' });
        const a = h('a', { href: URL.createObjectURL(blob), download: 'quacktracks-export.json' });
        document.body.appendChild(a);
        a.click();
        a.remove();
        status.textContent = 'Your data was downloaded: your profile, jobs, uploads and what was deleted when.';
      })
      .catch((err: unknown) => {
        if (err instanceof ApiError && err.status === 401) return sessionEnded();
        status.textContent = err instanceof Error ? err.message : 'Could not export your data.';
      });
  });

  // Deletion: re-authenticate with the password.
  const pwId = uid('password');
  const password = h('input', { id: pwId, name: 'password', type: 'password', required: true, autocomplete: 'current-password' });
  const deleteForm = h(
    'form',
    { class: 'stack danger', 'aria-labelledby': 'delete-title' },
    h('h2', { id: 'delete-title' }, 'Delete your account'),
    h(
      'p',
      { class: 'hint' },
      'This deletes your account, your sessions and every uploaded or mastered file now. Job records are kept only without anything that identifies you. It cannot be undone.',
    ),
    h('label', { for: pwId }, 'Your password, to confirm'),
    password,
    h('button', { type: 'submit', class: 'danger' }, 'Delete my account'),
  );
  deleteForm.addEventListener('submit', (e) => {
    e.preventDefault();
    api
      .deleteAccount(password.value)
      .then(() => {
        state.user = null;
        state.localFiles.clear();
        onChange();
        location.hash = '#/signin';
      })
      .catch((err: unknown) => {
        status.textContent =
          err instanceof ApiError && err.code === 'invalid_credentials'
            ? 'That password is not right; nothing was deleted.'
            : err instanceof Error
              ? err.message
              : 'Could not delete the account.';
      });
  });

  const root = h(
    'section',
    { class: 'account' },
    h('h1', { id: 'view-title', tabindex: -1 }, 'Your account and data'),
    h('p', {}, `Signed in as ${state.user?.email ?? ''}.`),
    nameForm,
    h(
      'section',
      { class: 'stack', 'aria-labelledby': 'export-title' },
      h('h2', { id: 'export-title' }, 'Your data'),
      h('p', { class: 'hint' }, 'Everything we hold about you, as one file: profile, jobs with their settings and times, uploads, and the record of deletions.'),
      exportButton,
    ),
    deleteForm,
    status,
  );
  return { title: 'Account', root };
}
