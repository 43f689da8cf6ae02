import { SegueError } from './client-errors.js';
import type { SegueTask, TaskOperation, TaskStatus } from './task-view.js';

const statuses: readonly TaskStatus[] = ['queued', 'running', 'succeeded', 'failed'];

type Fields = Record<string, unknown>;

const text = (value: unknown): string | null => (typeof value === 'string' ? value : null);
const number = (value: unknown): number | null => (typeof value === 'number' && Number.isFinite(value) ? value : null);
const firstUrl = (value: unknown): string | null => (Array.isArray(value) ? text(value[0]) : null);

/** Reads the `data` of `GET /api/v1/tasks/:id` (or one list entry) into a typed task. */
export function parseTaskView(data: unknown): SegueTask {
  const fields = (typeof data === 'object' && data !== null ? data : {}) as Fields;
  const id = text(fields['taskId']);
  const status = fields['state'] as TaskStatus;
  if (!id || !statuses.includes(status)) throw new SegueError('Segue answered a task in a shape this client does not know', 500);
  const response = (typeof fields['response'] === 'object' && fields['response'] !== null ? fields['response'] : {}) as Fields;
  const full = firstUrl(response['fullResultUrls']);
  const result = firstUrl(response['resultUrls']);
  const errorCode = number(fields['errorCode']);
  return {
    id,
    operation: fields['operation'] as TaskOperation,
    model: text(fields['model']) ?? '',
    status,
    progress: number(fields['progress']) ?? 0,
    parentTaskId: text(fields['parentTaskId']),
    videoUrl: full ?? result,
    segmentUrl: full && result !== full ? result : null,
    posterUrl: text(response['posterUrl']),
    durationSeconds: number(response['durationSeconds']),
    resolution: text(response['resolution']),
    error: status === 'failed' ? { code: errorCode ?? 500, message: text(fields['errorMessage']) ?? '' } : null,
    engine: text(fields['engine']),
    method: text(fields['method']),
    fallback: fields['fallbackFlag'] === true,
    createTime: text(fields['createTime']) ?? number(fields['createTime']) ?? '',
    completeTime: text(fields['completeTime']) ?? number(fields['completeTime']),
  };
}
