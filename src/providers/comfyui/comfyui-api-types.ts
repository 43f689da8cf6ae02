import { z } from 'zod';

/** `POST /prompt` accepted the graph (upstream-providers.md §4.1). */
export const submitAnswerSchema = z.object({ prompt_id: z.string().min(1).max(200), number: z.number().optional(), node_errors: z.unknown().optional() });

/** One error of a node, as ComfyUI's validation reports it. */
const nodeErrorSchema = z.object({ type: z.string().optional(), message: z.string().optional(), details: z.string().optional() });

/** `POST /prompt` refused the graph: HTTP 400 with `error` and `node_errors`. */
export const refusalSchema = z.object({
  error: z.union([z.string(), z.object({ type: z.string().optional(), message: z.string().optional(), details: z.string().optional() })]).optional(),
  node_errors: z
    .union([
      z.record(z.string(), z.object({ errors: z.array(nodeErrorSchema).optional(), class_type: z.string().optional() })),
      z.array(z.unknown()),
    ])
    .optional(),
});
export type ComfyUiRefusal = z.infer<typeof refusalSchema>;

/** A file a node wrote: what `GET /view` takes back. */
export const fileReferenceSchema = z.object({
  filename: z.string().min(1).max(1000),
  subfolder: z.string().max(1000).default(''),
  type: z.string().max(50).default('output'),
});
export type ComfyUiFile = z.infer<typeof fileReferenceSchema>;

/** What an output node reports: SaveVideo under `images` (with `animated`), VHS_VideoCombine under `gifs`, others under `videos`. */
const nodeOutputSchema = z
  .object({
    images: z.array(z.unknown()).optional(),
    gifs: z.array(z.unknown()).optional(),
    videos: z.array(z.unknown()).optional(),
  })
  .passthrough();

/** One prompt's entry in `GET /history/{prompt_id}` (the answer is `{}` until it finished). */
export const historyEntrySchema = z.object({
  outputs: z.record(z.string(), nodeOutputSchema).default({}),
  status: z
    .object({
      status_str: z.string().optional(),
      completed: z.boolean().optional(),
      messages: z.array(z.unknown()).default([]),
    })
    .optional(),
});
export type ComfyUiHistoryEntry = z.infer<typeof historyEntrySchema>;

/** `GET /queue`: items are `[number, prompt_id, prompt, extra_data, outputs]`. */
export const queueSchema = z.object({
  queue_running: z.array(z.array(z.unknown())).default([]),
  queue_pending: z.array(z.array(z.unknown())).default([]),
});

/** `POST /upload/image`: the name to put in a LoadImage / LoadVideo node. */
export const uploadAnswerSchema = z.object({ name: z.string().min(1).max(1000), subfolder: z.string().max(1000).default(''), type: z.string().max(50).default('input') });

/** The name a loader node takes for an uploaded file: `subfolder/name` when it went into a subfolder. */
export function uploadedName(answer: z.infer<typeof uploadAnswerSchema>): string {
  return answer.subfolder ? `${answer.subfolder}/${answer.name}` : answer.name;
}

const videoExtensions = /\.(mp4|webm|mov|mkv|m4v)$/i;

/** The video a finished prompt made: the first video file among its outputs (node order), a saved one before a preview. */
export function videoOutput(entry: ComfyUiHistoryEntry): ComfyUiFile | undefined {
  const nodes = Object.keys(entry.outputs).sort((a, b) => Number(a) - Number(b) || a.localeCompare(b));
  const videos: ComfyUiFile[] = [];
  for (const node of nodes) {
    const output = entry.outputs[node]!;
    for (const list of [output.videos, output.gifs, output.images]) {
      for (const item of list ?? []) {
        const file = fileReferenceSchema.safeParse(item);
        if (file.success && videoExtensions.test(file.data.filename)) videos.push(file.data);
      }
    }
  }
  return videos.find((file) => file.type === 'output') ?? videos[0];
}

/** Why an execution failed, from its `execution_error` (or `execution_interrupted`) message. */
export function executionFailure(entry: ComfyUiHistoryEntry): string | undefined {
  for (const message of entry.status?.messages ?? []) {
    if (!Array.isArray(message) || typeof message[0] !== 'string') continue;
    const data = (message[1] ?? {}) as Record<string, unknown>;
    if (message[0] === 'execution_error') {
      const where = [data['node_id'] ? `node ${String(data['node_id'])}` : '', typeof data['node_type'] === 'string' ? `(${data['node_type']})` : ''].filter(Boolean).join(' ');
      const what = [data['exception_type'], data['exception_message']].filter((part) => typeof part === 'string' && part).join(': ');
      return `${where ? `${where}: ` : ''}${what || 'execution error'}`;
    }
    if (message[0] === 'execution_interrupted') return 'the prompt was interrupted on the ComfyUI server';
  }
  return entry.status?.status_str === 'error' ? 'execution error' : undefined;
}

/** The refusal of `POST /prompt` in one line: the error, then each node's errors. */
export function describeRefusal(refusal: ComfyUiRefusal): string {
  const error = refusal.error;
  const head = typeof error === 'string' ? error : [error?.message, error?.details].filter(Boolean).join(': ');
  const nodes = refusal.node_errors && !Array.isArray(refusal.node_errors) ? Object.entries(refusal.node_errors) : [];
  const parts = nodes.map(([id, node]) => {
    const errors = (node.errors ?? []).map((item) => [item.message, item.details].filter(Boolean).join(': ')).join('; ');
    return `node ${id}${node.class_type ? ` (${node.class_type})` : ''}: ${errors || 'invalid'}`;
  });
  return [head || 'the workflow is invalid', ...parts].join(' — ');
}
