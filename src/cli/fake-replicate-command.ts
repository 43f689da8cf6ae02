import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { FakeReplicateServer } from '../fake-upstream/fake-replicate-server.js';
import { MediaTools } from '../media/media-tools.js';
import { UsageError } from './cli-support.js';

export const fakeReplicateUsage = `  fake-upstream replicate [--port N] [--api-token T] [--polls N] [--generation-seconds S]
                       [--output-ttl-seconds S] [--webhook-secret whsec_...] [--webhook-deliveries N]
                       [--video-file F]          a fake Replicate (google/veo-3.1, google/veo-3.1-fast)`;

/** `segue fake-upstream replicate`: serves the fake until stopped; prints its URL as one JSON line. */
export async function fakeReplicateCommand(args: string[]): Promise<void> {
  const { values } = parseArgs({
    args,
    options: {
      host: { type: 'string', default: '127.0.0.1' },
      port: { type: 'string', default: '8091' },
      'api-token': { type: 'string', default: 'r8_fake-replicate-token' },
      polls: { type: 'string', default: '2' },
      'generation-seconds': { type: 'string', default: '0' },
      'output-ttl-seconds': { type: 'string', default: '3600' },
      'webhook-secret': { type: 'string' },
      'webhook-deliveries': { type: 'string', default: '1' },
      'video-file': { type: 'string' },
    },
  });
  const number = (name: keyof typeof values) => {
    const value = Number(values[name]);
    if (!Number.isFinite(value) || value < 0) throw new UsageError(`--${name} must be a non-negative number`);
    return value;
  };
  const secret = values['webhook-secret'];
  if (secret !== undefined && !secret.startsWith('whsec_')) throw new UsageError('--webhook-secret must be a whsec_ secret');
  const server = new FakeReplicateServer({
    host: values.host,
    port: number('port'),
    apiToken: values['api-token']!,
    pollsUntilDone: number('polls'),
    generationMs: number('generation-seconds') * 1000,
    outputTtlMs: number('output-ttl-seconds') * 1000,
    webhookDeliveries: number('webhook-deliveries'),
    ...(secret ? { webhookSecret: secret } : {}),
    ...(values['video-file'] ? { videoFile: path.resolve(values['video-file']) } : {}),
    media: new MediaTools({ ffmpegPath: process.env['SEGUE_FFMPEG'], ffprobePath: process.env['SEGUE_FFPROBE'], defaultTimeoutMs: 120_000 }),
    workDirectory: path.join(os.tmpdir(), `segue-fake-replicate-${process.pid}`),
  });
  const url = await server.listen();
  process.stdout.write(`${JSON.stringify({ fake: 'replicate', url, deliveryUrl: server.deliveryUrl, apiToken: values['api-token'], webhookSecret: server.webhookSecret })}\n`);
  const stop = () => server.close().then(() => process.exit(0));
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
}
