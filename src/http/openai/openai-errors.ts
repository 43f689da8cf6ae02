import { DomainError, type ErrorCode, RateLimitedError, ValidationError } from '../../domain/errors.js';
import { UnreadableBodyError } from '../json-bodies.js';

/** OpenAI's error body: `{"error": {message, type, param, code}}`. */
export interface OpenAiErrorBody {
  readonly error: { readonly message: string; readonly type: string; readonly param: string | null; readonly code: string | null };
}

/** An answer for a domain error: status, `type`, `code`, and the text (the error's own message when absent). */
type OpenAiAnswer = readonly [status: number, type: string, code: string | null, text?: string | ((error: DomainError) => string)];

const invalid = 'invalid_request_error';

/**
 * OpenAI's status, type and code for every domain error code, in one place. Client mistakes are
 * 4xx, never 5xx. Out of credits is OpenAI's own 429 `insufficient_quota` (what its clients test
 * for), a switched-off feature 403; 503 only for what the server itself cannot do now.
 */
const answers: Readonly<Record<ErrorCode, OpenAiAnswer>> = {
  validation: [400, invalid, 'invalid_value', (error) => (error instanceof UnreadableBodyError ? 'We could not parse the JSON body of your request.' : error.message)],
  not_found: [404, invalid, 'video_not_found', 'No such video, or it belongs to another API key.'],
  source_not_found: [404, invalid, 'video_not_found', 'The video to continue does not exist, or belongs to another API key.'],
  source_not_ready: [409, invalid, 'video_not_ready'],
  upgraded_cannot_extend: [400, invalid, 'video_not_extendable'],
  cannot_extend: [400, invalid, 'video_not_extendable'],
  upgrade_not_allowed: [400, invalid, 'video_not_extendable'],
  upgrade_unavailable: [400, invalid, 'unavailable'],
  invalid_state: [409, invalid, 'invalid_state'],
  unauthorized: [401, invalid, 'invalid_api_key', 'Incorrect API key provided. Create one with `npx segue keys create` on the Segue server.'],
  insufficient_credits: [429, 'insufficient_quota', 'insufficient_quota', (error) => `You exceeded your current quota: this video costs ${error.details['price']} credits.`],
  media: [400, invalid, 'invalid_media'],
  content_policy: [400, invalid, 'moderation_blocked'],
  rate_limited: [429, 'requests', 'rate_limit_exceeded', 'Rate limit reached for requests. Please try again later.'],
  disk_full: [503, 'server_error', 'server_busy', 'The server has no room for new videos now. Please try again later.'],
  maintenance: [503, 'server_error', 'maintenance', 'The service is under maintenance. Please try again later.'],
  unavailable: [503, 'server_error', 'server_busy', 'The server is unavailable for a moment. Please try again shortly.'],
  feature_disabled: [403, invalid, 'feature_disabled', (error) => `This feature (${String(error.details['operation'] ?? '').replace('_', ' ')}) is currently disabled.`],
  idempotency_conflict: [409, invalid, 'idempotency_conflict'],
};

/** What the error handler answers, and how: a `retry-after`, and whether the SDK should retry. */
export interface OpenAiErrorAnswer {
  readonly statusCode: number;
  readonly body: OpenAiErrorBody;
  readonly unexpected: boolean;
  readonly retryAfterSeconds?: number;
  /** False for every answer a retry cannot change (the SDK retries 408, 409, 429 and 5xx unless told `x-should-retry: false`). */
  readonly shouldRetry: boolean;
}

/** Fastify's and the multipart plug-in's own 4xx, worded for OpenAI clients. */
const transportMessages: Readonly<Record<string, string>> = {
  FST_ERR_CTP_BODY_TOO_LARGE: 'The request body is too large.',
  FST_REQ_FILE_TOO_LARGE: 'The uploaded file is too large.',
  FST_FILES_LIMIT: 'Upload one file at most.',
  FST_FIELDS_LIMIT: 'The form has too many fields.',
  FST_PARTS_LIMIT: 'The form has too many parts.',
};

/** The one place where errors become OpenAI-style answers. */
export function openAiError(error: unknown): OpenAiErrorAnswer {
  const body = (statusCode: number, type: string, message: string, param: string | null, code: string | null) => ({
    statusCode,
    body: { error: { message, type, param, code } },
    unexpected: false,
    shouldRetry: statusCode === 429 && type !== 'insufficient_quota' ? true : statusCode >= 500,
  });
  if (error instanceof DomainError) {
    const [status, type, code, text] = answers[error.code];
    const message = text === undefined ? error.message : typeof text === 'string' ? text : text(error);
    const param = error instanceof ValidationError && !(error instanceof UnreadableBodyError) ? (error.field ?? null) : null;
    const retryAfterSeconds = error instanceof RateLimitedError ? error.retryAfterSeconds : undefined;
    return { ...body(status, type, message, param, code), ...(retryAfterSeconds !== undefined ? { retryAfterSeconds } : {}) };
  }
  const transport = error as { code?: string; statusCode?: number; message?: string };
  const statusCode = transport.statusCode ?? 500;
  if (statusCode >= 400 && statusCode < 500) {
    const known = transport.code ? transportMessages[transport.code] : undefined;
    const message = known ?? (transport.code?.startsWith('FST_ERR_CTP') ? 'We could not parse the body of your request.' : (transport.message ?? 'Bad request.'));
    return body(statusCode, invalid, message, null, null);
  }
  return { ...body(500, 'server_error', 'The server had an error while processing your request.', null, null), unexpected: true };
}
