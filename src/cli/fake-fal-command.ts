import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { FakeFalServer } from '../fake-upstream/fake-fal-server.js';
import { MediaTools } from '../media/media-tools.js';
import { UsageError } from './cli-support.js';

export const fakeFalUsage = `  fake-upstream fal [--port N] [--api-key KEY] [--polls-in-queue N] [--polls-in-progress N]
                    [--generation-seconds S] [--file-ttl-seconds S] [--user-id ID]
                                                        a fake fal.ai queue (Veo 3.1) for trials and tests`;

/** `segue fake-upstream fal`: serves the fake until stopped; prints its URL, key and JWKS URL as one JSON line. */
export async function fakeFalCommand(args: string[]): Promise<void> {
  const { values } = parseArgs({
    args,
    options: {
      host: { type: 'string', default: '127.0.0.1' },
      port: { type: 'string', default: '8091' },
      'api-key': { type: 'string', default: 'fake-fal-key' },
      'polls-in-queue': { type: 'string', default: '1' },
      'polls-in-progress': { type: 'string', default: '1' },
      'generation-seconds': { type: 'string' },
      'file-ttl-seconds': { type: 'string', default: String(7 * 24 * 3600) },
      'user-id': { type: 'string', default: 'fake-user' },
      'webhook-deliveries': { type: 'string', default: '1' },
    },
  });
  const number = (name: keyof typeof values) => {
    const value = Number(values[name]);
    if (!Number.isFinite(value) || value < 0) throw new UsageError(`--${name} must be a non-negative number`);
    return value;
  };
  const server = new FakeFalServer({
    host: values.host,
    port: number('port'),
    apiKey: values['api-key']!,
    userId: values['user-id']!,
    pollsInQueue: number('polls-in-queue'),
    pollsInProgress: number('polls-in-progress'),
    ...(values['generation-seconds'] !== undefined ? { generationMs: number('generation-seconds') * 1000 } : {}),
    fileTtlMs: number('file-ttl-seconds') * 1000,
    webhookDeliveries: number('webhook-deliveries'),
    media: new MediaTools({ ffmpegPath: process.env['SEGUE_FFMPEG'], ffprobePath: process.env['SEGUE_FFPROBE'], defaultTimeoutMs: 120_000 }),
    workDirectory: path.join(os.tmpdir(), `segue-fake-fal-${process.pid}`),
  });
  const url = await server.listen();
  process.stdout.write(`${JSON.stringify({ fake: 'fal', url, apiKey: values['api-key'], jwksUrl: server.jwksUrl, userId: values['user-id'] })}\n`);
  const stop = () => server.close().then(() => process.exit(0));
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
}
