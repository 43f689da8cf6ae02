import fastJsonStringify, { type Schema } from 'fast-json-stringify';
import type { FastifySchemaCompiler, FastifySchemaValidationError, FastifySerializerCompiler } from 'fastify';
import { z } from 'zod';

/**
 * A zod issue as a scope's schema error formatter receives it: `input` is the value the issue is
 * about (absent when the field was not given), so each dialect can tell "missing" from "wrong".
 */
export type SchemaIssue = z.core.$ZodIssue & { readonly input?: unknown };

/** The request parts Fastify validates, as it names them to schema error formatters. */
export type RequestPart = 'body' | 'querystring' | 'params' | 'headers';

/**
 * Validates a request part with the route's zod schema; the parsed value (defaults, trims,
 * coercions applied) replaces the part. Failures reach the scope's schema error formatter as
 * Fastify validation errors, each carrying its zod issue (see `firstIssue`).
 */
export const validatorCompiler: FastifySchemaCompiler<z.ZodType> =
  ({ schema }) =>
  (data) => {
    const parsed = schema.safeParse(data, { reportInput: true });
    if (parsed.success) return { value: parsed.data };
    return {
      error: parsed.error.issues.map((issue) => ({
        keyword: issue.code,
        instancePath: issue.path.map((part) => `/${String(part)}`).join(''),
        schemaPath: '',
        message: issue.message,
        params: { issue },
      })),
    };
  };

/** The first zod issue of a failed validation (a dialect answers with one message). */
export function firstIssue(errors: readonly FastifySchemaValidationError[]): SchemaIssue {
  return (errors[0]!.params as { issue: SchemaIssue }).issue;
}

/**
 * Compiles a response schema into a fast-json-stringify serializer. fast-json-stringify writes
 * only the properties the schema names, so each response schema must describe every field its
 * route returns. OpenAPI 3.0's `nullable` is what fast-json-stringify reads fastest; a nullable
 * union becomes a union with a null branch, the one form of it that fast-json-stringify takes.
 */
export const serializerCompiler: FastifySerializerCompiler<z.ZodType> = ({ schema }) =>
  fastJsonStringify(nullBranches(z.toJSONSchema(schema, { target: 'openapi-3.0', io: 'output', unrepresentable: 'any' })) as Schema);

function nullBranches(schema: unknown): unknown {
  if (Array.isArray(schema)) return schema.map(nullBranches);
  if (schema === null || typeof schema !== 'object') return schema;
  const copy: Record<string, unknown> = {};
  for (const [keyword, value] of Object.entries(schema)) {
    copy[keyword] =
      keyword === 'properties'
        ? Object.fromEntries(Object.entries(value as object).map(([name, property]) => [name, nullBranches(property)]))
        : nullBranches(value);
  }
  if (copy['nullable'] === true && Array.isArray(copy['anyOf'])) {
    delete copy['nullable'];
    copy['anyOf'] = [...copy['anyOf'], { type: 'null' }];
  }
  return copy;
}
