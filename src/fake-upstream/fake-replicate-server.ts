import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { standardWebhookSignature } from '../callbacks/webhook-signatures.js';
import type { MediaTools } from '../media/media-tools.js';
import { FakeVideoMaker } from './fake-gemini-media.js';
import { checkInput, isKnownModel, parseCancelAfter } from './fake-replicate-rules.js';

export interface FakeReplicateOptions {
  readonly host?: string;
  readonly port?: number;
  /** The only API token accepted (`Authorization: Bearer …`). */
  readonly apiToken: string;
  /** Reads of a prediction answered `starting`, then `processing`, before it may succeed. */
  readonly pollsUntilDone?: number;
  /** How long a prediction takes, from its create, before it may succeed. */
  readonly generationMs?: number;
  /** How long an output link serves its file (Replicate: about an hour for API predictions). */
  readonly outputTtlMs?: number;
  /** The account's webhook signing secret (`GET /v1/webhooks/default/secret`); generated when absent. */
  readonly webhookSecret?: string;
  /** Deliveries of each webhook (at-least-once: more than one tests deduplication). */
  readonly webhookDeliveries?: number;
  /** False: ignore `Cancel-After` (a prediction runs past its deadline until canceled). */
  readonly honourCancelAfter?: boolean;
  /** Serve this file for every prediction instead of rendering one (benchmarks). */
  readonly videoFile?: string;
  readonly media: MediaTools;
  readonly workDirectory: string;
  readonly now?: () => number;
}

/** Knobs a test turns while the server runs (`POST /_fake/config`). */
interface Behaviour {
  /** Answer the next N creates (-1: all) with this HTTP status and Replicate's problem body. */
  failCreates: { status: number; remaining: number } | null;
  /** Answer the next N reads of a prediction with 429 and `Retry-After`. */
  throttleReads: number;
  /** Answer the next N creates with 429 and `Retry-After`. */
  throttleCreates: number;
}

type Outcome = 'video' | 'failed' | 'sensitive' | 'failed_with_token' | 'queued' | 'stuck';

interface FakePrediction {
  readonly id: string;
  readonly model: string;
  readonly input: Record<string, unknown>;
  readonly createdAt: number;
  readonly readyAt: number;
  readonly deadline: number | null;
  readonly outcome: Outcome;
  readonly webhook: string | null;
  readonly cancelAfter: string | null;
  reads: number;
  status: 'starting' | 'processing' | 'succeeded' | 'failed' | 'canceled' | 'aborted';
  startedAt: number | null;
  completedAt: number | null;
  file: Promise<string> | null;
  outputId: string | null;
  webhookSent: boolean;
}

/** One request as the fake saw it, for tests that watch the wire. */
export interface SeenReplicateRequest {
  readonly method: string;
  readonly path: string;
  readonly token: 'valid' | 'invalid' | 'missing';
  readonly headers: Readonly<Record<string, string | string[] | undefined>>;
  readonly body: unknown;
}

const terminal = new Set(['succeeded', 'failed', 'canceled', 'aborted']);
const titles: Record<number, string> = { 401: 'Unauthenticated', 402: 'Insufficient credit', 404: 'Not found', 422: 'Input validation failed', 429: 'Request was throttled', 500: 'Internal server error', 503: 'Service unavailable' };

/**
 * A stand-in for Replicate's prediction API as `google/veo-3.1` uses it (upstream-providers.md
 * §3.2, A.4): create with `Cancel-After`, reads (`starting` → `processing` → `succeeded` with one
 * output URI), cancel, `aborted` and `canceled` at the deadline, 422 input validation, 429 with
 * `Retry-After`, output links on a separate delivery host that expire, and Standard Webhooks
 * deliveries of the finished prediction. Prompts steer outcomes: `[fake:fail]`, `[fake:sensitive]`,
 * `[fake:fail-with-token]`, `[fake:queued]` (never starts), `[fake:stuck]` (never finishes).
 */
