// Tasks, newest first, live: state and progress refresh every two seconds; filters by state,
// operation and (for operators) key.
import { api } from '../api.js';
import { fill, h, link } from '../dom.js';
import { shortId, when } from '../format.js';
import { every } from './poll.js';
import { operationLabel, progressBar, stateBadge } from './task-parts.js';

const PAGE = 25;
const states = ['', 'unfinished', 'queued', 'running', 'succeeded', 'failed'];
const operations = ['', 'generate', 'extend', 'upgrade_1080p', 'upgrade_4k'];

const select = (name, values, label) =>
  h('label', {}, `${label} `, h('select', { name }, values.map((value) => h('option', { value }, value || 'all'))));

export function taskListView(view, { viewer }) {
  const operator = viewer.role === 'operator';
  let shown = PAGE;
  const filters = h('form', { class: 'filters', onchange: () => refresh(), onsubmit: (event) => event.preventDefault() }, select('state', states, 'State'), select('operation', operations, 'Operation'));
  const keyFilter = operator ? h('select', { name: 'keyId' }, h('option', { value: '' }, 'all')) : null;
  /** Operators: each key's name by id, to say whose a task is. */
  const keyNames = new Map();
  if (keyFilter) {
    filters.append(h('label', {}, 'Key ', keyFilter));
    api('/admin/keys').then(({ keys }) => {
      for (const key of keys) keyNames.set(key.id, `${key.name} (${key.prefix}…)`);
      keyFilter.append(...keys.map((key) => h('option', { value: key.id }, keyNames.get(key.id))));
    }, () => {});
  }
  const body = h('tbody', { id: 'tasks' });
  const more = h('button', { type: 'button', onclick: () => ((shown = Math.min(100, shown + PAGE)), refresh()) }, 'Show more');
  const status = h('p', { class: 'hint' });
  fill(
    view,
    h('h1', {}, operator ? 'Every key’s tasks' : 'Your tasks'),
    filters,
    h(
      'table',
      { class: 'tasks' },
      h('thead', {}, h('tr', {}, ['Task', 'Created', ...(operator ? ['Key'] : []), 'Operation', 'Prompt', 'State', 'Progress', 'Provider', 'Length'].map((title) => h('th', {}, title)))),
      body,
    ),
    h('p', {}, more),
    status,
  );

  const row = (task) =>
    h(
      'tr',
      { 'data-task-id': task.id, 'data-state': task.state },
      h('td', { class: 'id' }, link(`/task/${encodeURIComponent(task.id)}`, shortId(task.id))),
      h('td', {}, when(task.createdAt)),
      operator ? h('td', { title: task.apiKeyId }, keyNames.get(task.apiKeyId) ?? shortId(task.apiKeyId)) : null,
      h('td', {}, operationLabel(task)),
      h('td', { class: 'prompt', title: task.prompt }, task.prompt),
      h('td', {}, stateBadge(task.state)),
      h('td', {}, progressBar(task)),
      h('td', {}, task.provider),
      h('td', {}, task.result ? `${task.result.durationSeconds.toFixed(1)} s` : '—'),
    );

  async function refresh() {
    const form = new FormData(filters);
    const query = new URLSearchParams({ limit: String(shown) });
    for (const [name, value] of form) if (value) query.set(name, value);
    try {
      const { tasks, next } = await api(`/dashboard/api/tasks?${query}`);
      fill(body, tasks.length ? tasks.map(row) : h('tr', {}, h('td', { colspan: 9, class: 'empty' }, 'No tasks yet.')));
      more.hidden = next === null || shown >= 100;
      fill(status, `Live: refreshed ${new Date().toLocaleTimeString()}.`);
    } catch (error) {
      fill(status, h('span', { class: 'error' }, `Could not load tasks: ${error.message}`));
    }
  }
  return every(2000, refresh);
}
