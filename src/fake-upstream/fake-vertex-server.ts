import { createHash, createPublicKey, createVerify, generateKeyPairSync, type KeyObject, randomBytes, randomUUID } from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { MediaTools } from '../media/media-tools.js';
import { FakeVideoMaker } from './fake-gemini-media.js';
import type { Refusal } from './fake-gemini-rules.js';
import { checkVertexCreateBody, type KnownVideo } from './fake-vertex-rules.js';

export interface FakeVertexOptions {
  readonly host?: string;
  readonly port?: number;
  /** The only project and location served. */
  readonly project: string;
  readonly location: string;
  /** Model ids served; any other (the retired preview ids) answers 404 NOT_FOUND. */
  readonly models?: readonly string[];
  /** Polls answered "not done" before an operation is done. */
  readonly pollsUntilDone?: number;
  /** Lifetime of the access tokens it issues. */
  readonly tokenSeconds?: number;
  readonly media: MediaTools;
  readonly workDirectory: string;
  /** The fake's clock (token lifetimes, JWT windows); a test may share Segue's. */
  readonly now?: () => number;
}

/** Knobs a test turns while the server runs (`POST /_fake/config`). */
interface Behaviour {
  /** Answer the next N creates (-1: all) with this HTTP status and Google's error envelope. */
  failCreates: { status: number; remaining: number } | null;
  /** Answer the next N polls with 429 RESOURCE_EXHAUSTED. */
  throttlePolls: number;
}

interface Operation {
  readonly name: string;
  readonly outcome: 'video' | 'rai' | 'error';
  readonly storageUri: string | null;
  readonly file: Promise<string> | null;
  readonly durationSeconds: number;
  polls: number;
  /** Where the result went when done (a gs:// object), once stored. */
  objectUri: string | null;
}

/** One request as the fake saw it, for tests that watch the wire. */
export interface SeenVertexRequest {
  readonly method: string;
  readonly path: string;
  readonly auth: 'valid' | 'invalid' | 'missing' | 'none';
  readonly body: unknown;
}

const statusNames: Record<number, string> = { 400: 'INVALID_ARGUMENT', 401: 'UNAUTHENTICATED', 403: 'PERMISSION_DENIED', 404: 'NOT_FOUND', 429: 'RESOURCE_EXHAUSTED', 500: 'INTERNAL', 503: 'UNAVAILABLE' };
const CLOUD_PLATFORM = 'https://www.googleapis.com/auth/cloud-platform';

/**
 * A stand-in for Vertex AI's Veo 3.1 endpoints and the bits of Google around them
 * (upstream-providers.md §2, A.2): the OAuth token endpoint (it VERIFIES each JWT assertion's
 * RS256 signature against the service account's public key, its audience, scope and times),
 * `predictLongRunning`, `fetchPredictOperation` (POST), results inline or in a GCS bucket, the
 * GCS JSON API download, RAI filtering, 404 for retired models, 429s. Prompts steer outcomes:
 * `[fake:rai]`, `[fake:error]`.
 */
export class FakeVertexServer {
  readonly requests: SeenVertexRequest[] = [];
  readonly operations = new Map<string, Operation>();
  /** Token exchanges answered (granted or refused). */
  readonly exchanges: Array<{ readonly clientEmail: string | null; readonly granted: boolean; readonly error?: string }> = [];
  private readonly accounts = new Map<string, KeyObject>();
  private readonly tokens = new Map<string, { readonly clientEmail: string; readonly expiresAt: number }>();
  /** `gs://bucket/object` → file. */
  private readonly objects = new Map<string, { readonly path: Promise<string>; readonly video: KnownVideo }>();
  /** sha256 of every video this fake made → its facts (Vertex extends only Veo's own videos). */
  private readonly madeVideos = new Map<string, KnownVideo>();
  private readonly videos: FakeVideoMaker;
  private readonly behaviour: Behaviour = { failCreates: null, throttlePolls: 0 };
  private readonly server: http.Server;
  private readonly now: () => number;
  url = '';

  constructor(private readonly options: FakeVertexOptions) {
    this.now = options.now ?? Date.now;
    this.videos = new FakeVideoMaker(options.media, options.workDirectory);
    this.server = http.createServer((incoming, outgoing) => {
      this.handle(incoming, outgoing).catch((error: Error) => this.send(outgoing, 500, { error: { code: 500, message: error.message, status: 'INTERNAL' } }));
    });
  }

  async listen(): Promise<string> {
    await new Promise<void>((resolve) => this.server.listen(this.options.port ?? 0, this.options.host ?? '127.0.0.1', resolve));
    const { port } = this.server.address() as AddressInfo;
    this.url = `http://${this.options.host ?? '127.0.0.1'}:${port}`;
    return this.url;
  }