export class FakeReplicateServer {
  readonly requests: SeenReplicateRequest[] = [];
  /** Requests to the delivery host, and whether they carried an `Authorization` header (they never should). */
  readonly downloads: Array<{ readonly path: string; readonly authorization: boolean }> = [];
  readonly predictions = new Map<string, FakePrediction>();
  readonly webhookSecret: string;
  private readonly outputs = new Map<string, { readonly path: Promise<string>; createdAt: number }>();
  private readonly videos: FakeVideoMaker;
  private readonly behaviour: Behaviour = { failCreates: null, throttleReads: 0, throttleCreates: 0 };
  private readonly api: http.Server;
  private readonly delivery: http.Server;
  private readonly timers = new Set<NodeJS.Timeout>();
  private readonly now: () => number;
  url = '';
  deliveryUrl = '';

  constructor(private readonly options: FakeReplicateOptions) {
    this.now = options.now ?? Date.now;
    this.webhookSecret = options.webhookSecret ?? `whsec_${randomBytes(24).toString('base64')}`;
    this.videos = new FakeVideoMaker(options.media, options.workDirectory);
    const guard = (handler: (incoming: http.IncomingMessage, outgoing: http.ServerResponse) => Promise<void>) => (incoming: http.IncomingMessage, outgoing: http.ServerResponse) => {
      handler(incoming, outgoing).catch((error: Error) => this.problem(outgoing, 500, error.message));
    };
    this.api = http.createServer(guard((incoming, outgoing) => this.handle(incoming, outgoing)));
    this.delivery = http.createServer(guard((incoming, outgoing) => this.serveOutput(incoming, outgoing)));
    this.api.keepAliveTimeout = 60_000;
  }

  async listen(): Promise<string> {
    const host = this.options.host ?? '127.0.0.1';
    await new Promise<void>((resolve) => this.api.listen(this.options.port ?? 0, host, resolve));
    await new Promise<void>((resolve) => this.delivery.listen(0, host, resolve));
    this.url = `http://${host}:${(this.api.address() as AddressInfo).port}`;
    this.deliveryUrl = `http://${host}:${(this.delivery.address() as AddressInfo).port}`;
    return this.url;
  }

