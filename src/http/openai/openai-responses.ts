import { z } from 'zod';

const exampleId = '4ac5a506a039917228d370a95d9aeaee';

/** OpenAI's `video` object (every field present, nullable where shown). */
const video = z
  .object({
    id: z.string(),
    object: z.literal('video'),
    model: z.string(),
    status: z.enum(['queued', 'in_progress', 'completed', 'failed']).meta({ description: 'Poll while queued or in_progress.' }),
    progress: z.number().int().meta({ description: 'Percent, 0–100.' }),
    created_at: z.number().int(),
    completed_at: z.number().int().nullable(),
    expires_at: z.number().int().nullable().meta({ description: 'When result links handed out now expire (unix seconds); the content route serves the video as long as it exists.' }),
    prompt: z.string().nullable(),
    size: z.string().meta({ description: '1280x720 or 720x1280 (the result\'s own once completed).' }),
    seconds: z.string().meta({ description: 'The length; for an extension, source and new seconds together.' }),
    remixed_from_video_id: z.string().nullable(),
    error: z.object({ code: z.string(), message: z.string() }).nullable(),
  })
  .meta({
    examples: [
      {
        id: exampleId,
        object: 'video',
        model: 'veo3_fast',
        status: 'completed',
        progress: 100,
        created_at: 1795000000,
        completed_at: 1795000042,
        expires_at: 1796212800,
        prompt: 'a lighthouse at dusk, waves below',
        size: '1280x720',
        seconds: '8',
        remixed_from_video_id: null,
        error: null,
      },
    ],
  });

/** OpenAI's error body (every 4xx and 5xx). */
const error = z
  .object({
    error: z.object({ message: z.string(), type: z.string(), param: z.string().nullable(), code: z.string().nullable() }),
  })
  .meta({
    description: 'What went wrong: 400 invalid request, 401 bad key, 403 feature off, 404 no such video (or another key\'s), 409 not in a state for this, 413 too large, 429 rate limited or out of credits, 503 unavailable.',
    examples: [{ error: { message: "Invalid value: '12'. Supported values are: '4', '6', '8'.", type: 'invalid_request_error', param: 'seconds', code: 'invalid_value' } }],
  });

const list = z.object({
  object: z.literal('list'),
  data: z.array(video),
  first_id: z.string().nullable(),
  last_id: z.string().nullable(),
  has_more: z.boolean(),
});

const deleted = z.object({ id: z.string(), object: z.literal('video.deleted'), deleted: z.boolean() });

const models = z.object({
  object: z.literal('list'),
  data: z.array(z.object({ id: z.string(), object: z.literal('model'), created: z.number().int(), owned_by: z.string() })),
});

const content = {
  description: 'The video (video/mp4) or its thumbnail, or the requested range of it.',
  content: { 'application/octet-stream': { schema: z.string().meta({ format: 'binary' }) } },
};

const answers = <T>(ok: T) => ({ 200: ok, '4xx': error, '5xx': error });

/** The response schemas of the OpenAI-compatible routes, by status. */
export const openAiResponses = {
  video: answers(video),
  list: answers(list),
  deleted: answers(deleted),
  models: answers(models),
  content: { 200: content, 206: content, '4xx': error, '5xx': error },
} as const;
