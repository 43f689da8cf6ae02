import fs from 'node:fs';
import type { z } from 'zod';
import { ConfigError } from './config.js';

/**
 * A JSON file that an environment variable names (prices, providers), checked against its
 * schema; a missing, unreadable or invalid file stops start-up naming the variable, the file and
 * every offending path.
 */
export function readJsonConfigFile<Schema extends z.ZodType>(variable: string, file: string, schema: Schema): z.infer<Schema> {
  let raw: unknown;
  try {
    raw = JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch (error) {
    throw new ConfigError(`${variable}: cannot read ${file} as JSON (${(error as Error).message})`);
  }
  const parsed = schema.safeParse(raw);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`);
    throw new ConfigError(`${variable} (${file}):\n  ${problems.join('\n  ')}`);
  }
  return parsed.data;
}
