import fs from 'node:fs';
import path from 'node:path';
import { FakeFalServer, type FakeFalOptions, type FalSeenRequest } from '../../src/fake-upstream/fake-fal-server.js';
import { media } from './media-checks.js';
import { temporaryDirectory } from './test-segue.js';

export const FAKE_FAL_KEY = 'fal-key-id:fal-key-secret-0123456789abcdef';
export const FAKE_FAL_USER = 'user-segue-tests';
process.env['SEGUE_TEST_FAL_KEY'] = FAKE_FAL_KEY;

/** A fake fal queue on a free port (real HTTP, real MP4 bytes, real ED25519 signatures). */
export async function startFakeFal(options: Partial<FakeFalOptions> = {}): Promise<FakeFalServer> {
  const server = new FakeFalServer({ apiKey: FAKE_FAL_KEY, userId: FAKE_FAL_USER, media, workDirectory: temporaryDirectory('fake-fal-'), ...options });
  await server.listen();
  return server;
}

/** A fal entry on the fake, with fast polls; fields can be overridden. */
export function falEntry(fake: FakeFalServer, overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    kind: 'fal',
    apiKeyEnv: 'SEGUE_TEST_FAL_KEY',
    baseUrl: fake.url,
    models: {
      veo3: 'fal-ai/veo3.1',
      veo3_fast: { id: 'fal-ai/veo3.1/fast', pricePerSecond: { audio: 0.15, silent: 0.1 } },
    },
    firstPollSeconds: 0.2,
    pollSeconds: 0.3,
    webhookJwksUrl: fake.jwksUrl,
    webhookUserId: FAKE_FAL_USER,
    ...overrides,
  };
}

/** Writes a providers file of the given entries and routes. */
export function writeProviders(providers: Record<string, unknown>, routes: Record<string, string[]>): string {
  const file = path.join(temporaryDirectory('providers-'), 'providers.json');
  fs.writeFileSync(file, JSON.stringify({ providers, routes }, null, 2));
  return file;
}

/** The submits the fake received (the wire, as fal would see it). */
export function submits(server: FakeFalServer): FalSeenRequest[] {
  return server.requests.filter((request) => request.method === 'POST');
}
