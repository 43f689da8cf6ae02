import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { MediaTools } from '../media/media-tools.js';
import { FakeComfyUiServer } from './fake-comfyui-server.js';

/** `segue fake-upstream comfyui`: serves a fake ComfyUI until stopped; prints its URL as one JSON line. */
export async function startFakeComfyUi(args: string[]): Promise<void> {
  const { values } = parseArgs({ args, options: { host: { type: 'string', default: '127.0.0.1' }, port: { type: 'string', default: '8188' }, token: { type: 'string' } } });
  const port = Number(values.port);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new Error('--port must be a port number');
  const server = new FakeComfyUiServer({
    host: values.host,
    port,
    media: new MediaTools({ ffmpegPath: process.env['SEGUE_FFMPEG'], ffprobePath: process.env['SEGUE_FFPROBE'], defaultTimeoutMs: 300_000 }),
    workDirectory: path.join(os.tmpdir(), `segue-fake-comfyui-${process.pid}`),
    ...(values.token ? { token: values.token } : {}),
  });
  const url = await server.listen();
  process.stdout.write(`${JSON.stringify({ fake: 'comfyui', url })}\n`);
  const stop = () => server.close().then(() => process.exit(0));
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
}