  async close(): Promise<void> {
    for (const timer of this.timers) clearTimeout(timer);
    for (const server of [this.api, this.delivery]) {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
  }

  private async handle(incoming: http.IncomingMessage, outgoing: http.ServerResponse): Promise<void> {
    const url = new URL(incoming.url ?? '/', 'http://fake');
    const method = incoming.method ?? 'GET';
    const body = method === 'POST' ? await readJson(incoming) : undefined;
    if (url.pathname.startsWith('/_fake/')) return this.control(url, method, body, outgoing);
    const authorization = incoming.headers.authorization;
    const token = authorization === undefined ? 'missing' : authorization === `Bearer ${this.options.apiToken}` ? 'valid' : 'invalid';
    if (this.requests.length < 20_000) this.requests.push({ method, path: url.pathname + url.search, token, headers: incoming.headers, body });
    if (token !== 'valid') return this.problem(outgoing, 401, 'You did not pass a valid authentication token');
    const create = /^\/v1\/models\/([A-Za-z0-9._-]+)\/([A-Za-z0-9._-]+)\/predictions$/.exec(url.pathname);
    if (create && method === 'POST') return this.create(`${create[1]}/${create[2]}`, body, incoming.headers['cancel-after'], outgoing);
    const read = /^\/v1\/predictions\/([A-Za-z0-9]+)$/.exec(url.pathname);
    if (read && method === 'GET') return this.read(read[1]!, outgoing);
    const cancel = /^\/v1\/predictions\/([A-Za-z0-9]+)\/cancel$/.exec(url.pathname);
    if (cancel && method === 'POST') return this.cancel(cancel[1]!, outgoing);
    if (url.pathname === '/v1/webhooks/default/secret' && method === 'GET') return this.send(outgoing, 200, { key: this.webhookSecret });
    return this.problem(outgoing, 404, 'The requested resource could not be found.');
  }

  private create(model: string, body: unknown, cancelAfterHeader: string | string[] | undefined, outgoing: http.ServerResponse): void {
    if (this.behaviour.throttleCreates > 0) {
      this.behaviour.throttleCreates--;
      return this.problem(outgoing, 429, 'Request was throttled. Expected available in 1 second.', { 'retry-after': '1' });
    }
    const failing = this.behaviour.failCreates;
    if (failing && failing.remaining !== 0) {
      if (failing.remaining > 0) failing.remaining--;
      return this.problem(outgoing, failing.status, failing.status === 402 ? 'You have insufficient credit to run this model.' : 'The service is temporarily unavailable.');
    }
    if (!isKnownModel(model)) return this.problem(outgoing, 404, 'The requested resource could not be found.');
    const root = (body ?? {}) as { input?: Record<string, unknown>; webhook?: unknown; webhook_events_filter?: unknown; video?: unknown };
    const invalid = checkInput(model, root.input);
    if (invalid.length > 0) {
      return this.send(outgoing, 422, { title: titles[422], detail: invalid.map((field) => `- ${field.field}: ${field.description}`).join('\n'), status: 422, invalid_fields: invalid });
    }
    if (root.webhook !== undefined && (typeof root.webhook !== 'string' || !/^https?:\/\//.test(root.webhook))) {
      return this.problem(outgoing, 422, '- webhook: Does not match format \'uri\'');
    }
    const cancelAfter = typeof cancelAfterHeader === 'string' ? cancelAfterHeader : null;
    const cancelAfterMs = cancelAfter === null ? undefined : parseCancelAfter(cancelAfter);
    if (cancelAfter !== null && (cancelAfterMs === undefined || cancelAfterMs < 5000)) {
      return this.problem(outgoing, 400, 'Cancel-After must be a duration of at least 5 seconds, such as 30s, 5m or 1h30m.');
    }
    const input = root.input!;
    const prompt = String(input['prompt']);
    const now = this.now();
    const outcome: Outcome = prompt.includes('[fake:fail-with-token]') ? 'failed_with_token' : prompt.includes('[fake:fail]') ? 'failed'
      : prompt.includes('[fake:sensitive]') ? 'sensitive' : prompt.includes('[fake:queued]') ? 'queued' : prompt.includes('[fake:stuck]') ? 'stuck' : 'video';
    const prediction: FakePrediction = {
      id: predictionId(),
      model,
      input,
      createdAt: now,
      readyAt: now + (this.options.generationMs ?? 0),
      deadline: cancelAfterMs !== undefined && this.options.honourCancelAfter !== false ? now + cancelAfterMs : null,
      outcome,
      webhook: typeof root.webhook === 'string' ? root.webhook : null,
      cancelAfter,
      reads: 0,
      status: 'starting',
      startedAt: null,
      completedAt: null,
      file: null,
      outputId: null,
      webhookSent: false,
    };
    if (outcome === 'video') {
      prediction.file = this.render(input);
      prediction.file.catch(() => undefined);
    }
    this.predictions.set(prediction.id, prediction);
    this.schedule(prediction);
    this.send(outgoing, 201, this.view(prediction));
  }

  /** The clip a Veo model would make: real MP4 bytes, from the first frame when an image is given. */
  private async render(input: Record<string, unknown>): Promise<string> {
    if (this.options.videoFile) return this.options.videoFile;
    const aspectRatio = input['aspect_ratio'] === '9:16' ? '9:16' : '16:9';
    const seconds = Number(input['duration'] ?? 8);
    const image = typeof input['image'] === 'string' ? await this.fetchImage(input['image']) : undefined;
    return image ? this.videos.fromImage(aspectRatio, seconds, image) : this.videos.video(aspectRatio, seconds);
  }

  /** Replicate fetches an image URI itself (a data: URI is decoded). */
  private async fetchImage(uri: string): Promise<Buffer> {
    if (uri.startsWith('data:')) return Buffer.from(uri.slice(uri.indexOf(',') + 1), 'base64');
    const response = await fetch(uri, { signal: AbortSignal.timeout(15_000) });
    if (!response.ok) throw new Error(`could not download ${uri}: HTTP ${response.status}`);
    const bytes = Buffer.from(await response.arrayBuffer());
    if (bytes.length > 20 * 1024 * 1024) throw new Error('image larger than 20 MB');
    return bytes;
  }

  private async read(id: string, outgoing: http.ServerResponse): Promise<void> {
    if (this.behaviour.throttleReads > 0) {
      this.behaviour.throttleReads--;
      return this.problem(outgoing, 429, 'Request was throttled. Expected available in 1 second.', { 'retry-after': '1' });
    }
    const prediction = this.predictions.get(id);
    if (!prediction) return this.problem(outgoing, 404, 'The requested resource could not be found.');
    prediction.reads++;
    await this.advance(prediction);
    this.send(outgoing, 200, this.view(prediction));
  }

  private async cancel(id: string, outgoing: http.ServerResponse): Promise<void> {
    const prediction = this.predictions.get(id);
    if (!prediction) return this.problem(outgoing, 404, 'The requested resource could not be found.');
    await this.advance(prediction);
    if (!terminal.has(prediction.status)) this.finish(prediction, 'canceled');
    this.send(outgoing, 200, this.view(prediction));
  }

  /**
   * Moves a prediction on: its deadline first (`aborted` if it never started, `canceled` if it
   * was running), then `starting` → `processing` → its outcome, after its reads and its time.
   */
  private async advance(prediction: FakePrediction, force = false): Promise<void> {
    if (terminal.has(prediction.status)) return;
    const now = this.now();
    if (prediction.deadline !== null && now >= prediction.deadline) return this.finish(prediction, prediction.startedAt === null ? 'aborted' : 'canceled');
    if (prediction.outcome === 'queued') return;
    if (prediction.startedAt === null && (force || prediction.reads > 1 || (this.options.pollsUntilDone ?? 2) === 0)) {
      prediction.startedAt = now;
      prediction.status = 'processing';
    }
    if (prediction.outcome === 'stuck') return;
    const polled = force || prediction.reads > (this.options.pollsUntilDone ?? 2);
    if (!polled || now < prediction.readyAt) return;
    if (prediction.file) {
      const rendered = await Promise.race([prediction.file.then(() => true, () => false), new Promise<boolean>((resolve) => setImmediate(() => resolve(false)))]);
      if (!rendered && !force) return;
      if (!rendered) await prediction.file.catch(() => undefined);
      const failed = await prediction.file.then(() => false, () => true);
      if (failed) return this.finish(prediction, 'failed');
    }
    prediction.startedAt ??= now;
    this.finish(prediction, prediction.outcome === 'video' ? 'succeeded' : 'failed');
  }

  private finish(prediction: FakePrediction, status: FakePrediction['status']): void {
    prediction.status = status;
    prediction.completedAt = this.now();
    if (status === 'succeeded' && prediction.file) {
      prediction.outputId = randomBytes(12).toString('hex');
      this.outputs.set(prediction.outputId, { path: prediction.file, createdAt: this.now() });
    }
    if (prediction.webhook && !prediction.webhookSent) {
      prediction.webhookSent = true;
      void this.deliverWebhook(prediction);
    }
  }

  /** Predictions with a webhook finish on their own (nobody needs to read them); every deadline fires. */
  private schedule(prediction: FakePrediction): void {
    const at = (when: number, action: () => Promise<void>) => {
      const timer = setTimeout(() => {
        this.timers.delete(timer);
        action().catch(() => undefined);
      }, Math.max(0, when - this.now()));
      this.timers.add(timer);
    };
    if (prediction.webhook && prediction.outcome !== 'queued' && prediction.outcome !== 'stuck') {
      at(prediction.readyAt, async () => {
        await prediction.file?.catch(() => undefined);
        await this.advance(prediction, true);
      });
    }
    if (prediction.deadline !== null) at(prediction.deadline, () => this.advance(prediction));
  }

  /** The `completed` event, as Standard Webhooks: several deliveries of one id when asked. */
  private async deliverWebhook(prediction: FakePrediction): Promise<void> {
    const payload = JSON.stringify(this.view(prediction));
    const id = `msg_${randomBytes(12).toString('hex')}`;
    for (let delivery = 0; delivery < (this.options.webhookDeliveries ?? 1); delivery++) {
      const timestamp = Math.floor(this.now() / 1000);
      await fetch(prediction.webhook!, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'webhook-id': id, 'webhook-timestamp': String(timestamp), 'webhook-signature': standardWebhookSignature(this.webhookSecret, id, timestamp, payload) },
        body: payload,
        signal: AbortSignal.timeout(10_000),
      }).then((response) => response.body?.cancel(), () => undefined);
    }
  }

