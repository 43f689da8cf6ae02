import fs from 'node:fs';
import path from 'node:path';
import { Ajv, type ValidateFunction } from 'ajv';
import addFormats from 'ajv-formats';
import { sharedDirectory, sharedMissing } from './shared-material.js';

/** The universal dialect's published OpenAPI files, read from ../shared/reference as they are. */
const referenceDirectory = path.join(sharedDirectory, 'reference');

const ajv = new Ajv({ strict: false, allErrors: true });
(addFormats as unknown as (instance: Ajv) => void)(ajv);

function responseSchema(file: string, method: 'get' | 'post'): ValidateFunction {
  const document = JSON.parse(fs.readFileSync(path.join(referenceDirectory, file), 'utf8'));
  const schema = document.paths['/v2/video/generations'][method].responses['200'].content['application/json'].schema;
  return ajv.compile(schema);
}

/** Every model's create-reply schema, by model id (from the request schema's `model` enum); empty without ../shared. */
export const createReplySchemas: Record<string, ValidateFunction> = sharedMissing ? {} : Object.fromEntries(
  fs
    .readdirSync(referenceDirectory)
    .filter((file) => file.endsWith('.openapi.json') && !file.includes('fetch'))
    .map((file) => {
      const document = JSON.parse(fs.readFileSync(path.join(referenceDirectory, file), 'utf8'));
      const model = document.paths['/v2/video/generations'].post.requestBody.content['application/json'].schema.properties.model.enum[0];
      return [model as string, responseSchema(file, 'post')];
    }),
);

/** The fetch-reply schema; undefined without ../shared. */
export const fetchReplySchema: ValidateFunction | undefined = sharedMissing ? undefined : responseSchema('aimlapi-universal-video-fetch.openapi.json', 'get');

/**
 * Asserts a reply matches a published schema, with Ajv's complaints as the message. Without
 * ../shared there is no schema to match: the tests that are about the schemas skip visibly
 * (`sharedMissing`), and the others keep every assertion of their own.
 */
export function assertMatches(validate: ValidateFunction | undefined, reply: unknown, what: string): void {
  if (validate && !validate(reply)) {
    throw new Error(`${what} does not match the published schema: ${ajv.errorsText(validate.errors)}\n${JSON.stringify(reply)}`);
  }
}

export const fixturesDirectory = path.join(sharedDirectory, 'fixtures');
