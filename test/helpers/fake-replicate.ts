import fs from 'node:fs';
import path from 'node:path';
import { FakeReplicateServer, type FakeReplicateOptions, type SeenReplicateRequest } from '../../src/fake-upstream/fake-replicate-server.js';
import { media } from './media-checks.js';
import { temporaryDirectory } from './test-segue.js';

export const FAKE_REPLICATE_TOKEN = 'r8_FakeReplicateToken0123456789abcdef';
process.env['SEGUE_TEST_REPLICATE_TOKEN'] = FAKE_REPLICATE_TOKEN;

/** A fake Replicate on a free port (real HTTP, real MP4 bytes, outputs on a second "delivery" host). */
export async function startFakeReplicate(options: Partial<FakeReplicateOptions> = {}): Promise<FakeReplicateServer> {
  const server = new FakeReplicateServer({ apiToken: FAKE_REPLICATE_TOKEN, media, workDirectory: temporaryDirectory('fake-replicate-'), pollsUntilDone: 2, ...options });
  await server.listen();
  return server;
}

/** A providers file with a Replicate entry "replicate" on the fake (fast polls), then "local"; fields and routes can be overridden. */
export function writeReplicateProvidersFile(fakeUrl: string, replicate: Record<string, unknown> = {}, routes?: Record<string, string[]>): string {
  const file = path.join(temporaryDirectory('providers-'), 'providers.json');
  const content = {
    providers: {
      replicate: {
        kind: 'replicate',
        apiTokenEnv: 'SEGUE_TEST_REPLICATE_TOKEN',
        baseUrl: fakeUrl,
        models: { veo3: 'google/veo-3.1', veo3_fast: 'google/veo-3.1-fast' },
        firstPollSeconds: 0.2,
        pollSeconds: 0.3,
        ...replicate,
      },
      local: { kind: 'local' },
    },
    routes: routes ?? { veo3: ['replicate'], veo3_fast: ['replicate'], 'google/veo3-1-fast-extend-video': ['replicate'], '*': ['local'] },
  };
  fs.writeFileSync(file, JSON.stringify(content, null, 2));
  return file;
}

/** The create calls the fake received (the wire, as Replicate would see it). */
export function creates(server: FakeReplicateServer): SeenReplicateRequest[] {
  return server.requests.filter((request) => request.method === 'POST' && request.path.endsWith('/predictions'));
}
