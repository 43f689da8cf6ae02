// Operators: each provider entry's breaker, slots and queue depth, the job queue, and the service
// switches (maintenance, disabled features). Live.
import { api } from '../api.js';
import { fill, h } from '../dom.js';
import { every } from './poll.js';

const FEATURES = ['generate', 'extend', 'upgrade_1080p', 'upgrade_4k'];

function switchesForm(switches, onSaved) {
  const maintenance = h('input', { type: 'checkbox', name: 'maintenance', id: 'maintenance', checked: switches.maintenance });
  const features = FEATURES.map((feature) => h('input', { type: 'checkbox', name: 'disabled', value: feature, id: `disabled-${feature}`, checked: switches.disabledFeatures.includes(feature) }));
  const message = h('span', { class: 'hint', role: 'status' });
  return h(
    'form',
    {
      class: 'card switches',
      onsubmit: async (event) => {
        event.preventDefault();
        try {
          const saved = await api('/admin/service', { method: 'PUT', body: { maintenance: maintenance.checked, disabledFeatures: features.filter((box) => box.checked).map((box) => box.value) } });
          fill(message, `Saved: maintenance ${saved.maintenance ? 'on' : 'off'}${saved.disabledFeatures.length ? `, disabled: ${saved.disabledFeatures.join(', ')}` : ''}.`);
          onSaved(saved);
        } catch (error) {
          fill(message, h('span', { class: 'error' }, error.message));
        }
      },
    },
    h('h2', {}, 'Switches'),
    h('p', {}, h('label', { for: 'maintenance' }, maintenance, ' Maintenance: refuse new tasks (reads, polls and running work go on)')),
    h('fieldset', {}, h('legend', {}, 'Disabled features'), FEATURES.map((feature, index) => h('label', { for: `disabled-${feature}` }, features[index], ` ${feature} `))),
    h('button', { type: 'submit' }, 'Save switches'),
    ' ',
    message,
  );
}

export function providersView(view) {
  const providers = h('tbody', { id: 'providers' });
  const jobs = h('tbody');
  const deliveries = h('p', { class: 'hint' });
  const switches = h('div');
  fill(
    view,
    h('h1', {}, 'Providers & switches'),
    h('table', { class: 'providers' }, h('thead', {}, h('tr', {}, ['Entry', 'Breaker', 'Failures in a row', 'Slots in use', 'Queued', 'Reconciling'].map((title) => h('th', {}, title)))), providers),
    h('h2', {}, 'Job queue'),
    h('table', {}, h('thead', {}, h('tr', {}, ['Kind', 'Queued', 'Running', 'Dead', 'Oldest due'].map((title) => h('th', {}, title)))), jobs),
    deliveries,
    switches,
  );
  api('/admin/service').then((current) => fill(switches, switchesForm(current, () => {})), (error) => fill(switches, h('p', { class: 'error' }, error.message)));
  return every(3000, async () => {
    const report = await api('/admin/providers');
    fill(providers, report.providers.map((entry) =>
      h('tr', { 'data-entry': entry.entry },
        h('td', {}, entry.entry), h('td', {}, h('span', { class: `breaker ${entry.breaker}` }, entry.breaker)), h('td', {}, entry.consecutiveFailures),
        h('td', {}, h('meter', { min: 0, max: entry.maxConcurrent, value: entry.slotsInUse }), ` ${entry.slotsInUse} / ${entry.maxConcurrent}`),
        h('td', {}, entry.queued), h('td', {}, entry.reconciling))));
    fill(jobs, report.jobs.map((kind) => h('tr', {}, h('td', {}, kind.kind), h('td', {}, kind.queued), h('td', {}, kind.running), h('td', {}, kind.dead), h('td', {}, `${kind.oldestDueSeconds.toFixed(1)} s`))));
    fill(deliveries, `Callback deliveries: ${report.callbackDeliveries.pending} pending, ${report.callbackDeliveries.exhausted} exhausted.`);
  });
}
