import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import type { MediaTools } from '../media/media-tools.js';
import { FakeVideoMaker } from './fake-gemini-media.js';
import { checkFalInput, type FakeSubpath, falSubpaths } from './fake-fal-rules.js';
import { FakeFalSigner } from './fake-fal-webhooks.js';

export interface FakeFalOptions {
  readonly host?: string;
  readonly port?: number;
  /** The only key accepted (`Authorization: Key …`). */
  readonly apiKey: string;
  /** The account id fal signs webhooks for. */
  readonly userId?: string;
  /** Status reads answered `IN_QUEUE`, then `IN_PROGRESS`, before a request may be `COMPLETED`. */
  readonly pollsInQueue?: number;
  readonly pollsInProgress?: number;
  /** With it, a request is also done this long after its submit, polled or not (webhook trials). */
  readonly generationMs?: number;
  /** How long an output link works (fal's CDN links expire). */
  readonly fileTtlMs?: number;
  /** Deliveries of each webhook (at-least-once: more than one tests deduplication). */
  readonly webhookDeliveries?: number;
  readonly media: MediaTools;
  readonly workDirectory: string;
  /** The fake's clock (link expiry, webhook timestamps); a test may share Segue's. */
  readonly now?: () => number;
}

/** Knobs a test turns while the server runs (`POST /_fake/config`). */
interface Behaviour {
  /** Answer the next N submits (-1: all) with this HTTP status. */
  failSubmits: { status: number; remaining: number } | null;
  /** Answer the next N status reads with 429. */
  throttleStatus: number;
}

type Outcome = 'video' | 'policy' | 'error' | 'error_with_key' | 'stuck' | 'source_unreachable';

interface QueuedRequest {
  readonly id: string;
  readonly gatewayId: string;
  /** The endpoint id without the subpath: the only prefix its status/result/cancel URLs take. */
  readonly endpoint: string;
  readonly subpath: FakeSubpath;
  readonly createdAt: number;
  readonly input: Record<string, unknown>;
  readonly webhookUrl: string | null;
  outcome: Outcome;
  polls: number;
  cancelled: boolean;
  completedAt: number | null;
  file: Promise<string> | null;
  fileId: string | null;
}

interface ServedFile {
  readonly path: Promise<string>;
  readonly createdAt: number;
}

/** One request as the fake saw it, for tests that watch the wire. */
export interface FalSeenRequest {
  readonly method: string;
  readonly path: string;
  /** What the Authorization header held: the key, another key, or nothing. */
  readonly key: 'valid' | 'invalid' | 'missing';
  readonly body: unknown;
}

/**
 * A stand-in for fal.ai's queue (upstream-providers.md §3.1 and A.3) that speaks its wire
 * protocol: submit to `/{endpoint}[/{subpath}]` with `Authorization: Key …`; answers whose
 * `status_url`, `response_url` and `cancel_url` drop the subpath (URLs rebuilt with it are 404);
 * `IN_QUEUE` → `IN_PROGRESS` → `COMPLETED`; results `{"video": {"url"}}` on an expiring file
 * link; cancel before start; 422 validation errors; request errors with `error_type`; 429s;
 * ED25519-signed webhooks with the keys at `/.well-known/jwks.json`. An extension fetches its
 * `video_url` (so it must be reachable) and answers the whole video, source + 7 s. Prompts steer
 * outcomes: `[fake:policy]`, `[fake:error]`, `[fake:error-with-key]`, `[fake:stuck]`.
 */
export class FakeFalServer {
  readonly requests: FalSeenRequest[] = [];
  readonly queue = new Map<string, QueuedRequest>();
  /** Webhook deliveries the fake made (target URL and the answer it got). */
  readonly deliveries: Array<{ url: string; status: number }> = [];
  private readonly files = new Map<string, ServedFile>();
  private readonly videos: FakeVideoMaker;
  private readonly behaviour: Behaviour = { failSubmits: null, throttleStatus: 0 };
  private readonly server: http.Server;
  private readonly timers = new Set<NodeJS.Timeout>();
  private readonly signer: FakeFalSigner;
  private readonly now: () => number;
  url = '';

