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
 * Fastify validation errors, each carrying its zod issue (see `firstIssue`). A schema's quick
 * check, when it has one (see `withQuickCheck`), answers first.
 */
export const validatorCompiler: FastifySchemaCompiler<z.ZodType> = ({ schema }) => {
  const quickCheck = quickChecks.get(schema);
  return (data) => {
    const quick = quickCheck?.(data);
    if (quick !== undefined) return { value: quick };
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
};

/**
 * A schema's quick check: for a request part it can take at a glance (the usual, valid one of a
 * route clients poll many times a second), the value the schema's parse would give; otherwise
 * undefined, and zod decides (and words any failure). Each must agree with its schema: the
 * schema-compilers test checks every one against zod.
 */
export type QuickCheck<T> = (data: unknown) => T | undefined;

const quickChecks = new WeakMap<z.ZodType, QuickCheck<unknown>>();

/** Gives a schema a quick check (see `QuickCheck`); the schema is returned as it was. */
export function withQuickCheck<S extends z.ZodType>(schema: S, check: QuickCheck<z.output<S>>): S {
  quickChecks.set(schema, check);
  return schema;
}

/** A schema's quick check, if it has one. */
export function quickCheckOf<S extends z.ZodType>(schema: S): QuickCheck<z.output<S>> | undefined {
  return quickChecks.get(schema) as QuickCheck<z.output<S>> | undefined;
}

/**
 * The quick check of `z.object({ [name]: z.string() })` with `.trim()` when `trim`, and with
 * `.min(minLength)` and `.max(maxLength)`: a text value whose length (after trimming) is in
 * bounds gives `{ [name]: value }` (other fields dropped, as z.object does). zod counts code
 * points, this UTF-16 units: no more units than the maximum is no more code points, and a
 * minimum of 0 or 1 is met alike; a longer text (in units) is left to zod.
 */
export function textFieldCheck<N extends string>(name: N, rule: { readonly trim: boolean; readonly minLength: 0 | 1; readonly maxLength: number }): QuickCheck<Record<N, string>> {
  return (data) => {
    if (typeof data !== 'object' || data === null) return undefined;
    const given: unknown = (data as Record<string, unknown>)[name];
    if (typeof given !== 'string') return undefined;
    const value = rule.trim ? given.trim() : given;
    if (value.length < rule.minLength || value.length > rule.maxLength) return undefined;
    return { [name]: value } as Record<N, string>;
  };
}

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
