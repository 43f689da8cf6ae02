// A tenant's credits: the balance and the ledger behind it.
import { api } from '../api.js';
import { fill, h } from '../dom.js';
import { ledgerTable } from './ledger.js';
import { every } from './poll.js';

export function accountView(view) {
  return every(5000, async () => {
    try {
      const { balance, entries } = await api('/dashboard/api/account?limit=200');
      fill(view, h('h1', {}, 'Credits'), h('p', { class: 'balance' }, h('span', { id: 'balance' }, String(balance)), ' credits'), h('h2', {}, 'Ledger'), ledgerTable(entries));
    } catch (error) {
      fill(view, h('h1', {}, 'Credits'), h('p', { class: 'error' }, error.message));
    }
  });
}
