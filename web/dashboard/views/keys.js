// Operators: every key with its balance and limits; grant credits, read a key's ledger.
import { api } from '../api.js';
import { fill, h } from '../dom.js';
import { when } from '../format.js';
import { ledgerTable } from './ledger.js';

export function keysView(view) {
  const table = h('tbody');
  const ledger = h('section', { id: 'key-ledger' });
  const message = h('p', { class: 'hint', role: 'status' });
  fill(
    view,
    h('h1', {}, 'Keys & credits'),
    h('table', { class: 'keys' }, h('thead', {}, h('tr', {}, ['Name', 'Prefix', 'Balance', 'Rate limit', 'Max unfinished', 'Created', 'State', 'Grant credits', ''].map((title) => h('th', {}, title)))), table),
    message,
    ledger,
  );

  async function showLedger(key) {
    const { entries } = await api(`/admin/keys/${encodeURIComponent(key.id)}/ledger?limit=200`);
    fill(ledger, h('h2', {}, `Ledger of ${key.name}`), ledgerTable(entries));
  }

  const grantForm = (key) => {
    const amount = h('input', { type: 'number', name: 'amount', step: 1, required: true, placeholder: 'amount', class: 'amount' });
    const note = h('input', { type: 'text', name: 'note', maxlength: 500, placeholder: 'note' });
    return h('form', {
      class: 'inline',
      onsubmit: async (event) => {
        event.preventDefault();
        try {
          const { balance } = await api(`/admin/keys/${encodeURIComponent(key.id)}/credits`, { method: 'POST', body: { amount: Number(amount.value), ...(note.value ? { note: note.value } : {}) } });
          fill(message, `${key.name}: balance now ${balance}.`);
          await load();
          await showLedger(key);
        } catch (error) {
          fill(message, h('span', { class: 'error' }, error.message));
        }
      },
    }, amount, note, h('button', { type: 'submit' }, 'Grant'));
  };

  async function load() {
    const { keys } = await api('/admin/keys');
    fill(table, keys.map((key) =>
      h('tr', { 'data-key-id': key.id },
        h('td', {}, key.name), h('td', {}, h('code', {}, `${key.prefix}…`)), h('td', { class: 'amount' }, String(key.balance ?? '')),
        h('td', {}, key.rateLimit ?? 'default'), h('td', {}, key.maxUnfinishedTasks ?? 'default'), h('td', {}, when(key.createdAt)),
        h('td', {}, key.revokedAt ? `revoked ${when(key.revokedAt)}` : 'active'),
        h('td', {}, key.revokedAt ? '' : grantForm(key)),
        h('td', {}, h('button', { type: 'button', onclick: () => showLedger(key).catch((error) => fill(message, error.message)) }, 'Ledger')))));
  }
  load().catch((error) => fill(message, h('span', { class: 'error' }, error.message)));
}
