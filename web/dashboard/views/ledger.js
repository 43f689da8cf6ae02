// A ledger as a table: grants, holds, captures, releases and corrections, newest first.
import { h, link } from '../dom.js';
import { shortId, when } from '../format.js';

export const ledgerTable = (entries) =>
  h(
    'table',
    { class: 'ledger' },
    h('thead', {}, h('tr', {}, ['When', 'Kind', 'Amount', 'Task', 'Note'].map((title) => h('th', {}, title)))),
    h('tbody', {}, entries.map((entry) =>
      h('tr', { class: entry.kind },
        h('td', {}, when(entry.createdAt)),
        h('td', {}, entry.kind),
        h('td', { class: 'amount' }, entry.amount > 0 ? `+${entry.amount}` : String(entry.amount)),
        h('td', {}, entry.taskId ? link(`/task/${encodeURIComponent(entry.taskId)}`, shortId(entry.taskId)) : ''),
        h('td', {}, entry.note ?? '')))),
  );
