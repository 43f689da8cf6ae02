// One task: its video (seekable: the file route answers Range requests), poster, parameters,
// how and where it ran, its lineage and its callbacks. Live until it finishes.
import { api } from '../api.js';
import { fill, h, link } from '../dom.js';
import { seconds, took, unfinished, when } from '../format.js';
import { callbacksSection } from './callbacks.js';
import { lineageSection } from './lineage.js';
import { every } from './poll.js';
import { operationLabel, progressBar, stateBadge } from './task-parts.js';

const fact = (name, ...value) => [h('dt', {}, name), h('dd', {}, ...value)];

function facts(task, viewer) {
  const result = task.result;
  return h(
    'dl',
    { class: 'facts' },
    fact('State', stateBadge(task.state), ' ', progressBar(task)),
    fact('Operation', operationLabel(task)),
    task.methodReason ? fact('Why this method', task.methodReason) : null,
    fact('Provider', h('span', { 'data-provider': task.provider }, task.provider), task.providerRoute.length > 1 ? ` (route: ${task.providerRoute.join(' → ')})` : ''),
    task.engine ? fact('Engine', task.engine) : null,
    fact('Model', task.model),
    fact('Dialect', task.dialect),
    viewer.role === 'operator' ? fact('Key', task.apiKeyId) : null,
    fact('Seed', String(task.seed)),
    fact('Price', `${task.price} credits`),
    result ? fact('Video', `${seconds(result.durationSeconds)} · ${result.width}×${result.height} · ${result.fps} fps${result.hasAudio ? ' · audio' : ''}`) : null,
    fact('Created', when(task.createdAt)),
    fact('Started', when(task.startedAt)),
    fact('Finished', when(task.finishedAt), task.startedAt ? ` (ran ${took(task.startedAt, task.finishedAt)})` : ''),
    task.parentTaskId ? fact('Extends', link(`/task/${encodeURIComponent(task.parentTaskId)}`, task.parentTaskId)) : null,
    task.callbackUrl ? fact('Callback URL', task.callbackUrl) : null,
  );
}

/** The player: the browser streams and seeks the file with Range requests. */
function player(task) {
  const { result } = task;
  if (!result) return h('div', { class: 'player pending' }, unfinished(task.state) ? 'The video appears here when the task succeeds.' : 'No video.');
  return h(
    'figure',
    { class: 'player' },
    h('video', { id: 'video', controls: true, preload: 'metadata', playsinline: true, poster: result.posterUrl, src: result.videoUrl }),
    h('figcaption', {}, h('a', { href: result.videoUrl, download: `${task.id}.mp4` }, 'Download the video'), ' · ', h('a', { href: result.posterUrl, target: '_blank', rel: 'noreferrer' }, 'Poster')),
  );
}

export function taskPageView(view, { viewer, param: taskId }) {
  const header = h('div', { class: 'task-header' });
  const video = h('section', { class: 'video' });
  const details = h('section', { class: 'details' });
  const lineage = h('section', { class: 'lineage', id: 'lineage' });
  const callbacks = h('section', { class: 'callbacks', id: 'callbacks' });
  fill(view, header, h('div', { class: 'task-grid' }, video, details), lineage, callbacks);
  let lastState;
  let stopTask = () => {};

  async function refresh() {
    let task;
    try {
      task = await api(`/dashboard/api/tasks/${encodeURIComponent(taskId)}`);
    } catch (error) {
      fill(header, h('h1', {}, 'Task'), h('p', { class: 'error' }, error.status === 404 ? 'No such task (or not yours).' : error.message));
      stopTask();
      return;
    }
    fill(header, h('h1', {}, 'Task ', h('code', {}, task.id)), h('p', { class: 'prompt' }, task.prompt));
    fill(details, facts(task, viewer), h('h2', {}, 'Parameters'), h('pre', { class: 'parameters' }, JSON.stringify(task.parameters, null, 2)),
      task.failure ? h('p', { class: 'error' }, `Failed at ${task.failure.stage} (${task.failure.reason}): ${task.failure.message}`) : null);
    if (task.state !== lastState) {
      lastState = task.state;
      fill(video, player(task));
      lineageSection(lineage, task);
    }
    if (!unfinished(task.state)) stopTask();
  }

  stopTask = every(2000, refresh);
  const stopCallbacks = callbacksSection(callbacks, taskId);
  return () => {
    stopTask();
    stopCallbacks();
  };
}
