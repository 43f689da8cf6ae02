// Sign in with an API key (your own tasks) or the admin key (everything).
import { api, session } from '../api.js';
import { fill, h } from '../dom.js';

export function signInView(view, { onSignedIn }) {
  const input = h('input', { type: 'password', name: 'key', id: 'key', autocomplete: 'off', required: true, placeholder: 'sk-segue-… or the admin key' });
  const message = h('p', { class: 'error', role: 'alert' });
  const form = h(
    'form',
    {
      class: 'card sign-in',
      onsubmit: async (event) => {
        event.preventDefault();
        const key = input.value.trim();
        try {
          const found = await api('/dashboard/api/session', { key });
          session.signIn(key);
          onSignedIn(found);
        } catch (error) {
          fill(message, error.status === 401 ? 'Segue does not know that key (or it was revoked).' : `Could not sign in: ${error.message}`);
        }
      },
    },
    h('h1', {}, 'Sign in'),
    h('p', {}, 'An API key shows its own tasks, videos, callbacks and credits. The admin key (SEGUE_ADMIN_KEY) shows every key’s, plus keys, providers and switches.'),
    h('label', { for: 'key' }, 'Key'),
    input,
    h('button', { type: 'submit' }, 'Sign in'),
    message,
    h('p', { class: 'hint' }, 'The key stays in this tab (sessionStorage) and is sent only to this Segue as a Bearer header.'),
  );
  fill(view, form);
  input.focus();
}
