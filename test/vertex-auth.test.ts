import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { after, test } from 'node:test';
import { OutboundHttp } from '../src/net/outbound-http.js';
import { ProviderError } from '../src/ports/video-provider.js';
import { VertexClient } from '../src/providers/vertex/vertex-client.js';
import { AccessTokens, readServiceAccount } from '../src/providers/vertex/vertex-credentials.js';
import { FAKE_VERTEX_PROJECT, startFakeVertex, writeServiceAccountFile } from './helpers/fake-vertex.js';
import { ManualClock } from './helpers/manual-clock.js';

const clock = new ManualClock();
const fake = await startFakeVertex({ now: () => clock.now(), tokenSeconds: 3600 });
const outbound = new OutboundHttp();
after(async () => {
  outbound.close();
  await fake.close();
});

const signal = AbortSignal.timeout(30_000);

test('the token endpoint grants a token for a JWT signed with the service account\'s key (RS256, verified against its public key)', async () => {
  const account = readServiceAccount(writeServiceAccountFile(fake.createServiceAccount()));
  const tokens = new AccessTokens({ account, outbound, timeoutMs: 10_000, now: () => clock.now() });
  const token = await tokens.token(signal);
  assert.match(token, /^ya29\.fake-/);
  assert.deepEqual(fake.exchanges.at(-1), { clientEmail: account.clientEmail, granted: true });
});

test('a JWT signed with another key is refused (invalid signature), and the refusal is not retryable', async () => {
  const genuine = fake.createServiceAccount('impostor@segue-test-project.iam.gserviceaccount.com');
  const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const forged = { ...genuine, private_key: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString() };
  const tokens = new AccessTokens({ account: readServiceAccount(writeServiceAccountFile(forged)), outbound, timeoutMs: 10_000, now: () => clock.now() });
  const refused = await tokens.token(signal).then(() => undefined, (error: unknown) => error);
  assert.ok(refused instanceof ProviderError, 'refused');
  assert.equal(refused.isRetryable, false);
  assert.match(refused.message, /invalid_grant/);
  assert.doesNotMatch(refused.message, /PRIVATE KEY/);
  assert.deepEqual(fake.exchanges.at(-1), { clientEmail: genuine['client_email'], granted: false, error: 'Invalid JWT Signature.' });
});

test('a token is cached until a minute before it expires, then renewed; concurrent callers share one exchange', async () => {
  const account = readServiceAccount(writeServiceAccountFile(fake.createServiceAccount()));
  const client = new VertexClient({
    baseUrl: fake.url, storageBaseUrl: fake.url, project: FAKE_VERTEX_PROJECT, location: 'us-central1',
    account, timeoutMs: 10_000, maxDownloadBytes: 10 * 1024 * 1024, now: () => clock.now(),
  });
  after(() => client.close());
  const [first, second] = await Promise.all([client.tokens.token(signal), client.tokens.token(signal)]);
  assert.equal(first, second);
  assert.equal(client.tokens.exchanges, 1, 'one exchange for two concurrent callers');
  clock.advance(3600_000 - 120_000);
  assert.equal(await client.tokens.token(signal), first, 'still cached two minutes before expiry');
  assert.equal(client.tokens.exchanges, 1);
  clock.advance(90_000);
  const renewed = await client.tokens.token(signal);
  assert.notEqual(renewed, first, 'renewed within the last minute');
  assert.equal(client.tokens.exchanges, 2);
  // The fake checks every Bearer token's life: a call with the renewed one is accepted.
  const operation = await client.create('veo-3.1-fast-generate-001', { instances: [{ prompt: 'a kite' }], parameters: { sampleCount: 1, durationSeconds: 4, resolution: '720p', generateAudio: true, personGeneration: 'allow_all' } }, signal);
  assert.match(operation, /^projects\/segue-test-project\/locations\/us-central1\/publishers\/google\/models\/veo-3\.1-fast-generate-001\/operations\//);
  assert.equal(fake.requests.at(-1)!.auth, 'valid');
});

test('a key file that is not a service account key stops start-up with what is wrong, never its content', () => {
  const file = writeServiceAccountFile({ client_email: 'x@y.iam.gserviceaccount.com', private_key: '-----BEGIN PRIVATE KEY-----\nnot-a-key-AAAA\n-----END PRIVATE KEY-----\n' });
  assert.throws(() => readServiceAccount(file), (error: Error) => /not a readable PEM key/.test(error.message) && !error.message.includes('not-a-key-AAAA'));
});

test('a token the upstream stops accepting (401) is renewed once and the call goes through', async () => {
  const account = readServiceAccount(writeServiceAccountFile(fake.createServiceAccount()));
  const client = new VertexClient({
    baseUrl: fake.url, storageBaseUrl: fake.url, project: FAKE_VERTEX_PROJECT, location: 'us-central1',
    account, timeoutMs: 10_000, maxDownloadBytes: 10 * 1024 * 1024, now: () => clock.now(),
  });
  after(() => client.close());
  const body = { instances: [{ prompt: 'a kite' }], parameters: { sampleCount: 1 as const, durationSeconds: 4, resolution: '720p' as const, generateAudio: false, personGeneration: 'allow_all' as const } };
  await client.create('veo-3.1-generate-001', body, signal);
  assert.equal(client.tokens.exchanges, 1);
  await fetch(`${fake.url}/_fake/revoke-tokens`, { method: 'POST' });
  const seen = fake.requests.length;
  const operation = await client.create('veo-3.1-generate-001', body, signal);
  assert.match(operation, /operations\//);
  assert.equal(client.tokens.exchanges, 2, 'renewed after the 401');
  assert.deepEqual(fake.requests.slice(seen).map((request) => request.auth), ['invalid', 'valid']);
  await fetch(`${fake.url}/_fake/revoke-tokens`, { method: 'POST' });
  const missingModel = await client.create('veo-3.1-generate-preview', body, signal).then(() => undefined, (error: unknown) => error);
  assert.ok(missingModel instanceof ProviderError && !missingModel.isRetryable, 'a retired model is not worth retrying');
  assert.match(missingModel.message, /^Vertex 404 NOT_FOUND: Publisher Model/);
  assert.doesNotMatch(missingModel.message, /ya29\./);
});
