import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { FakeGeminiServer } from '../fake-upstream/fake-gemini-server.js';
import { MediaTools } from '../media/media-tools.js';
import { UsageError } from './cli-support.js';
import { fakeFalCommand, fakeFalUsage } from './fake-fal-command.js';

export const fakeUpstreamUsage = `  fake-upstream gemini [--port N] [--api-key KEY] [--polls N] [--generation-seconds S]
                       [--file-ttl-seconds S] [--webhook-secret whsec_...] [--video-file F]
                                                        a fake Gemini API (Veo 3.1) for trials and tests
${fakeFalUsage}`;

/** `segue fake-upstream gemini`: serves the fake until stopped; prints its URL as one JSON line. */
export async function fakeUpstreamCommand(kind: string | undefined, args: string[]): Promise<void> {
  if (kind === 'fal') return fakeFalCommand(args);
  if (kind !== 'gemini') throw new UsageError('fake-upstream: the fakes are "gemini" and "fal"');
  const { values } = parseArgs({
    args,
    options: {
      host: { type: 'string', default: '127.0.0.1' },
      port: { type: 'string', default: '8090' },
      'api-key': { type: 'string', default: 'fake-gemini-key' },
      polls: { type: 'string', default: '2' },
      'generation-seconds': { type: 'string', default: '0' },
      'file-ttl-seconds': { type: 'string', default: String(2 * 24 * 3600) },
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
  const server = new FakeGeminiServer({
    host: values.host,
    port: number('port'),
    apiKey: values['api-key']!,
    pollsUntilDone: number('polls'),
    generationMs: number('generation-seconds') * 1000,
    fileTtlMs: number('file-ttl-seconds') * 1000,
    webhookDeliveries: number('webhook-deliveries'),
    ...(values['webhook-secret'] ? { webhookSecret: values['webhook-secret'] } : {}),
    ...(values['video-file'] ? { videoFile: path.resolve(values['video-file']) } : {}),
    media: new MediaTools({ ffmpegPath: process.env['SEGUE_FFMPEG'], ffprobePath: process.env['SEGUE_FFPROBE'], defaultTimeoutMs: 120_000 }),
    workDirectory: path.join(os.tmpdir(), `segue-fake-gemini-${process.pid}`),
  });
  const url = await server.listen();
  process.stdout.write(`${JSON.stringify({ fake: 'gemini', url, apiKey: values['api-key'] })}\n`);
  const stop = () => server.close().then(() => process.exit(0));
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
}
