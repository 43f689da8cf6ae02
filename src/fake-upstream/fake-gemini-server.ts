import { createHmac, randomBytes, randomUUID } from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { standardWebhookSignature } from '../callbacks/webhook-signatures.js';
import type { MediaTools } from '../media/media-tools.js';
import { FakeVideoMaker } from './fake-gemini-media.js';
import { checkCreateBody, type Refusal } from './fake-gemini-rules.js';

export interface FakeGeminiOptions {
  readonly host?: string;
  readonly port?: number;
  /** The only API key accepted. */
  readonly apiKey: string;
  /** Polls answered "not done" before an operation may be done. */
  readonly pollsUntilDone?: number;
  /** How long an operation takes, from its create, before it may be done. */
  readonly generationMs?: number;
  /** How long a generated file can be downloaded and extended (Google: 2 days). */
  readonly fileTtlMs?: number;
  /** With a `whsec_` secret, operations created with `webhookConfig` are announced, signed. */
  readonly webhookSecret?: string;
  /** Deliveries of each webhook (at-least-once: more than one tests deduplication). */
  readonly webhookDeliveries?: number;
  /** Serve this file for every operation instead of rendering one (benchmarks). */
  readonly videoFile?: string;
  readonly media: MediaTools;
  readonly workDirectory: string;
  /** The fake's clock (file ages, readiness, signed download links); a test may share Segue's. */
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
  readonly createdAt: number;
  readonly readyAt: number;
  readonly outcome: 'video' | 'rai' | 'error' | 'error_with_key';
  polls: number;
  file: Promise<string> | null;
  fileId: string | null;
  durationSeconds: number;
  doneServedAt: number | null;
  readonly webhookUris: readonly string[];
  readonly userMetadata: Record<string, unknown>;
}

interface StoredFile {
  readonly path: Promise<string>;
  readonly createdAt: number;
  readonly durationSeconds: number;
}

/** One request as the fake saw it, for tests that watch the wire. */
export interface SeenRequest {
  readonly method: string;
  readonly path: string;
  readonly apiKey: 'valid' | 'invalid' | 'missing';
  readonly body: unknown;
}

const statusNames: Record<number, string> = { 400: 'INVALID_ARGUMENT', 403: 'PERMISSION_DENIED', 404: 'NOT_FOUND', 429: 'RESOURCE_EXHAUSTED', 500: 'INTERNAL', 503: 'UNAVAILABLE' };

/**
 * A stand-in for the Gemini API's Veo 3.1 endpoints that speaks its wire protocol
 * (upstream-providers.md §1): create, operation polling, the Google error envelope, 429s, the
 * RAI-filtered answer, the download with a 302 to a signed location, file expiry, and Standard
 * Webhooks. Prompts steer outcomes: `[fake:rai]`, `[fake:error]`, `[fake:error-with-key]`.
 */
export class FakeGeminiServer {
  readonly requests: SeenRequest[] = [];
  readonly operations = new Map<string, Operation>();
  private readonly files = new Map<string, StoredFile>();
  private readonly signingSecret = randomBytes(16);
  private readonly videos: FakeVideoMaker;
  private readonly behaviour: Behaviour = { failCreates: null, throttlePolls: 0 };
  private readonly server: http.Server;
  private readonly timers = new Set<NodeJS.Timeout>();
  url = '';

  private readonly now: () => number;

  constructor(private readonly options: FakeGeminiOptions) {
    this.now = options.now ?? Date.now;
    this.videos = new FakeVideoMaker(options.media, options.workDirectory);
    this.server = http.createServer((incoming, outgoing) => {
      this.handle(incoming, outgoing).catch((error: Error) => this.send(outgoing, 500, { error: { code: 500, message: error.message, status: 'INTERNAL' } }));
    });
    this.server.keepAliveTimeout = 60_000;
  }

  async listen(): Promise<string> {
    await new Promise<void>((resolve) => this.server.listen(this.options.port ?? 0, this.options.host ?? '127.0.0.1', resolve));
    const { port } = this.server.address() as AddressInfo;
    this.url = `http://${this.options.host ?? '127.0.0.1'}:${port}`;
    return this.url;
  }

