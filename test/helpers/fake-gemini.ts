import fs from 'node:fs';
import path from 'node:path';
import { FakeGeminiServer, type FakeGeminiOptions, type SeenRequest } from '../../src/fake-upstream/fake-gemini-server.js';
import { media } from './media-checks.js';
import { temporaryDirectory } from './test-segue.js';

export const FAKE_GEMINI_KEY = 'AIzaFakeGeminiKey-0123456789abcdef';
process.env['SEGUE_TEST_GEMINI_KEY'] = FAKE_GEMINI_KEY;

/** A fake Gemini API on a free port (real HTTP, real MP4 bytes). */
export async function startFakeGemini(options: Partial<FakeGeminiOptions> = {}): Promise<FakeGeminiServer> {
  const server = new FakeGeminiServer({ apiKey: FAKE_GEMINI_KEY, media, workDirectory: temporaryDirectory('fake-gemini-'), pollsUntilDone: 1, ...options });
  await server.listen();
  return server;
}

/**
 * Writes a providers file: a Gemini entry "google" on the fake (fast polls), then "local";
 * `google` entry fields and routes can be overridden.
 */
export function writeProvidersFile(fakeUrl: string, google: Record<string, unknown> = {}, routes?: Record<string, string[]>): string {
  const file = path.join(temporaryDirectory('providers-'), 'providers.json');
  const content = {
    providers: {
      google: {
        kind: 'gemini',
        apiKeyEnv: 'SEGUE_TEST_GEMINI_KEY',
        baseUrl: fakeUrl,
        models: { veo3: 'veo-3.1-generate-preview', veo3_fast: 'veo-3.1-fast-generate-preview' },
        firstPollSeconds: 0.2,
        pollSeconds: 0.3,
        ...google,
      },
      local: { kind: 'local' },
    },
    routes: routes ?? { veo3: ['google', 'local'], veo3_fast: ['google', 'local'], '*': ['local'] },
  };
  fs.writeFileSync(file, JSON.stringify(content, null, 2));
  return file;
}

/** The create calls the fake received (the wire, as Google would see it). */
export function creates(server: FakeGeminiServer): SeenRequest[] {
  return server.requests.filter((request) => request.method === 'POST' && request.path.endsWith(':predictLongRunning'));
}
