import { z } from 'zod';

const status = z.enum(['queued', 'generating', 'completed', 'error']).meta({
  description: 'queued and generating while the task runs; completed or error at the end (clients stop polling on anything else).',
});
const usage = z.object({ usage: z.object({ credits_used: z.number().meta({ description: 'The price; 0 once the task has failed.' }) }) });

/** What the create answers: the id to poll. */
const created = z
  .object({ id: z.string(), status: z.literal('queued'), meta: usage })
  .meta({ description: 'The generation was accepted: poll it by its id.', examples: [{ id: '4ac5a506a039917228d370a95d9aeaee', status: 'queued', meta: { usage: { credits_used: 120 } } }] });

/** What a poll answers; `video.url` is the only `url` key (the official SDK takes the first one it finds). */
const fetched = z
  .object({
    id: z.string(),
    status,
    video: z.object({ url: z.string().meta({ description: 'The whole video (for an extension: source and new seconds).' }) }).nullable(),
    error: z.object({ name: z.string(), message: z.string() }).nullable(),
    meta: usage.extend({
      extension: z
        .object({ method: z.enum(['native', 'bridge', 'local']), reason: z.string() })
        .optional()
        .meta({ description: 'Extensions only (Segue\'s own field): how the source was continued, and why.' }),
      pinned_to: z
        .object({ entry: z.string(), credential: z.string(), region: z.string().nullable(), upstreamModel: z.string() })
        .optional()
        .meta({ description: 'Tasks an upstream accepted (Segue\'s own field): the entry, credential identity (never the secret), region and exact upstream model id they run on.' }),
    }),
  })
  .meta({
    description: 'The generation, its video once completed, its error once failed.',
    examples: [
      {
        id: '4ac5a506a039917228d370a95d9aeaee',
        status: 'completed',
        video: { url: 'https://segue.example/files/tasks/4ac5a506a039917228d370a95d9aeaee/video.mp4?expires=1795325604&signature=…' },
        error: null,
        meta: { usage: { credits_used: 120 } },
      },
    ],
  });

/** The NestJS-style error body of every 4xx and 5xx. */
const error = z
  .object({ message: z.string(), path: z.string(), requestId: z.string(), statusCode: z.number().int(), timestamp: z.string() })
  .meta({
    description: 'What went wrong (400 "Body validation error! …" or "Query validation error! …", 401, 403 out of credits, 404, 413, 429, 500, 503).',
    examples: [
      {
        message: 'Body validation error! Expected "prompt" to be present',
        path: '/v2/video/generations',
        requestId: '0b6a2f6e-0c55-4e0b-9d0e-3c1d7d1f4a11',
        statusCode: 400,
        timestamp: '2026-11-20T10:30:00.000Z',
      },
    ],
  });

/** The response schemas of the universal routes, by status. */
export const universalResponses = {
  created: { 200: created, '4xx': error, '5xx': error },
  fetched: { 200: fetched, '4xx': error, '5xx': error },
} as const;