  async close(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  get tokenUri(): string {
    return `${this.url}/token`;
  }

  /**
   * A new service account this fake trusts: answers its JSON key file (as Google issues them),
   * whose `token_uri` is this fake. Only the public half stays here.
   */
  createServiceAccount(clientEmail = `segue-${randomBytes(3).toString('hex')}@${this.options.project}.iam.gserviceaccount.com`): Record<string, string> {
    const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    this.accounts.set(clientEmail, publicKey);
    return {
      type: 'service_account',
      project_id: this.options.project,
      private_key_id: randomBytes(20).toString('hex'),
      private_key: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
      client_email: clientEmail,
      token_uri: this.tokenUri,
    };
  }

  /** Trusts an account whose key pair was made elsewhere (its public key in PEM). */
  trust(clientEmail: string, publicKeyPem: string): void {
    this.accounts.set(clientEmail, createPublicKey(publicKeyPem));
  }

  private async handle(incoming: http.IncomingMessage, outgoing: http.ServerResponse): Promise<void> {
    const url = new URL(incoming.url ?? '/', 'http://fake');
    const raw = incoming.method === 'POST' ? await readBody(incoming) : '';
    if (url.pathname.startsWith('/_fake/')) return this.control(url, incoming.method ?? 'GET', safeJson(raw), outgoing);
    if (url.pathname === '/token' && incoming.method === 'POST') return this.token(raw, outgoing);
    const body = raw ? safeJson(raw) : undefined;
    const auth = this.authOf(incoming.headers.authorization);
    if (this.requests.length < 20_000) this.requests.push({ method: incoming.method ?? 'GET', path: url.pathname + url.search, auth, body });
    if (auth !== 'valid') {
      return this.fail(outgoing, { status: 401, code: 'UNAUTHENTICATED', message: 'Request had invalid authentication credentials. Expected OAuth 2 access token, login cookie or other valid authentication credential.' });
    }
    const gcs = /^\/storage\/v1\/b\/([^/]+)\/o\/([^/]+)$/.exec(url.pathname);
    if (gcs && incoming.method === 'GET' && url.searchParams.get('alt') === 'media') return this.download(decodeURIComponent(gcs[1]!), decodeURIComponent(gcs[2]!), outgoing);
    const call = /^\/v1\/projects\/([^/]+)\/locations\/([^/]+)\/publishers\/google\/models\/([A-Za-z0-9._-]+):(predictLongRunning|fetchPredictOperation)$/.exec(url.pathname);
    if (!call || incoming.method !== 'POST') return this.fail(outgoing, { status: 404, code: 'NOT_FOUND', message: `Method not found: ${url.pathname}` });
    const [, project, location, model, verb] = call;
    if (project !== this.options.project) return this.fail(outgoing, { status: 403, code: 'PERMISSION_DENIED', message: `Permission denied on resource project ${project}.` });
    const resource = `projects/${project}/locations/${location}/publishers/google/models/${model}`;
    if (location !== this.options.location || !(this.options.models ?? ['veo-3.1-generate-001', 'veo-3.1-fast-generate-001', 'veo-3.1-lite-generate-001']).includes(model!)) {
      return this.fail(outgoing, { status: 404, code: 'NOT_FOUND', message: `Publisher Model \`${resource}\` was not found or your project does not have access to it.` });
    }
    if (verb === 'predictLongRunning') return this.create(resource, body, outgoing);
    return this.poll(resource, body, outgoing);
  }

  /** The JWT-bearer grant: the assertion's signature, issuer, audience, scope and times are all checked. */
  private token(raw: string, outgoing: http.ServerResponse): void {
    const form = new URLSearchParams(raw);
    const refuse = (error: string, description: string, clientEmail: string | null = null) => {
      this.exchanges.push({ clientEmail, granted: false, error: description });
      this.send(outgoing, 400, { error, error_description: description });
    };
    if (form.get('grant_type') !== 'urn:ietf:params:oauth:grant-type:jwt-bearer') return refuse('unsupported_grant_type', 'Invalid grant_type.');
    const parts = (form.get('assertion') ?? '').split('.');
    if (parts.length !== 3) return refuse('invalid_request', 'Invalid JWT: Token must be a short-lived token and in a reasonable timeframe.');
    const header = safeJson(Buffer.from(parts[0]!, 'base64url').toString()) as { alg?: string } | undefined;
    const claims = safeJson(Buffer.from(parts[1]!, 'base64url').toString()) as { iss?: string; scope?: string; aud?: string; iat?: number; exp?: number } | undefined;
    if (header?.alg !== 'RS256' || !claims) return refuse('invalid_grant', 'Invalid JWT: unsupported algorithm or unreadable claims.');
    const publicKey = claims.iss ? this.accounts.get(claims.iss) : undefined;
    if (!publicKey) return refuse('invalid_grant', 'Invalid JWT Signature.', claims.iss ?? null);
    const signed = createVerify('RSA-SHA256').update(`${parts[0]}.${parts[1]}`).verify(publicKey, Buffer.from(parts[2]!, 'base64url'));
    if (!signed) return refuse('invalid_grant', 'Invalid JWT Signature.', claims.iss!);
    if (claims.aud !== this.tokenUri) return refuse('invalid_grant', 'Invalid JWT: audience is not the token endpoint.', claims.iss!);
    if (!String(claims.scope ?? '').split(' ').includes(CLOUD_PLATFORM)) return refuse('invalid_scope', 'The cloud-platform scope is required.', claims.iss!);
    const nowSeconds = Math.floor(this.now() / 1000);
    const { iat, exp } = claims;
    if (typeof iat !== 'number' || typeof exp !== 'number' || exp - iat > 3600 || iat > nowSeconds + 300 || exp < nowSeconds) {
      return refuse('invalid_grant', 'Invalid JWT: Token must be a short-lived token (60 minutes) and in a reasonable timeframe.', claims.iss!);
    }
    const accessToken = `ya29.fake-${randomBytes(24).toString('base64url')}`;
    const lifetime = this.options.tokenSeconds ?? 3599;
    this.tokens.set(accessToken, { clientEmail: claims.iss!, expiresAt: this.now() + lifetime * 1000 });
    this.exchanges.push({ clientEmail: claims.iss!, granted: true });
    this.send(outgoing, 200, { access_token: accessToken, expires_in: lifetime, token_type: 'Bearer' });
  }

  private authOf(header: string | undefined): SeenVertexRequest['auth'] {
    if (!header) return 'missing';
    const token = /^Bearer (.+)$/.exec(header)?.[1];
    const known = token ? this.tokens.get(token) : undefined;
    return known && this.now() < known.expiresAt ? 'valid' : 'invalid';
  }

  private create(resource: string, body: unknown, outgoing: http.ServerResponse): void {
    const failing = this.behaviour.failCreates;
    if (failing && failing.remaining !== 0) {
      if (failing.remaining > 0) failing.remaining--;
      return this.fail(outgoing, { status: failing.status, code: statusNames[failing.status] ?? 'UNKNOWN', message: failing.status === 429 ? 'Quota exceeded for aiplatform.googleapis.com/online_prediction_requests_per_base_model.' : 'The service is currently unavailable.' });
    }
    const refusal = checkVertexCreateBody(body, {
      bytes: (base64) => this.madeVideos.get(sha256(Buffer.from(base64, 'base64'))),
      object: (uri) => {
        const object = this.objects.get(uri);
        return object ? object.video : 'missing';
      },
    });
    if (refusal) return this.fail(outgoing, refusal);
    const root = body as { instances: Array<{ prompt: string; image?: { bytesBase64Encoded?: string }; video?: { bytesBase64Encoded?: string; gcsUri?: string } }>; parameters?: { aspectRatio?: '16:9' | '9:16'; durationSeconds?: number; storageUri?: string } };
    const instance = root.instances[0]!;
    const source = instance.video ? (instance.video.gcsUri ? (this.objects.get(instance.video.gcsUri)!.video) : this.madeVideos.get(sha256(Buffer.from(instance.video.bytesBase64Encoded!, 'base64')))!) : undefined;
    const outcome = instance.prompt.includes('[fake:rai]') ? 'rai' : instance.prompt.includes('[fake:error]') ? 'error' : 'video';
    const durationSeconds = source ? source.durationSeconds + 7 : Number(root.parameters?.durationSeconds ?? 8);
    const aspectRatio = root.parameters?.aspectRatio ?? '16:9';
    let file: Promise<string> | null = null;
    if (outcome === 'video') {
      const image = instance.image?.bytesBase64Encoded;
      file = (image ? this.videos.fromImage(aspectRatio, durationSeconds, Buffer.from(image, 'base64')) : this.videos.video(aspectRatio, durationSeconds)).then(async (path) => {
        this.madeVideos.set(sha256(await fs.promises.readFile(path)), { durationSeconds });
        return path;
      });
      file.catch(() => undefined);
    }
    const name = `${resource}/operations/${randomUUID()}`;
    this.operations.set(name, { name, outcome, storageUri: root.parameters?.storageUri ?? null, file, durationSeconds, polls: 0, objectUri: null });
    this.send(outgoing, 200, { name });
  }

  private async poll(resource: string, body: unknown, outgoing: http.ServerResponse): Promise<void> {
    if (this.behaviour.throttlePolls > 0) {
      this.behaviour.throttlePolls--;
      return this.fail(outgoing, { status: 429, code: 'RESOURCE_EXHAUSTED', message: 'Quota exceeded for aiplatform.googleapis.com/online_prediction_requests_per_base_model.' });
    }
    const name = (body as { operationName?: unknown } | undefined)?.operationName;
    if (typeof name !== 'string' || !name.startsWith(`${resource}/operations/`)) return this.fail(outgoing, { status: 400, code: 'INVALID_ARGUMENT', message: 'operationName must name an operation of this model.' });
    const operation = this.operations.get(name);
    if (!operation) return this.fail(outgoing, { status: 404, code: 'NOT_FOUND', message: `Operation ${name} not found.` });
    operation.polls++;
    const rendered = operation.file ? await Promise.race([operation.file.then(() => true), new Promise<boolean>((resolve) => setImmediate(() => resolve(false)))]) : true;
    if (operation.polls <= (this.options.pollsUntilDone ?? 2) || !rendered) return this.send(outgoing, 200, { name, metadata: {} });
    this.send(outgoing, 200, await this.doneAnswer(operation));
  }

  private async doneAnswer(operation: Operation): Promise<unknown> {
    const { name } = operation;
    if (operation.outcome === 'error') return { name, done: true, error: { code: 13, message: 'Video generation failed due to an internal error.' } };
    const type = 'type.googleapis.com/cloud.ai.large_models.vision.GenerateVideoResponse';
    if (operation.outcome === 'rai') {
      return { name, done: true, response: { '@type': type, raiMediaFilteredCount: 1, raiMediaFilteredReasons: ['Your current safety filter threshold prohibited one or more videos.'], videos: [] } };
    }
    const path = await operation.file!;
    let video: Record<string, string>;
    if (operation.storageUri) {
      operation.objectUri ??= `${operation.storageUri.replace(/\/$/, '')}/${name.split('/').pop()}/sample_0.mp4`;
      this.objects.set(operation.objectUri, { path: Promise.resolve(path), video: { durationSeconds: operation.durationSeconds } });
      video = { gcsUri: operation.objectUri, mimeType: 'video/mp4' };
    } else {
      video = { bytesBase64Encoded: (await fs.promises.readFile(path)).toString('base64'), mimeType: 'video/mp4' };
    }
    return { name, done: true, response: { '@type': type, raiMediaFilteredCount: 0, videos: [video] } };
  }

  private async download(bucket: string, object: string, outgoing: http.ServerResponse): Promise<void> {
    const stored = this.objects.get(`gs://${bucket}/${object}`);
    if (!stored) return this.fail(outgoing, { status: 404, code: 'NOT_FOUND', message: `No such object: ${bucket}/${object}` });
    const filePath = await stored.path;
    const { size } = await fs.promises.stat(filePath);
    outgoing.writeHead(200, { 'content-type': 'video/mp4', 'content-length': size });
    fs.createReadStream(filePath).pipe(outgoing);
  }

  private control(url: URL, method: string, body: unknown, outgoing: http.ServerResponse): void {
    if (url.pathname === '/_fake/config' && method === 'POST') {
      const changes = (body ?? {}) as Partial<Behaviour>;
      if ('failCreates' in changes) this.behaviour.failCreates = changes.failCreates ?? null;
      if (typeof changes.throttlePolls === 'number') this.behaviour.throttlePolls = changes.throttlePolls;
      return this.send(outgoing, 200, this.behaviour);
    }
    if (url.pathname === '/_fake/requests') return this.send(outgoing, 200, this.requests);
    if (url.pathname === '/_fake/exchanges') return this.send(outgoing, 200, this.exchanges);
    if (url.pathname === '/_fake/service-account' && method === 'POST') return this.send(outgoing, 200, this.createServiceAccount());
    if (url.pathname === '/_fake/revoke-tokens' && method === 'POST') {
      const revoked = this.tokens.size;
      this.tokens.clear();
      return this.send(outgoing, 200, { revoked });
    }
    this.fail(outgoing, { status: 404, code: 'NOT_FOUND', message: 'unknown control path' });
  }

  private fail(outgoing: http.ServerResponse, refusal: Refusal): void {
    this.send(outgoing, refusal.status, { error: { code: refusal.status, message: refusal.message, status: refusal.code } }, refusal.status === 429 ? { 'retry-after': '1' } : {});
  }

  private send(outgoing: http.ServerResponse, status: number, value: unknown, headers: Record<string, string> = {}): void {
    const text = JSON.stringify(value);
    outgoing.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(text), ...headers }).end(text);
  }
}

function sha256(bytes: Buffer): string {
  return createHash('sha256').update(bytes).digest('hex');
}

async function readBody(incoming: http.IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of incoming) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}