  /** A prediction object as Replicate answers it. */
  private view(prediction: FakePrediction): Record<string, unknown> {
    const base = `${this.url}/v1/predictions/${prediction.id}`;
    const iso = (time: number | null) => (time === null ? null : new Date(time).toISOString());
    const error = prediction.status === 'failed'
      ? prediction.outcome === 'sensitive'
        ? 'The input or output was flagged as sensitive. Please try again with different inputs. (E005)'
        : prediction.outcome === 'failed_with_token'
          ? `Upstream call with token ${this.options.apiToken} failed`
          : 'Prediction failed: the model could not generate a video for this input.'
      : null;
    return {
      id: prediction.id,
      model: prediction.model,
      version: 'hidden',
      input: prediction.input,
      logs: prediction.startedAt === null ? '' : 'Generating video...\n',
      output: prediction.outputId ? `${this.deliveryUrl}/xezq/${prediction.outputId}/tmp.mp4` : null,
      data_removed: false,
      error,
      status: prediction.status,
      created_at: iso(prediction.createdAt),
      started_at: iso(prediction.startedAt),
      completed_at: iso(prediction.completedAt),
      urls: { cancel: `${base}/cancel`, get: base, stream: `${this.deliveryUrl}/stream/${prediction.id}`, web: `https://replicate.com/p/${prediction.id}` },
      metrics: prediction.completedAt && prediction.startedAt ? { predict_time: (prediction.completedAt - prediction.startedAt) / 1000, total_time: (prediction.completedAt - prediction.createdAt) / 1000 } : {},
    };
  }

