import { z } from 'zod';
import type { ResultLinks } from '../../blobs/result-links.js';
import type { Task } from '../../domain/task.js';
import type { Viewer } from '../../services/dashboard-reads.js';

const iso = (at: number | null) => (at === null ? null : new Date(at).toISOString());
const detail = (task: Task, name: string) => {
  const value = task.engineDetails?.[name];
  return typeof value === 'string' ? value : null;
};

/** Parameters as shown: a long value (an image given as a data: URI) is cut to its start. */
function shownParameters(parameters: Task['parameters']): Record<string, unknown> {
  const cut = (value: unknown): unknown =>
    typeof value === 'string' && value.length > 600 ? `${value.slice(0, 120)}… (${value.length} characters)` : Array.isArray(value) ? value.map(cut) : value;
  return Object.fromEntries(Object.entries(parameters).map(([name, value]) => [name, cut(value)]));
}

/** A task as the dashboard shows it (the schema of `dashboardTaskView`). */
export const dashboardTask = z.object({
  id: z.string(),
  apiKeyId: z.string(),
  operation: z.enum(['generate', 'extend', 'upgrade_1080p', 'upgrade_4k']),
  dialect: z.string(),
  state: z.enum(['queued', 'running', 'reconciling', 'succeeded', 'failed']).meta({ description: 'A tenant sees `reconciling` as `running`, as its dialects say.' }),
  progress: z.number(),
  model: z.string(),
  prompt: z.string(),
  parameters: z.record(z.string(), z.unknown()),
  seed: z.number(),
  price: z.number(),
  provider: z.string().meta({ description: 'The provider entry the task ran (or runs) on.' }),
  providerRoute: z.array(z.string()),
  method: z.string().nullable().meta({ description: 'How an extension was made (native, bridge, local), or what the engine reported.' }),
  methodReason: z.string().nullable(),
  engine: z.string().nullable(),
  parentTaskId: z.string().nullable(),
  rootTaskId: z.string(),
  callbackUrl: z.string().nullable(),
  failure: z.object({ stage: z.string(), reason: z.string(), message: z.string() }).nullable(),
  result: z
    .object({
      videoUrl: z.string(),
      posterUrl: z.string(),
      durationSeconds: z.number(),
      width: z.number(),
      height: z.number(),
      fps: z.number(),
      hasAudio: z.boolean(),
    })
    .nullable(),
  createdAt: z.string(),
  startedAt: z.string().nullable(),
  finishedAt: z.string().nullable(),
});

/** The dashboard's view of a task, with links to its video and poster (the one kind of link clients get). */
export async function dashboardTaskView(task: Task, viewer: Viewer, links: ResultLinks): Promise<z.infer<typeof dashboardTask>> {
  const { result } = task;
  return {
    id: task.id,
    apiKeyId: task.apiKeyId,
    operation: task.operation,
    dialect: task.dialect,
    state: viewer.role === 'tenant' && task.state === 'reconciling' ? 'running' : task.state,
    progress: task.state === 'succeeded' ? 100 : task.progress,
    model: task.parameters.model,
    prompt: task.parameters.prompt,
    parameters: shownParameters(task.parameters),
    seed: task.seed,
    price: task.price,
    provider: task.provider,
    providerRoute: [...task.providerRoute],
    method: task.extension?.method ?? detail(task, 'method'),
    methodReason: task.extension?.reason || null,
    engine: detail(task, 'engine'),
    parentTaskId: task.parentTaskId,
    rootTaskId: task.rootTaskId,
    callbackUrl: task.callbackUrl,
    failure: task.failure && { ...task.failure },
    result: result && {
      videoUrl: await links.urlFor(result.videoKey),
      posterUrl: await links.urlFor(result.posterKey),
      durationSeconds: result.durationSeconds,
      width: result.width,
      height: result.height,
      fps: result.fps,
      hasAudio: result.hasAudio,
    },
    createdAt: iso(task.createdAt)!,
    startedAt: iso(task.startedAt),
    finishedAt: iso(task.finishedAt),
  };
}
