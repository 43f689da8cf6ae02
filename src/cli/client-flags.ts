import fs from 'node:fs';
import path from 'node:path';
import { SegueClient } from '../client/index.js';
import { UsageError } from './cli-support.js';
import { progressDisplay } from './progress-display.js';

/** The flags every command that talks to a Segue server over HTTP takes. */
export const connectionOptions = {
  'base-url': { type: 'string' },
  key: { type: 'string' },
} as const;

/** Where the people's commands go: `--base-url` or SEGUE_URL (default the local `npm start`), `--key` or SEGUE_API_KEY. */
export function clientFrom(values: { 'base-url'?: string | undefined; key?: string | undefined }): SegueClient {
  const baseUrl = values['base-url'] ?? process.env['SEGUE_URL'] ?? 'http://127.0.0.1:8080';
  const apiKey = values.key ?? process.env['SEGUE_API_KEY'];
  if (!apiKey) throw new UsageError('give an API key: --key KEY or SEGUE_API_KEY');
  if (!URL.canParse(baseUrl)) throw new UsageError(`not a URL: ${baseUrl} (--base-url or SEGUE_URL)`);
  return new SegueClient({ baseUrl, apiKey });
}

/** An optional whole-number flag. */
export function integerFlag(name: string, value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  if (!/^\d+$/.test(value)) throw new UsageError(`--${name} must be a whole number`);
  return Number(value);
}

/** True for what the API fetches itself: an http(s) link or a data: URI. */
export const isLink = (value: string) => /^(https?:|data:)/i.test(value);

const imageTypes: Record<string, string> = { '.png': 'image/png', '.jpg': 'image/jpeg', '.jpeg': 'image/jpeg', '.webp': 'image/webp', '.gif': 'image/gif' };

/** An `--image` as the API takes it: a link as is, a local file as a data: URI. */
export function imageUrl(value: string): string {
  if (isLink(value)) return value;
  const type = imageTypes[path.extname(value).toLowerCase()];
  if (!type) throw new UsageError(`--image ${value}: give a .png, .jpg, .webp or .gif file, or a URL`);
  if (!fs.existsSync(value)) throw new UsageError(`--image ${value}: no such file`);
  return `data:${type};base64,${fs.readFileSync(value).toString('base64')}`;
}

/**
 * After a create: the task id on stdout (the only thing there, so `ID=$(segue generate …)`
 * works), then, if asked, progress on stderr until the task ends, and the video saved to `out`.
 * A failed task rejects with TaskFailedError (exit code 1).
 */
export async function reportTask(client: SegueClient, id: string, options: { wait: boolean; out: string | undefined }): Promise<void> {
  process.stdout.write(`${id}\n`);
  if (!options.wait && !options.out) return;
  const display = progressDisplay(process.stderr);
  try {
    // People watch the bar: look often at first, never less than every 5 s.
    await client.waitFor(id, { onProgress: (task) => display.update(task), intervalMs: 1000, maxIntervalMs: 5000 });
  } finally {
    display.end();
  }
  if (options.out) {
    const saved = await client.download(id, options.out);
    process.stderr.write(`saved ${saved.path} (${saved.bytes} bytes)\n`);
  }
}
