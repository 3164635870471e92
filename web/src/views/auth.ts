import { api, ApiError } from '../api';
import { h, uid } from '../dom';
import { plainError } from '../errors';
import { navigate, state, type View } from '../state';

function field(
  label: string,
  attrs: Record<string, string | boolean | number>,
  hint?: string,
): { wrap: HTMLElement; input: HTMLInputElement } {
  const id = uid('f');
  const hintId = hint ? `${id}-hint` : undefined;
  const input = h('input', { id, ...attrs, 'aria-describedby': hintId });
  const wrap = h(
    'div',
    { class: 'field' },
    h('label', { for: id }, label),
    input,
    hint ? h('p', { class: 'hint', id: hintId }, hint) : null,
  );
  return { wrap, input };
}

export function authView(mode: 'signin' | 'signup', onSignedIn: () => void): View {
  const signup = mode === 'signup';
  const title = signup ? 'Create your account' : 'Sign in';
  const error = h('div', { class: 'error', role: 'alert' });
  const name = field('Your name', { type: 'text', name: 'name', autocomplete: 'name', required: true, maxlength: 100 });
  const email = field('Email', { type: 'email', name: 'email', autocomplete: 'email', required: true, maxlength: 254 });
  const password = field(
    'Password',
    {
      type: 'password',
      name: 'password',
      autocomplete: signup ? 'new-password' : 'current-password',
      required: true,
      minlength: signup ? 8 : 1,
    },
    signup ? 'At least 8 characters.' : undefined,
  );
  const submit = h('button', { type: 'submit', class: 'primary' }, signup ? 'Create account' : 'Sign in');
  const form = h(
    'form',
    { class: 'card narrow', novalidate: true, 'aria-labelledby': 'view-title' },
    signup ? name.wrap : null,
    email.wrap,
    password.wrap,
    error,
    submit,
  );
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    error.textContent = '';
    const inputs = signup ? [name.input, email.input, password.input] : [email.input, password.input];
    const invalid = inputs.find((i) => !i.checkValidity());
    if (invalid) {
      error.textContent = invalid.validationMessage;
      invalid.focus();
      return;
    }
    submit.disabled = true;
    const done = signup
      ? api.register(email.input.value.trim(), password.input.value, name.input.value.trim())
      : api.login(email.input.value.trim(), password.input.value);
    done
      .then((user) => {
        state.user = user;
        onSignedIn();
        navigate('#/new');
      })
      .catch((err: unknown) => {
        error.textContent = plainError(err instanceof ApiError ? err : new ApiError(0, 'unknown', String(err)));
        submit.disabled = false;
        (signup ? name.input : email.input).focus();
      });
  });

  const root = h(
    'section',
    { class: 'view auth' },
    h('h1', { id: 'view-title', tabindex: -1 }, title),
    h(
      'p',
      { class: 'lede' },
      'QuackTracks masters your mix to the loudness that streaming services, podcasts and broadcasters expect, without clipping.',
    ),
    form,
    h(
      'p',
      { class: 'switch' },
      signup ? 'Already have an account? ' : 'New here? ',
      h('a', { href: signup ? '#/signin' : '#/signup' }, signup ? 'Sign in' : 'Create an account'),
    ),
  );
  return { title, root };
}