  /** The delivery host: output files, public, until they expire. */
  private async serveOutput(incoming: http.IncomingMessage, outgoing: http.ServerResponse): Promise<void> {
    const match = /^\/xezq\/([0-9a-f]+)\/tmp\.mp4$/.exec(new URL(incoming.url ?? '/', 'http://fake').pathname);
    const output = match ? this.outputs.get(match[1]!) : undefined;
    if (this.downloads.length < 20_000) this.downloads.push({ path: incoming.url ?? '/', authorization: incoming.headers.authorization !== undefined });
    if (!output || this.now() - output.createdAt > (this.options.outputTtlMs ?? 3600_000)) {
      outgoing.writeHead(404, { 'content-type': 'text/plain' }).end('Not Found');
      return;
    }
    const file = await output.path;
    const { size } = await fs.promises.stat(file);
    outgoing.writeHead(200, { 'content-type': 'video/mp4', 'content-length': size });
    fs.createReadStream(file).pipe(outgoing);
  }

  private control(url: URL, method: string, body: unknown, outgoing: http.ServerResponse): void {
    if (url.pathname === '/_fake/config' && method === 'POST') {
      const changes = (body ?? {}) as Partial<Behaviour>;
      if ('failCreates' in changes) this.behaviour.failCreates = changes.failCreates ?? null;
      if (typeof changes.throttleReads === 'number') this.behaviour.throttleReads = changes.throttleReads;
      if (typeof changes.throttleCreates === 'number') this.behaviour.throttleCreates = changes.throttleCreates;
      return this.send(outgoing, 200, this.behaviour);
    }
    if (url.pathname === '/_fake/requests') return this.send(outgoing, 200, this.requests);
    if (url.pathname === '/_fake/predictions') return this.send(outgoing, 200, [...this.predictions.values()].map((prediction) => this.view(prediction)));
    if (url.pathname === '/_fake/expire-outputs' && method === 'POST') {
      for (const output of this.outputs.values()) output.createdAt = 0;
      return this.send(outgoing, 200, { expired: this.outputs.size });
    }
    this.problem(outgoing, 404, 'unknown control path');
  }

  private problem(outgoing: http.ServerResponse, status: number, detail: string, headers: Record<string, string> = {}): void {
    this.send(outgoing, status, { title: titles[status] ?? 'Error', detail, status }, { ...headers, 'content-type': 'application/problem+json' });
  }

  private send(outgoing: http.ServerResponse, status: number, value: unknown, headers: Record<string, string> = {}): void {
    const text = JSON.stringify(value);
    outgoing.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(text), ...headers }).end(text);
  }
}

/** A prediction id as Replicate writes them: 26 lower-case base32 letters and digits. */
function predictionId(): string {
  const alphabet = 'abcdefghijklmnopqrstuvwxyz234567';
  return [...randomBytes(26)].map((byte) => alphabet[byte % 32]).join('');
}

async function readJson(incoming: http.IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of incoming) {
    size += (chunk as Buffer).length;
    if (size > 64 * 1024 * 1024) throw new Error('body too large');
    chunks.push(chunk as Buffer);
  }
  try {
    return JSON.parse(Buffer.concat(chunks).toString('utf8'));
  } catch {
    return undefined;
  }
}