  constructor(private readonly options: FakeFalOptions) {
    this.now = options.now ?? Date.now;
    this.videos = new FakeVideoMaker(options.media, options.workDirectory);
    this.signer = new FakeFalSigner(options.userId ?? 'fake-user');
    this.server = http.createServer((incoming, outgoing) => {
      this.handle(incoming, outgoing).catch((error: Error) => this.send(outgoing, 500, { detail: error.message, error_type: 'internal_error' }));
    });
    this.server.keepAliveTimeout = 60_000;
  }

  async listen(): Promise<string> {
    await new Promise<void>((resolve) => this.server.listen(this.options.port ?? 0, this.options.host ?? '127.0.0.1', resolve));
    const { port } = this.server.address() as AddressInfo;
    this.url = `http://${this.options.host ?? '127.0.0.1'}:${port}`;
    return this.url;
  }

  /** The JWKS URL a Segue entry verifies this fake's webhooks with. */
  get jwksUrl(): string {
    return `${this.url}/.well-known/jwks.json`;
  }

  async close(): Promise<void> {
    for (const timer of this.timers) clearTimeout(timer);
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  /** Signs a webhook body as fal does (tests forge and replay with it). */
  signWebhook(requestId: string, userId: string, timestamp: number, body: string): string {
    return this.signer.sign(requestId, userId, timestamp, body);
  }

  private async handle(incoming: http.IncomingMessage, outgoing: http.ServerResponse): Promise<void> {
    const url = new URL(incoming.url ?? '/', 'http://fake');
    const method = incoming.method ?? 'GET';
    const body = method === 'POST' ? await readJson(incoming) : undefined;
    if (url.pathname.startsWith('/_fake/')) return this.control(url, method, body, outgoing);
    const presented = incoming.headers.authorization;
    const key = presented === undefined ? 'missing' : presented === `Key ${this.options.apiKey}` ? 'valid' : 'invalid';
    if (this.requests.length < 20_000) this.requests.push({ method, path: url.pathname + url.search, key, body });
    if (url.pathname === '/.well-known/jwks.json') return this.send(outgoing, 200, this.signer.jwks());
    // Output files are public links on fal's CDN: no key needed (a client should send none).
    const file = /^\/files\/([a-z0-9]+)\/output\.mp4$/.exec(url.pathname);
    if (file && method === 'GET') return this.serveFile(file[1]!, outgoing);
    if (key !== 'valid') return this.send(outgoing, 401, { detail: key === 'missing' ? 'Missing authorization header' : 'Invalid key' });
    const queued = /^\/(.+)\/requests\/([A-Za-z0-9-]+)(\/status|\/cancel)?$/.exec(url.pathname);
    if (queued) {
      const request = this.queue.get(queued[2]!);
      // The URLs fal answers carry the endpoint id alone: a URL rebuilt with the subpath is not found.
      if (!request || request.endpoint !== queued[1]) return this.send(outgoing, 404, { detail: 'Request not found' });
      if (queued[3] === '/status' && method === 'GET') return this.status(request, url, outgoing);
      if (queued[3] === '/cancel' && method === 'PUT') return this.cancel(request, outgoing);
      if (queued[3] === undefined && method === 'GET') return this.result(request, outgoing);
      return this.send(outgoing, 405, { detail: 'Method Not Allowed' });
    }
    if (method === 'POST' && /^\/[A-Za-z0-9._-]+(\/[A-Za-z0-9._-]+)+$/.test(url.pathname)) return this.submit(url, body, outgoing);
    return this.send(outgoing, 404, { detail: 'Not Found' });
  }

  private submit(url: URL, body: unknown, outgoing: http.ServerResponse): void {
    const failing = this.behaviour.failSubmits;
    if (failing && failing.remaining !== 0) {
      if (failing.remaining > 0) failing.remaining--;
      const status = failing.status;
      return this.send(outgoing, status, status === 429 ? { detail: 'Rate limit exceeded' } : { detail: 'Service temporarily unavailable', error_type: 'runner_scheduling_failure' }, status === 429 ? { 'retry-after': '1' } : {});
    }
    const parts = url.pathname.slice(1).split('/');
    const last = parts.at(-1)!;
    const subpath: FakeSubpath = (falSubpaths as readonly string[]).includes(last) ? (last as FakeSubpath) : '';
    const endpoint = (subpath ? parts.slice(0, -1) : parts).join('/');
    const problems = checkFalInput(subpath, body);
    if (problems.length > 0) return this.send(outgoing, 422, { detail: problems });
    const input = body as Record<string, unknown>;
    const prompt = String(input['prompt']);
    const id = randomUUID();
    const request: QueuedRequest = {
      id,
      gatewayId: id,
      endpoint,
      subpath,
      createdAt: this.now(),
      input,
      webhookUrl: url.searchParams.get('fal_webhook'),
      outcome: prompt.includes('[fake:policy]') ? 'policy' : prompt.includes('[fake:error-with-key]') ? 'error_with_key' : prompt.includes('[fake:error]') ? 'error' : prompt.includes('[fake:stuck]') ? 'stuck' : 'video',
      polls: 0,
      cancelled: false,
      completedAt: null,
      file: null,
      fileId: null,
    };
    if (request.outcome === 'video') {
      request.file = this.render(request);
      request.file.catch(() => {
        request.outcome = 'source_unreachable';
      });
    }
    this.queue.set(id, request);
    if (request.webhookUrl && request.outcome !== 'stuck') this.scheduleWebhook(request);
    const base = `${this.url}/${endpoint}/requests/${id}`;
    this.send(outgoing, 200, { request_id: id, gateway_request_id: request.gatewayId, response_url: base, status_url: `${base}/status`, cancel_url: `${base}/cancel`, queue_position: 0 });
  }

  /** The output: a test pattern (or, from an image, that image moving); an extension is its fetched source's length + 7 s. */
  private async render(request: QueuedRequest): Promise<string> {
    const input = request.input;
    const ratio = input['aspect_ratio'] === '9:16' ? '9:16' : '16:9';
    if (request.subpath === 'extend-video') {
      const source = await this.fetchSource(String(input['video_url']));
      const info = await this.options.media.probe(source);
      const portrait = (info.video?.height ?? 0) > (info.video?.width ?? 0);
      return this.videos.video(portrait ? '9:16' : '16:9', Math.round(info.durationSeconds) + 7);
    }
    const seconds = Number.parseInt(String(input['duration'] ?? '8s'), 10);
    const image = input['image_url'] ?? input['first_frame_url'];
    if (typeof image === 'string' && image.startsWith('data:')) return this.videos.fromImage(ratio, seconds, Buffer.from(image.slice(image.indexOf(',') + 1), 'base64'));
    return this.videos.video(ratio, seconds);
  }

  /** fal fetches the source video itself: from Segue's signed link, which must be reachable. */
  private async fetchSource(link: string): Promise<string> {
    const response = await fetch(link, { signal: AbortSignal.timeout(30_000) });
    if (response.status !== 200) throw new Error(`the video_url answered ${response.status}`);
    await fs.promises.mkdir(this.options.workDirectory, { recursive: true });
    const file = path.join(this.options.workDirectory, `source-${randomUUID()}.mp4`);
    await fs.promises.writeFile(file, Buffer.from(await response.arrayBuffer()));
    return file;
  }

  private async status(request: QueuedRequest, url: URL, outgoing: http.ServerResponse): Promise<void> {
    if (this.behaviour.throttleStatus > 0) {
      this.behaviour.throttleStatus--;
      return this.send(outgoing, 429, { detail: 'Rate limit exceeded' }, { 'retry-after': '1' });
    }
    request.polls++;
    const state = await this.stateOf(request);
    const logs = url.searchParams.get('logs') === '1' ? [{ message: `fake ${state.toLowerCase()}`, level: 'INFO', source: 'user', timestamp: new Date(this.now()).toISOString() }] : null;
    const common = { request_id: request.id, response_url: `${this.url}/${request.endpoint}/requests/${request.id}`, logs };
    if (state === 'IN_QUEUE') return this.send(outgoing, 202, { status: state, queue_position: 0, ...common });
    if (state === 'IN_PROGRESS') return this.send(outgoing, 202, { status: state, ...common });
    const failure = this.requestError(request);
    this.send(outgoing, 200, { status: 'COMPLETED', ...common, metrics: { inference_time: 1.5 }, ...(failure ? { error: failure.detail, error_type: failure.error_type } : {}) });
  }

  private async stateOf(request: QueuedRequest): Promise<'IN_QUEUE' | 'IN_PROGRESS' | 'COMPLETED'> {
    if (request.completedAt !== null || request.cancelled) return 'COMPLETED';
    if (request.outcome === 'stuck') return 'IN_QUEUE';
    const inQueue = this.options.pollsInQueue ?? 1;
    const inProgress = this.options.pollsInProgress ?? 1;
    const byTime = this.options.generationMs !== undefined && this.now() >= request.createdAt + this.options.generationMs;
    if (!byTime && request.polls <= inQueue) return 'IN_QUEUE';
    if (!byTime && request.polls <= inQueue + inProgress) return 'IN_PROGRESS';
    if (request.file && !(await settledWithin(request.file))) return 'IN_PROGRESS';
    request.completedAt = this.now();
    return 'COMPLETED';
  }

  /** fal's request error (flat `detail` + `error_type`) for requests that failed on the runner. */
  private requestError(request: QueuedRequest): { detail: string; error_type: string } | undefined {
    if (request.cancelled) return { detail: 'Request was cancelled', error_type: 'request_cancelled' };
    if (request.outcome === 'error') return { detail: 'The runner failed while generating the video', error_type: 'runner_server_error' };
    if (request.outcome === 'error_with_key') return { detail: `Upstream rejected credentials Key ${this.options.apiKey}`, error_type: 'runner_server_error' };
    return undefined;
  }

  private async result(request: QueuedRequest, outgoing: http.ServerResponse): Promise<void> {
    if (request.completedAt === null && !request.cancelled) return this.send(outgoing, 400, { detail: 'Request is still in progress' });
    const failure = this.requestError(request);
    if (failure) return this.send(outgoing, 500, failure, { 'x-fal-error-type': failure.error_type });
    if (request.outcome === 'policy') {
      return this.send(outgoing, 422, { detail: [{ loc: ['body', 'prompt'], msg: 'The content was flagged by a content checker.', type: 'content_policy_violation', input: request.input['prompt'] }] });
    }
    if (request.outcome === 'source_unreachable') {
      return this.send(outgoing, 422, { detail: [{ loc: ['body', 'video_url'], msg: 'Failed to download the file from the URL.', type: 'file_download_error' }] });
    }
    this.send(outgoing, 200, await this.output(request));
  }

  private async output(request: QueuedRequest): Promise<unknown> {
    if (!request.fileId) {
      request.fileId = randomUUID().replaceAll('-', '');
      this.files.set(request.fileId, { path: request.file!, createdAt: this.now() });
    }
    const { size } = await fs.promises.stat(await request.file!);
    return { video: { url: `${this.url}/files/${request.fileId}/output.mp4`, content_type: 'video/mp4', file_name: 'output.mp4', file_size: size } };
  }

  private cancel(request: QueuedRequest, outgoing: http.ServerResponse): Promise<void> | void {
    if (request.completedAt !== null || request.cancelled || request.polls > (this.options.pollsInQueue ?? 1) && request.outcome !== 'stuck') {
      return this.send(outgoing, 400, { status: 'ALREADY_COMPLETED' });
    }
    request.cancelled = true;
    this.send(outgoing, 202, { status: 'CANCELLATION_REQUESTED' });
  }

  private async serveFile(fileId: string, outgoing: http.ServerResponse): Promise<void> {
    const file = this.files.get(fileId);
    if (!file || this.now() - file.createdAt >= (this.options.fileTtlMs ?? 7 * 24 * 3600_000)) return this.send(outgoing, 404, { detail: 'File not found' });
    const filePath = await file.path;
    const { size } = await fs.promises.stat(filePath);
    outgoing.writeHead(200, { 'content-type': 'video/mp4', 'content-length': size });
    fs.createReadStream(filePath).pipe(outgoing);
  }

  /** Announces the end of a request when it is done, signed as fal signs (several deliveries of one request). */
  private scheduleWebhook(request: QueuedRequest): void {
    const timer = setTimeout(async () => {
      this.timers.delete(timer);
      if (request.file) await request.file.catch(() => undefined);
      request.completedAt ??= this.now();
      const failure = this.requestError(request);
      const ok = !failure && request.outcome === 'video';
      const payload = JSON.stringify({
        request_id: request.id,
        gateway_request_id: request.gatewayId,
        status: ok ? 'OK' : 'ERROR',
        payload: ok ? await this.output(request) : { detail: failure?.detail ?? 'Invalid status code: 422' },
        ...(ok ? {} : { error: 'Invalid status code: 422' }),
      });
      const statuses = await this.signer.deliver(request.webhookUrl!, request.id, payload, this.options.webhookDeliveries ?? 1, this.now);
      for (const status of statuses) this.deliveries.push({ url: request.webhookUrl!, status });
    }, Math.max(0, this.options.generationMs ?? 0));
    this.timers.add(timer);
  }

  private control(url: URL, method: string, body: unknown, outgoing: http.ServerResponse): void {
    if (url.pathname === '/_fake/config' && method === 'POST') {
      const changes = (body ?? {}) as Partial<Behaviour>;
      if ('failSubmits' in changes) this.behaviour.failSubmits = changes.failSubmits ?? null;
      if (typeof changes.throttleStatus === 'number') this.behaviour.throttleStatus = changes.throttleStatus;
      return this.send(outgoing, 200, this.behaviour);
    }
    if (url.pathname === '/_fake/requests') return this.send(outgoing, 200, this.requests);
    if (url.pathname === '/_fake/expire-files' && method === 'POST') {
      for (const [id, file] of this.files) this.files.set(id, { ...file, createdAt: -Infinity });
      return this.send(outgoing, 200, { expired: this.files.size });
    }
    this.send(outgoing, 404, { detail: 'unknown control path' });
  }

  private send(outgoing: http.ServerResponse, status: number, value: unknown, headers: Record<string, string> = {}): void {
    const text = JSON.stringify(value);
    outgoing.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text), ...headers }).end(text);
  }
}

/** Whether a promise has settled by the next turn (a render still running answers "not yet"). */
function settledWithin(promise: Promise<unknown>): Promise<boolean> {
  return Promise.race([promise.then(() => true, () => true), new Promise<boolean>((resolve) => setImmediate(() => resolve(false)))]);
}

async function readJson(incoming: http.IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  let bytes = 0;
  for await (const chunk of incoming) {
    bytes += (chunk as Buffer).length;
    if (bytes > 32 * 1024 * 1024) throw new Error('request body too large');
    chunks.push(chunk as Buffer);
  }
  try {
    return JSON.parse(Buffer.concat(chunks).toString('utf8'));
  } catch {
    return undefined;
  }
}
