import { parseArgs } from 'node:util';
import type { SegueTask } from '../client/index.js';
import { clientFrom, connectionOptions, integerFlag } from './client-flags.js';
import { print, UsageError } from './cli-support.js';

/** A task for people: one `name  value` line per thing it has. */
function describe(task: SegueTask): string {
  const lines: Array<[string, string | number | null]> = [
    ['id', task.id],
    ['status', `${task.status} ${task.progress}%`],
    ['operation', `${task.operation} (${task.model})`],
    ['parent', task.parentTaskId],
    ['video', task.videoUrl],
    ['segment', task.segmentUrl],
    ['poster', task.posterUrl],
    ['length', task.durationSeconds === null ? null : `${task.durationSeconds} s, ${task.resolution ?? ''}`.trim()],
    ['made by', task.engine && `${task.engine}${task.method ? ` (${task.method})` : ''}${task.fallback ? ', on a fallback provider' : ''}`],
    ['error', task.error && `${task.error.code} ${task.error.message}`],
    ['created', task.createTime],
    ['finished', task.completeTime],
  ];
  return lines
    .filter(([, value]) => value !== null && value !== '')
    .map(([name, value]) => `${name.padEnd(10)}${value}`)
    .join('\n');
}

const row = (task: SegueTask) =>
  [task.id, task.status.padEnd(9), `${task.progress}%`.padStart(4), task.operation.padEnd(13), task.model.padEnd(9), task.createTime].join('  ');

/** `segue tasks show ID` and `segue tasks list`: the key's own tasks, over HTTP. */
export async function taskViewCommand(subcommand: 'show' | 'list', argv: string[]): Promise<void> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: { json: { type: 'boolean', default: false }, limit: { type: 'string' }, after: { type: 'string' }, ...connectionOptions },
  });
  if (subcommand === 'show') {
    const [id] = positionals;
    if (!id || positionals.length > 1) throw new UsageError('tasks show needs one task ID');
    const task = await clientFrom(values).get(id);
    print(task, values.json, () => describe(task));
    return;
  }
  if (positionals.length > 0) throw new UsageError('tasks list takes no arguments');
  const limit = integerFlag('limit', values.limit);
  const page = await clientFrom(values).list({ ...(limit !== undefined ? { limit } : {}), ...(values.after ? { after: values.after } : {}) });
  print(page, values.json, () => page.tasks.map(row).join('\n') || 'No tasks.');
  if (page.next && !values.json) process.stderr.write(`more: segue tasks list --after ${page.next}\n`);
}
