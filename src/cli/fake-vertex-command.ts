import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { FakeVertexServer } from '../fake-upstream/fake-vertex-server.js';
import { MediaTools } from '../media/media-tools.js';
import { UsageError } from './cli-support.js';

export const fakeVertexUsage = `  fake-upstream vertex [--port N] [--project P] [--location L] [--polls N]
                       [--credentials-out FILE]       a fake Vertex AI (Veo 3.1, token endpoint, GCS) for trials and tests;
                                                        writes a service account key file it trusts to FILE`;

/**
 * `segue fake-upstream vertex`: serves the fake until stopped; writes a service account key file
 * (whose token_uri is the fake) and prints the URL and the file as one JSON line.
 */
export async function fakeVertexCommand(args: string[]): Promise<void> {
  const { values } = parseArgs({
    args,
    options: {
      host: { type: 'string', default: '127.0.0.1' },
      port: { type: 'string', default: '8091' },
      project: { type: 'string', default: 'segue-fake-project' },
      location: { type: 'string', default: 'us-central1' },
      polls: { type: 'string', default: '2' },
      'credentials-out': { type: 'string' },
    },
  });
  const port = Number(values.port);
  const polls = Number(values.polls);
  if (!Number.isInteger(port) || port < 0) throw new UsageError('--port must be a port number');
  if (!Number.isInteger(polls) || polls < 0) throw new UsageError('--polls must be a non-negative number');
  const server = new FakeVertexServer({
    host: values.host,
    port,
    project: values.project!,
    location: values.location!,
    pollsUntilDone: polls,
    media: new MediaTools({ ffmpegPath: process.env['SEGUE_FFMPEG'], ffprobePath: process.env['SEGUE_FFPROBE'], defaultTimeoutMs: 120_000 }),
    workDirectory: path.join(os.tmpdir(), `segue-fake-vertex-${process.pid}`),
  });
  const url = await server.listen();
  const credentialsFile = path.resolve(values['credentials-out'] ?? path.join(os.tmpdir(), `segue-fake-vertex-${process.pid}-service-account.json`));
  fs.writeFileSync(credentialsFile, JSON.stringify(server.createServiceAccount(), null, 2), { mode: 0o600 });
  process.stdout.write(`${JSON.stringify({ fake: 'vertex', url, project: values.project, location: values.location, credentialsFile })}\n`);
  const stop = () => server.close().then(() => process.exit(0));
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
}
