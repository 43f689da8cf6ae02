import { z } from 'zod';

/**
 * The Veo dialect's answer: always HTTP 200, the real status in `code`; `data` is null on every
 * error except the 4K route's (see `fourKData`).
 */
function envelope<T extends z.ZodType>(data: T, example: unknown) {
  return z
    .object({
      code: z.number().int().meta({ description: '200 on success; otherwise the error code (401, 402, 404, 422, 429, 455, 500, 501, 505…).' }),
      msg: z.string().meta({ description: '"success", or what went wrong.' }),
      data: data.nullable(),
    })
    .meta({
      description: 'The {code, msg, data} envelope, always with HTTP 200: `code` is the status.',
      examples: [{ code: 200, msg: 'success', data: example }, { code: 422, msg: 'prompt is required', data: null }],
    });
}

const urls = z.array(z.string());

/** `response` of a finished task's record: the result's links (null until it succeeds). */
const recordResponse = z.object({
  taskId: z.string(),
  resultUrls: urls.meta({ description: 'For an extension, the new seconds alone (SEGUE_EXTEND_RESULT_URLS=full: the whole video).' }),
  originUrls: urls.meta({ description: 'Set when the video is not 16:9.' }),
  resolution: z.string(),
  fullResultUrls: urls.optional().meta({ description: 'Extensions only: the whole video, source and new seconds.' }),
  posterUrl: z.string(),
  durationSeconds: z.number(),
  mediaIds: urls.optional().meta({ description: '4K upgrades only.' }),
});

/** A time as SEGUE_TIME_FORMAT writes it: `YYYY-MM-DD HH:mm:ss` (UTC) or epoch milliseconds. */
const time = z.union([z.string(), z.number()]);

/** What an upstream task ran on (Segue's own field); later polls, downloads and native extensions keep to it. */
export const pinnedTo = z
  .object({
    entry: z.string(),
    credential: z.string().meta({ description: 'The identity, never the secret: a service account\'s email or a short fingerprint of an API key.' }),
    region: z.string().nullable(),
    upstreamModel: z.string(),
  })
  .meta({ description: 'Tasks an upstream accepted: the entry, credential identity, region and exact upstream model id they run on (Segue\'s own field).' });

const recordInfo = z.object({
  taskId: z.string(),
  paramJson: z.string().meta({ description: 'The request as understood, JSON-encoded.' }),
  completeTime: time.nullable(),
  createTime: time,
  response: recordResponse.nullable(),
  successFlag: z.literal([0, 1, 2, 3]).meta({ description: '0 generating, 1 success, 2 failed before a provider took it, 3 generation failed.' }),
  errorCode: z.number().int().nullable(),
  errorMessage: z.string().nullable(),
  fallbackFlag: z.boolean().optional().meta({ description: 'Absent on 4K upgrades.' }),
  resultUrls: z.string().optional().meta({ description: 'Succeeded tasks only: `response.resultUrls` as a JSON-array string (compatibility with the kie quickstart).' }),
  extendMethod: z.enum(['native', 'bridge', 'local']).optional().meta({ description: 'Extensions only: how the source was continued (Segue\'s own field).' }),
  extendReason: z.string().optional().meta({ description: 'Extensions only: why that method ran (Segue\'s own field).' }),
  pinnedTo: pinnedTo.optional(),
});

const attempt = z.object({
  round: z.number().int(),
  number: z.number().int(),
  attemptedAt: z.number(),
  statusCode: z.number().int().nullable(),
  latencyMs: z.number(),
  error: z.string().nullable(),
  responsePreview: z.string().nullable(),
});

const delivery = z.object({
  id: z.string().meta({ description: 'Sent as the webhook-id header: the idempotency key of the receiver.' }),
  taskId: z.string(),
  apiKeyId: z.string(),
  url: z.string(),
  event: z.enum(['task.succeeded', 'task.failed']),
  state: z.enum(['pending', 'delivered', 'exhausted', 'stopped', 'refused']),
  round: z.number().int(),
  attemptsInRound: z.number().int(),
  nextAttemptAt: z.number().nullable(),
  lastStatusCode: z.number().int().nullable(),
  lastError: z.string().nullable(),
  createdAt: z.number(),
  deliveredAt: z.number().nullable(),
});

const taskExample = { taskId: '4ac5a506a039917228d370a95d9aeaee' };

/** The response schemas of each Veo route, by status (always 200). */
export const veoResponses = {
  created: { 200: envelope(z.object({ taskId: z.string() }), taskExample) },
  recordInfo: {
    200: envelope(recordInfo, {
      ...taskExample,
      paramJson: '{"prompt":"a quiet harbour at dawn","model":"veo3_fast","generationType":"TEXT_2_VIDEO","aspectRatio":"16:9"}',
      completeTime: '2026-11-20 10:31:07',
      createTime: '2026-11-20 10:30:00',
      response: {
        ...taskExample,
        resultUrls: ['https://segue.example/files/tasks/4ac5a506a039917228d370a95d9aeaee/video.mp4?expires=1795325604&signature=…'],
        originUrls: [],
        resolution: '720p',
        posterUrl: 'https://segue.example/files/tasks/4ac5a506a039917228d370a95d9aeaee/poster.jpg?expires=1795325604&signature=…',
        durationSeconds: 8,
      },
      successFlag: 1,
      errorCode: null,
      errorMessage: '',
      fallbackFlag: false,
    }),
  },
  fullHd: { 200: envelope(z.object({ resultUrl: z.string() }), { resultUrl: 'https://segue.example/files/…' }) },
  fourK: {
    200: envelope(
      z.object({ taskId: z.string(), resultUrls: urls.nullable().optional(), imageUrls: urls.nullable().optional() }),
      { ...taskExample, resultUrls: null, imageUrls: null },
    ),
  },
  deliveries: { 200: envelope(z.object({ deliveries: z.array(delivery.extend({ attempts: z.array(attempt) })) }), { deliveries: [] }) },
  redelivered: {
    200: envelope(
      z.object({ delivery: delivery.optional(), redelivered: z.number().int().optional().meta({ description: 'How many exhausted deliveries start over.' }) }),
      { redelivered: 2 },
    ),
  },
  credit: { 200: envelope(z.number().meta({ description: 'The balance in credits.' }), 10000) },
} as const;
