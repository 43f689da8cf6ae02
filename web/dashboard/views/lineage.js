// A task's lineage: the videos it extends and the ones that extend it, oldest first, each playable.
import { api } from '../api.js';
import { fill, h, link } from '../dom.js';
import { seconds, shortId } from '../format.js';
import { operationLabel, stateBadge } from './task-parts.js';

export async function lineageSection(section, task) {
  fill(section, h('h2', {}, 'Lineage'), h('p', { class: 'hint' }, 'Loading…'));
  let chain;
  try {
    ({ tasks: chain } = await api(`/dashboard/api/tasks/${encodeURIComponent(task.id)}/lineage`));
  } catch (error) {
    fill(section, h('h2', {}, 'Lineage'), h('p', { class: 'error' }, error.message));
    return;
  }
  const item = (member, index) =>
    h(
      'li',
      { class: member.id === task.id ? 'current' : '', 'data-task-id': member.id },
      h('div', { class: 'step' }, `${index + 1}. `, link(`/task/${encodeURIComponent(member.id)}`, shortId(member.id)), ' ', stateBadge(member.state)),
      h('div', { class: 'hint' }, `${operationLabel(member)}${member.result ? ` · ${seconds(member.result.durationSeconds)}` : ''}`),
      member.result
        ? h('video', { controls: true, preload: 'none', poster: member.result.posterUrl, src: member.result.videoUrl, class: 'thumb' })
        : h('div', { class: 'thumb pending' }, member.state),
      h('div', { class: 'prompt', title: member.prompt }, member.prompt),
    );
  fill(
    section,
    h('h2', {}, 'Lineage'),
    chain.length > 1 ? h('p', { class: 'hint' }, `${chain.length} videos in this chain; each extension continues the one before.`) : h('p', { class: 'hint' }, 'No extensions of this video yet.'),
    h('ol', { class: 'chain' }, chain.map(item)),
  );
}