  async close(): Promise<void> {
    for (const timer of this.timers) clearTimeout(timer);
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private async handle(incoming: http.IncomingMessage, outgoing: http.ServerResponse): Promise<void> {
    const url = new URL(incoming.url ?? '/', 'http://fake');
    const body = incoming.method === 'POST' ? await readJson(incoming) : undefined;
    if (url.pathname.startsWith('/_fake/')) return this.control(url, incoming.method ?? 'GET', body, outgoing);
    if (url.pathname.startsWith('/_signed/')) return this.serveSigned(url, outgoing);
    const presented = incoming.headers['x-goog-api-key'];
    const apiKey = presented === undefined ? 'missing' : presented === this.options.apiKey ? 'valid' : 'invalid';
    if (this.requests.length < 20_000) this.requests.push({ method: incoming.method ?? 'GET', path: url.pathname + url.search, apiKey, body });
    if (apiKey !== 'valid') {
      return this.fail(outgoing, apiKey === 'missing' ? { status: 403, code: 'PERMISSION_DENIED', message: 'Method doesn\'t allow unregistered callers. Please use an API key.' } : { status: 400, code: 'INVALID_ARGUMENT', message: 'API key not valid. Please pass a valid API key.' });
    }
    const create = /^\/v1beta\/models\/([A-Za-z0-9._-]+):predictLongRunning$/.exec(url.pathname);
    if (create && incoming.method === 'POST') return this.create(create[1]!, body, outgoing);
    const poll = /^\/v1beta\/(models\/[A-Za-z0-9._-]+\/operations\/[A-Za-z0-9_-]+)$/.exec(url.pathname);
    if (poll && incoming.method === 'GET') return this.poll(poll[1]!, outgoing);
    const download = /^\/v1beta\/files\/([A-Za-z0-9_-]+):download$/.exec(url.pathname);
    if (download && incoming.method === 'GET') return this.download(download[1]!, outgoing);
    return this.fail(outgoing, { status: 404, code: 'NOT_FOUND', message: `Method not found: ${url.pathname}` });
  }

  private create(model: string, body: unknown, outgoing: http.ServerResponse): void {
    const failing = this.behaviour.failCreates;
    if (failing && failing.remaining !== 0) {
      if (failing.remaining > 0) failing.remaining--;
      return this.fail(outgoing, { status: failing.status, code: statusNames[failing.status] ?? 'UNKNOWN', message: failing.status === 429 ? 'Resource has been exhausted (e.g. check quota).' : 'The service is currently unavailable.' });
    }
    const refusal = checkCreateBody(body, (uri) => this.liveFile(uri)?.durationSeconds);
    if (refusal) return this.fail(outgoing, refusal);
    const root = body as { instances: Array<{ prompt: string; video?: { uri: string }; image?: { bytesBase64Encoded: string } }>; parameters?: { aspectRatio?: '16:9' | '9:16'; durationSeconds?: number }; webhookConfig?: { uris?: string[]; userMetadata?: Record<string, unknown> } };
    const instance = root.instances[0]!;
    const source = instance.video ? this.liveFile(instance.video.uri) : undefined;
    const prompt = instance.prompt;
    const now = this.now();
    const operation: Operation = {
      name: `models/${model}/operations/${randomUUID().replaceAll('-', '').slice(0, 12)}`,
      createdAt: now,
      readyAt: now + (this.options.generationMs ?? 0),
      outcome: prompt.includes('[fake:rai]') ? 'rai' : prompt.includes('[fake:error-with-key]') ? 'error_with_key' : prompt.includes('[fake:error]') ? 'error' : 'video',
      polls: 0,
      file: null,
      fileId: null,
      durationSeconds: source ? source.durationSeconds + 7 : Number(root.parameters?.durationSeconds ?? 8),
      doneServedAt: null,
      webhookUris: root.webhookConfig?.uris ?? [],
      userMetadata: root.webhookConfig?.userMetadata ?? {},
    };
    if (operation.outcome === 'video') {
      const aspectRatio = root.parameters?.aspectRatio ?? '16:9';
      // Image-to-video starts from the picture it was given, as a real model's first frame does.
      operation.file = this.options.videoFile
        ? Promise.resolve(this.options.videoFile)
        : instance.image
          ? this.videos.fromImage(aspectRatio, operation.durationSeconds, Buffer.from(instance.image.bytesBase64Encoded, 'base64'))
          : this.videos.video(aspectRatio, operation.durationSeconds);
      operation.file.catch(() => undefined);
    }
    this.operations.set(operation.name, operation);
    if (this.options.webhookSecret && operation.webhookUris.length > 0) this.scheduleWebhook(operation);
    this.send(outgoing, 200, { name: operation.name });
  }

  private async poll(name: string, outgoing: http.ServerResponse): Promise<void> {
    if (this.behaviour.throttlePolls > 0) {
      this.behaviour.throttlePolls--;
      return this.fail(outgoing, { status: 429, code: 'RESOURCE_EXHAUSTED', message: 'Resource has been exhausted (e.g. check quota).' });
    }
    const operation = this.operations.get(name);
    if (!operation) return this.fail(outgoing, { status: 404, code: 'NOT_FOUND', message: `Operation ${name} not found.` });
    operation.polls++;
    if (!(await this.isDone(operation))) return this.send(outgoing, 200, { name, metadata: {} });
    operation.doneServedAt ??= this.now();
    this.send(outgoing, 200, await this.doneAnswer(operation));
  }

  /** Done after its polls and its time, and once its video exists (a render still running answers "not done"). */
  private async isDone(operation: Operation): Promise<boolean> {
    if (operation.polls <= (this.options.pollsUntilDone ?? 2) || this.now() < operation.readyAt) return false;
    return !operation.file || (await Promise.race([operation.file.then(() => true), new Promise<boolean>((resolve) => setImmediate(() => resolve(false)))]));
  }

  private async doneAnswer(operation: Operation): Promise<unknown> {
    const { name } = operation;
    if (operation.outcome === 'error') return { name, done: true, error: { code: 13, message: 'Video generation failed due to an internal error.' } };
    if (operation.outcome === 'error_with_key') {
      return { name, done: true, error: { code: 3, message: `Request with key ${this.options.apiKey} to ${this.url}/v1beta/x?key=${this.options.apiKey} failed.` } };
    }
    const filtered = { raiMediaFilteredCount: 1, raiMediaFilteredReasons: ['We could not generate this video because it may violate our usage guidelines.'] };
    const type = 'type.googleapis.com/google.ai.generativelanguage.v1beta.PredictLongRunningResponse';
    if (operation.outcome === 'rai') return { name, done: true, response: { '@type': type, generateVideoResponse: filtered } };
    if (!operation.fileId) {
      operation.fileId = randomUUID().replaceAll('-', '').slice(0, 16);
      this.files.set(operation.fileId, { path: operation.file!, createdAt: this.now(), durationSeconds: operation.durationSeconds });
    }
    return {
      name,
      done: true,
      response: {
        '@type': type,
        generateVideoResponse: { generatedSamples: [{ video: { uri: this.fileUri(operation.fileId) } }], raiMediaFilteredCount: 0, raiMediaFilteredReasons: [] },
      },
    };
  }

  private fileUri(fileId: string): string {
    return `${this.url}/v1beta/files/${fileId}:download?alt=media`;
  }

  private liveFile(uri: string): StoredFile | undefined {
    const match = /\/v1beta\/files\/([A-Za-z0-9_-]+):download/.exec(uri);
    const file = match && uri.startsWith(this.url) ? this.files.get(match[1]!) : undefined;
    return file && this.now() - file.createdAt < (this.options.fileTtlMs ?? 2 * 24 * 3600_000) ? file : undefined;
  }

  private download(fileId: string, outgoing: http.ServerResponse): void {
    if (!this.liveFile(this.fileUri(fileId))) return this.fail(outgoing, { status: 404, code: 'NOT_FOUND', message: `File ${fileId} not found or expired.` });
    const expires = this.now() + 60_000;
    outgoing.writeHead(302, { location: `${this.url}/_signed/${fileId}?expires=${expires}&sig=${this.sign(fileId, expires)}` }).end();
  }

  private async serveSigned(url: URL, outgoing: http.ServerResponse): Promise<void> {
    const fileId = url.pathname.slice('/_signed/'.length);
    const expires = Number(url.searchParams.get('expires'));
    if (url.searchParams.get('sig') !== this.sign(fileId, expires) || expires < this.now()) return this.fail(outgoing, { status: 403, code: 'PERMISSION_DENIED', message: 'Signature invalid or expired.' });
    const file = this.files.get(fileId);
    if (!file) return this.fail(outgoing, { status: 404, code: 'NOT_FOUND', message: 'No such file.' });
    const filePath = await file.path;
    const { size } = await fs.promises.stat(filePath);
    outgoing.writeHead(200, { 'content-type': 'video/mp4', 'content-length': size });
    fs.createReadStream(filePath).pipe(outgoing);
  }

  private sign(fileId: string, expires: number): string {
    return createHmac('sha256', this.signingSecret).update(`${fileId}.${expires}`).digest('hex');
  }

  /** Announces a finished video when it is ready, as Standard Webhooks (several deliveries, one id). */
  private scheduleWebhook(operation: Operation): void {
    const timer = setTimeout(async () => {
      this.timers.delete(timer);
      if (operation.file) await operation.file.catch(() => undefined);
      const answer = (await this.doneAnswer(operation)) as { response?: { generateVideoResponse?: { generatedSamples?: Array<{ video: { uri: string } }> } } };
      const payload = JSON.stringify({
        type: 'video.generated',
        version: 'v1',
        timestamp: new Date().toISOString(),
        data: { operation: operation.name, video_uri: answer.response?.generateVideoResponse?.generatedSamples?.[0]?.video.uri ?? null, user_metadata: operation.userMetadata },
      });
      const id = `msg_${randomUUID()}`;
      for (let delivery = 0; delivery < (this.options.webhookDeliveries ?? 1); delivery++) {
        for (const uri of operation.webhookUris) {
          const timestamp = Math.floor(this.now() / 1000);
          const signature = standardWebhookSignature(this.options.webhookSecret!, id, timestamp, payload);
          await fetch(uri, {
            method: 'POST',
            headers: { 'content-type': 'application/json', 'webhook-id': id, 'webhook-timestamp': String(timestamp), 'webhook-signature': signature },
            body: payload,
            signal: AbortSignal.timeout(10_000),
          }).then((response) => response.body?.cancel(), () => undefined);
        }
      }
    }, Math.max(0, operation.readyAt - this.now()));
    this.timers.add(timer);
  }

  private control(url: URL, method: string, body: unknown, outgoing: http.ServerResponse): void {
    if (url.pathname === '/_fake/config' && method === 'POST') {
      const changes = body as Partial<Behaviour>;
      if ('failCreates' in changes) this.behaviour.failCreates = changes.failCreates ?? null;
      if (typeof changes.throttlePolls === 'number') this.behaviour.throttlePolls = changes.throttlePolls;
      return this.send(outgoing, 200, this.behaviour);
    }
    if (url.pathname === '/_fake/requests') return this.send(outgoing, 200, this.requests);
    if (url.pathname === '/_fake/operations') {
      return this.send(outgoing, 200, [...this.operations.values()].map(({ name, createdAt, readyAt, polls, doneServedAt, outcome }) => ({ name, createdAt, readyAt, polls, doneServedAt, outcome })));
    }
    if (url.pathname === '/_fake/expire-files' && method === 'POST') {
      for (const [id, file] of this.files) this.files.set(id, { ...file, createdAt: 0 });
      return this.send(outgoing, 200, { expired: this.files.size });
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

async function readJson(incoming: http.IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  for await (const chunk of incoming) chunks.push(chunk as Buffer);
  try {
    return JSON.parse(Buffer.concat(chunks).toString('utf8'));
  } catch {
    return undefined;
  }
}
