import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Ajv, type ValidateFunction } from 'ajv';
import addFormats from 'ajv-formats';

/** The universal dialect's published OpenAPI files, read from ../shared/reference as they are. */
const referenceDirectory = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', '..', '..', 'shared', 'reference');

const ajv = new Ajv({ strict: false, allErrors: true });
(addFormats as unknown as (instance: Ajv) => void)(ajv);

function responseSchema(file: string, method: 'get' | 'post'): ValidateFunction {
  const document = JSON.parse(fs.readFileSync(path.join(referenceDirectory, file), 'utf8'));
  const schema = document.paths['/v2/video/generations'][method].responses['200'].content['application/json'].schema;
  return ajv.compile(schema);
}

/** Every model's create-reply schema, by model id (from the request schema's `model` enum). */
export const createReplySchemas: Record<string, ValidateFunction> = Object.fromEntries(
  fs
    .readdirSync(referenceDirectory)
    .filter((file) => file.endsWith('.openapi.json') && !file.includes('fetch'))
    .map((file) => {
      const document = JSON.parse(fs.readFileSync(path.join(referenceDirectory, file), 'utf8'));
      const model = document.paths['/v2/video/generations'].post.requestBody.content['application/json'].schema.properties.model.enum[0];
      return [model as string, responseSchema(file, 'post')];
    }),
);

export const fetchReplySchema = responseSchema('aimlapi-universal-video-fetch.openapi.json', 'get');

/** Asserts a reply matches a published schema, with Ajv's complaints as the message. */
export function assertMatches(validate: ValidateFunction, reply: unknown, what: string): void {
  if (!validate(reply)) {
    throw new Error(`${what} does not match the published schema: ${ajv.errorsText(validate.errors)}\n${JSON.stringify(reply)}`);
  }
}

export const fixturesDirectory = path.join(referenceDirectory, '..', 'fixtures');
