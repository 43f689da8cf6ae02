import fastifyMultipart from '@fastify/multipart';
import type { FastifyInstance } from 'fastify';
import { ValidationError } from '../../domain/errors.js';
import { UploadedFile } from './openai-requests.js';

/** The most text a form may carry in all: a 20 MiB image as a base64 data URL (OpenAI's limit), and the prompt. */
export const FORM_TEXT_MAX_BYTES = Math.ceil((20 * 1024 * 1024 * 4) / 3) + 64 * 1024;

/** A form part over a limit (413), worded for the client. */
class FormTooLargeError extends Error {
  readonly statusCode = 413;
}

/** `video[id]` → `['video', 'id']`; undefined for a name that is not plain or bracketed words. */
function pathOf(name: string): string[] | undefined {
  const match = /^([A-Za-z0-9_]+)((?:\[[A-Za-z0-9_]+\])*)$/.exec(name);
  if (!match) return undefined;
  return [match[1]!, ...[...match[2]!.matchAll(/\[([A-Za-z0-9_]+)\]/g)].map((part) => part[1]!)];
}

const forbidden = new Set(['__proto__', 'constructor', 'prototype']);

/** Puts one form value at its bracketed path (`input_reference[image_url]` → `{input_reference: {image_url}}`). */
function place(body: Record<string, unknown>, name: string, value: unknown): void {
  const path = pathOf(name);
  if (!path || path.some((part) => forbidden.has(part))) throw new ValidationError(`The form field '${name.slice(0, 100)}' is not one this route takes.`, name.slice(0, 100));
  let target = body;
  for (const part of path.slice(0, -1)) {
    const next = target[part];
    if (next !== undefined && (typeof next !== 'object' || next instanceof UploadedFile)) throw new ValidationError(`The form field '${name}' conflicts with '${part}'.`, name);
    target = (target[part] ??= {}) as Record<string, unknown>;
  }
  const last = path[path.length - 1]!;
  if (target[last] !== undefined) throw new ValidationError(`The form field '${name}' is given more than once.`, name);
  target[last] = value;
}

/**
 * Reads the scope's multipart/form-data bodies before validation, as the official SDK sends
 * every create: fields nested by their bracketed names, the one file allowed kept in memory as
 * an `UploadedFile`. Bounded by few parts, `fileBytes` for the file and FORM_TEXT_MAX_BYTES for
 * all text together; a field cut short by a limit is refused, never read truncated.
 */
export async function readMultipartBodies(app: FastifyInstance, fileBytes: number): Promise<void> {
  await app.register(fastifyMultipart, {
    limits: { fileSize: fileBytes, files: 1, fields: 8, parts: 9, fieldNameSize: 100, fieldSize: FORM_TEXT_MAX_BYTES, headerPairs: 100 },
  });
  app.addHook('preValidation', async (request) => {
    if (!request.isMultipart()) return;
    const body: Record<string, unknown> = {};
    let textBytes = 0;
    for await (const part of request.parts()) {
      if (part.type === 'file') {
        place(body, part.fieldname, new UploadedFile(await part.toBuffer(), part.mimetype, part.filename));
        continue;
      }
      const value = typeof part.value === 'string' ? part.value : JSON.stringify(part.value);
      textBytes += Buffer.byteLength(value);
      if (part.valueTruncated || textBytes > FORM_TEXT_MAX_BYTES) throw new FormTooLargeError('The form fields are too large.');
      place(body, part.fieldname, value);
    }
    request.body = body;
  });
}
