import fs from 'node:fs';
import path from 'node:path';
import { FakeVertexServer, type FakeVertexOptions, type SeenVertexRequest } from '../../src/fake-upstream/fake-vertex-server.js';
import { media } from './media-checks.js';
import { temporaryDirectory } from './test-segue.js';

export const FAKE_VERTEX_PROJECT = 'segue-test-project';
/** The variable the test entries name in `credentialsFileEnv`. */
export const VERTEX_CREDENTIALS_ENV = 'SEGUE_TEST_VERTEX_CREDENTIALS';

/** A fake Vertex AI on a free port (real HTTP, a token endpoint that verifies JWTs, real MP4 bytes). */
export async function startFakeVertex(options: Partial<FakeVertexOptions> = {}): Promise<FakeVertexServer> {
  const server = new FakeVertexServer({ project: FAKE_VERTEX_PROJECT, location: 'us-central1', media, workDirectory: temporaryDirectory('fake-vertex-'), pollsUntilDone: 1, ...options });
  await server.listen();
  return server;
}

/** Writes a service account key file the fake trusts (or the one given) and returns its path. */
export function writeServiceAccountFile(account: Record<string, string>): string {
  const file = path.join(temporaryDirectory('vertex-account-'), 'service-account.json');
  fs.writeFileSync(file, JSON.stringify(account, null, 2), { mode: 0o600 });
  return file;
}

/**
 * Writes a providers file: a Vertex entry "vertex" on the fake (fast polls; its `vertex` fields
 * may be overridden), then "local"; routes may be overridden.
 */
export function writeVertexProvidersFile(fake: FakeVertexServer, vertex: Record<string, unknown> = {}, routes?: Record<string, string[]>): string {
  const file = path.join(temporaryDirectory('providers-'), 'providers.json');
  const content = {
    providers: {
      vertex: {
        kind: 'vertex',
        project: FAKE_VERTEX_PROJECT,
        location: 'us-central1',
        credentialsFileEnv: VERTEX_CREDENTIALS_ENV,
        baseUrl: fake.url,
        storageBaseUrl: fake.url,
        firstPollSeconds: 0.2,
        pollSeconds: 0.3,
        ...vertex,
      },
      local: { kind: 'local' },
    },
    routes: routes ?? { veo3: ['vertex'], veo3_fast: ['vertex'], 'google/veo3-1-fast-extend-video': ['vertex'], '*': ['local'] },
  };
  fs.writeFileSync(file, JSON.stringify(content, null, 2));
  return file;
}

/** The create calls the fake received. */
export function vertexCreates(server: FakeVertexServer): SeenVertexRequest[] {
  return server.requests.filter((request) => request.path.endsWith(':predictLongRunning'));
}
