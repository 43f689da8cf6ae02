// A task's callbacks: each delivery with every attempt, and a button to send a finished one again.
import { api } from '../api.js';
import { fill, h } from '../dom.js';
import { when } from '../format.js';
import { every } from './poll.js';

export function callbacksSection(section, taskId) {
  async function refresh() {
    let deliveries;
    try {
      ({ deliveries } = await api(`/dashboard/api/tasks/${encodeURIComponent(taskId)}/callbacks`));
    } catch (error) {
      fill(section, h('h2', {}, 'Callbacks'), h('p', { class: 'error' }, error.message));
      return;
    }
    fill(
      section,
      h('h2', {}, 'Callbacks'),
      deliveries.length === 0 ? h('p', { class: 'hint' }, 'No callback for this task (none was asked for, or it has not finished).') : null,
      deliveries.map((delivery) =>
        h(
          'div',
          { class: 'delivery card', 'data-delivery-id': delivery.id, 'data-state': delivery.state },
          h('p', {}, h('strong', {}, delivery.event), ` to ${delivery.url} — `, h('span', { class: `state ${delivery.state}` }, delivery.state), ` (round ${delivery.round})`,
            delivery.state === 'pending' ? null : ' ',
            delivery.state === 'pending'
              ? null
              : h('button', {
                  type: 'button',
                  class: 'redeliver',
                  onclick: async (event) => {
                    event.target.disabled = true;
                    await api(`/dashboard/api/callbacks/${encodeURIComponent(delivery.id)}/redeliver`, { method: 'POST', body: {} }).catch((error) => alert(error.message));
                    refresh();
                  },
                }, 'Redeliver')),
          h(
            'table',
            {},
            h('thead', {}, h('tr', {}, ['Round', 'Attempt', 'When', 'Status', 'Latency', 'Error', 'Answer'].map((title) => h('th', {}, title)))),
            h('tbody', {}, delivery.attempts.map((attempt) =>
              h('tr', {}, h('td', {}, attempt.round), h('td', {}, attempt.number), h('td', {}, when(attempt.attemptedAt)), h('td', {}, attempt.statusCode ?? '—'),
                h('td', {}, `${attempt.latencyMs} ms`), h('td', {}, attempt.error ?? ''), h('td', { class: 'preview' }, attempt.responsePreview ?? '')))),
          ),
        ),
      ),
    );
  }
  return every(3000, refresh);
}
