// Small pieces several task views share.
import { h } from '../dom.js';

/** A task's state as a badge (the test and people read `data-state`). */
export const stateBadge = (state) => h('span', { class: `state ${state}`, 'data-state': state }, state);

/** Progress as a bar with its number. */
export const progressBar = (task) =>
  h('span', { class: 'progress' }, h('progress', { max: 100, value: task.progress }), h('span', {}, `${task.progress}%`));

/** What a task did, in words: "extend · bridge". */
export const operationLabel = (task) => [task.operation.replace('_', ' '), task.method ? ` · ${task.method}` : ''].join('');
