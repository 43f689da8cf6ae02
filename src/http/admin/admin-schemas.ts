import type { FastifySchemaValidationError } from 'fastify';
import { z } from 'zod';
import { ValidationError } from '../../domain/errors.js';
import { firstIssue } from '../schema-compilers.js';

/** An admin body: no body, or `null`, is an empty one (every field is then missing or default). */
const body = <T extends z.ZodType>(schema: T) => z.preprocess((value) => value ?? {}, schema);

const operations = z.enum(['generate', 'extend', 'upgrade_1080p', 'upgrade_4k']);
const limitsFields = z.object({
  rateLimit: z.string().nullable().optional().meta({ description: 'Overrides SEGUE_RATE_LIMIT for this key, e.g. `50/10s`; null clears it.' }),
  maxUnfinishedTasks: z.number().int().positive().nullable().optional().meta({ description: 'Overrides SEGUE_MAX_UNFINISHED_TASKS; null clears it.' }),
});

/** `PUT /admin/keys/:id/limits`. */
export const limitsBody = body(limitsFields);
/** `POST /admin/keys`. */
export const newKeyBody = body(
  limitsFields.extend({ name: z.string().trim().min(1).max(200), credits: z.number().int().nonnegative().default(0) }).meta({ examples: [{ name: 'mobile app', credits: 10000 }] }),
);
/** `PUT /admin/keys/:id/webhook`: where the key's OpenAI-dialect tasks report their end (null clears it). */
export const webhookBody = body(
  z
    .object({
      url: z.string().trim().min(1).max(2048).nullable().meta({ description: 'An http(s) URL (checked as callback URLs are), or null to stop the webhooks.' }),
    })
    .meta({ examples: [{ url: 'https://app.example/openai-webhooks' }] }),
);
/** `POST /admin/keys/:id/credits`: a grant (or, negative, a correction) with an optional note. */
export const creditsBody = body(z.object({ amount: z.number().int(), note: z.string().max(500).optional() }));
/** `PUT /admin/service`. */
export const switchesBody = body(z.object({ maintenance: z.boolean().optional(), disabledFeatures: z.array(operations).optional() }));
/** `POST /admin/tasks/:id/settle`. */
export const settleBody = body(z.object({ outcome: z.enum(['refund', 'charge']) }));

/** The `:id` of a key or task route. */
export const idParams = z.object({ id: z.string() });

/** A query parameter given once (Fastify makes a list of a repeated one). */
const once = z.string({ error: 'must be given once' });
/** `GET /admin/keys/:id/ledger`. */
export const ledgerQuery = z.object({
  // Lenient about the size, as listings are: out of range is clamped, only a non-number is refused.
  limit: once.regex(/^\d{1,9}$/, 'must be a whole number').transform((value) => Math.min(1000, Math.max(1, Number(value)))).default(100),
});
/** `GET /admin/tasks`. */
export const tasksQuery = z.object({
  state: once
    .pipe(z.enum(['queued', 'running', 'reconciling', 'succeeded', 'failed'], { error: 'must be queued, running, reconciling, succeeded or failed' }))
    .default('reconciling'),
});

/** The admin API's 400 for a request that does not match its route's schema: the field, then the problem. */
export function adminSchemaError(errors: readonly FastifySchemaValidationError[]): ValidationError {
  const issue = firstIssue(errors);
  return new ValidationError(`${issue.path.join('.') || 'body'}: ${issue.message}`);
}

const publicKey = z.object({
  id: z.string(),
  name: z.string(),
  prefix: z.string().meta({ description: 'The first characters of the key, to tell keys apart.' }),
  rateLimit: z.string().nullable(),
  maxUnfinishedTasks: z.number().int().nullable(),
  veoSignatures: z.boolean(),
  webhookUrl: z.string().nullable().meta({ description: "Where the key's OpenAI-dialect tasks send `video.completed` / `video.failed` events." }),
  createdAt: z.string(),
  revokedAt: z.string().nullable(),
  balance: z.number().optional(),
});
const error = z.object({ error: z.string() }).meta({ description: 'What went wrong (400 invalid field, 401, 404 unknown key or task, 409 not in that state).' });
const answers = <T extends z.ZodType>(ok: T) => ({ 200: ok, '4xx': error, '5xx': error });
const switches = z.object({ maintenance: z.boolean(), disabledFeatures: z.array(operations).readonly() });

/** The response schemas of the admin routes, by status. */
export const adminResponses = {
  keys: answers(z.object({ keys: z.array(publicKey) })),
  issued: answers(z.object({ id: z.string(), key: z.string().meta({ description: 'Shown once.' }), webhookSecret: z.string() })),
  key: answers(publicKey),
  revoked: answers(z.object({ revoked: z.literal(true) })),
  rotated: answers(z.object({ key: z.string() })),
  balance: answers(z.object({ balance: z.number() })),
  ledger: answers(
    z.object({
      entries: z.array(
        z.object({
          kind: z.enum(['grant', 'hold', 'capture', 'release', 'adjustment']),
          amount: z.number(),
          taskId: z.string().nullable(),
          note: z.string().nullable(),
          createdAt: z.string(),
        }),
      ),
    }),
  ),
  switches: answers(switches),
  tasks: answers(
    z.object({
      tasks: z.array(
        z.object({
          id: z.string(),
          apiKeyId: z.string(),
          operation: operations,
          state: z.enum(['queued', 'running', 'reconciling', 'succeeded', 'failed']),
          price: z.number(),
          provider: z.string(),
          createdAt: z.string(),
        }),
      ),
    }),
  ),
  settled: answers(z.object({ settled: z.boolean(), outcome: z.enum(['refund', 'charge']) })),
} as const;
