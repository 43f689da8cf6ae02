import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import type { MediaTools } from '../media/media-tools.js';
import { ExecutionError, executeGraph, type NodeOutputs } from './fake-comfyui-execution.js';
import { inputErrors, nodeClasses } from './fake-comfyui-nodes.js';

export interface FakeComfyUiOptions {
  readonly host?: string;
  readonly port?: number;
  readonly media: MediaTools;
  /** Holds `input/`, `output/` and scratch space. */
  readonly workDirectory: string;
  /** Largest upload accepted (bytes). */
  readonly maxUploadBytes?: number;
  /** With a token, requests must carry `Authorization: Bearer <token>` (a box behind an authenticating proxy), else 401. */
  readonly token?: string;
}

type Graph = Record<string, { class_type: string; inputs: Record<string, unknown> }>;

interface QueuedPrompt {
  readonly id: string;
  readonly number: number;
  readonly graph: Graph;
  readonly clientId: string | undefined;
  readonly outputNodes: readonly string[];
  state: 'pending' | 'running' | 'done';
  readonly abort: AbortController;
  history?: Record<string, unknown>;
}

/** One request as the fake saw it, for tests that watch the wire. */
export interface SeenComfyRequest {
  readonly method: string;
  readonly path: string;
  readonly body: unknown;
  readonly authorization: 'valid' | 'invalid' | 'missing';
}

/**
 * A stand-in for a ComfyUI server that speaks its HTTP API (upstream-providers.md §4.1) and
 * really runs a workflow's essentials: `POST /prompt` validates the graph as ComfyUI does (node
 * classes, required inputs and their types, links, uploaded files — refusals as `node_errors`),
 * queues it, and one prompt at a time runs it with ffmpeg: the output node writes a real MP4 of
 * the requested size and frame count; `GET /history/{id}` answers `{}` until it finished;
 * `GET /view` serves the file. `POST /upload/image`, `GET /queue`, `POST /queue` (delete),
 * `POST /interrupt`; every route also under `/api`. A prompt containing `[fake:error]` fails
 * while executing (an `execution_error`). `POST /_fake/config {"paused": true}` holds the queue.
 */
export class FakeComfyUiServer {
  readonly requests: SeenComfyRequest[] = [];
  readonly prompts = new Map<string, QueuedPrompt>();
  readonly inputDirectory: string;
  readonly outputDirectory: string;
  private readonly server: http.Server;
  private numbered = 0;
  private paused = false;
  private running: Promise<void> | null = null;
  /** The next `remaining` submits answer `status` (a proxy's 429 or 503), with `Retry-After: 1`. */
  private failSubmits: { status: number; remaining: number } | null = null;
  url = '';

  constructor(private readonly options: FakeComfyUiOptions) {
    this.inputDirectory = path.join(options.workDirectory, 'input');
    this.outputDirectory = path.join(options.workDirectory, 'output');
    fs.mkdirSync(this.inputDirectory, { recursive: true });
    fs.mkdirSync(this.outputDirectory, { recursive: true });
    fs.mkdirSync(path.join(options.workDirectory, 'temp'), { recursive: true });
    this.server = http.createServer((incoming, outgoing) => {
      this.handle(incoming, outgoing).catch((error: Error) => send(outgoing, 500, { error: error.message }));
    });
  }

  async listen(): Promise<string> {
    await new Promise<void>((resolve) => this.server.listen(this.options.port ?? 0, this.options.host ?? '127.0.0.1', resolve));
    const { port } = this.server.address() as AddressInfo;
    this.url = `http://${this.options.host ?? '127.0.0.1'}:${port}`;
    return this.url;
  }

  async close(): Promise<void> {
    for (const prompt of this.prompts.values()) prompt.abort.abort();
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
    await this.running?.catch(() => undefined);
  }

  /** Holds (or releases) the queue: prompts stay pending while paused. */
  setPaused(paused: boolean): void {
    this.paused = paused;
    if (!paused) this.runQueue();
  }

  /** Answers the next `remaining` submits with `status`. */
  failNextSubmits(status: number, remaining: number): void {
    this.failSubmits = { status, remaining };
  }

  private async handle(incoming: http.IncomingMessage, outgoing: http.ServerResponse): Promise<void> {
    const url = new URL(incoming.url ?? '/', 'http://fake');
    const route = url.pathname.replace(/^\/api(?=\/)/, '');
    const method = incoming.method ?? 'GET';
    const presented = incoming.headers.authorization;
    const authorization = presented === undefined ? 'missing' : presented === `Bearer ${this.options.token}` ? 'valid' : 'invalid';
    if (this.options.token && authorization !== 'valid' && !route.startsWith('/_fake/')) {
      incoming.resume();
      return send(outgoing, 401, { error: 'unauthorized' });
    }
    if (method === 'POST' && route === '/upload/image') return this.upload(incoming, outgoing);
    const body = method === 'POST' ? await readJson(incoming, 16 * 1024 * 1024) : undefined;
    if (this.requests.length < 10_000) this.requests.push({ method, path: route + url.search, body, authorization });
    if (route === '/_fake/config' && method === 'POST') {
      this.setPaused(Boolean((body as { paused?: unknown } | undefined)?.paused));
      return send(outgoing, 200, { paused: this.paused });
    }
    if (route === '/prompt' && method === 'POST' && this.failSubmits && this.failSubmits.remaining > 0) {
      this.failSubmits.remaining--;
      outgoing.setHeader('retry-after', '1');
      return send(outgoing, this.failSubmits.status, { error: 'the box is busy' });
    }
    if (route === '/prompt' && method === 'POST') return this.submit(body, outgoing);
    if (route === '/prompt' && method === 'GET') return send(outgoing, 200, { exec_info: { queue_remaining: this.waiting().length } });
    const history = /^\/history\/([^/]+)$/.exec(route);
    if (history && method === 'GET') {
      const prompt = this.prompts.get(decodeURIComponent(history[1]!));
      return send(outgoing, 200, prompt?.history ? { [prompt.id]: prompt.history } : {});
    }
    if (route === '/queue' && method === 'GET') {
      const item = (prompt: QueuedPrompt) => [prompt.number, prompt.id, prompt.graph, { client_id: prompt.clientId }, prompt.outputNodes];
      return send(outgoing, 200, { queue_running: this.waiting().filter((p) => p.state === 'running').map(item), queue_pending: this.waiting().filter((p) => p.state === 'pending').map(item) });
    }
    if (route === '/queue' && method === 'POST') return this.editQueue(body, outgoing);
    if (route === '/interrupt' && method === 'POST') {
      for (const prompt of this.waiting()) if (prompt.state === 'running') prompt.abort.abort();
      return send(outgoing, 200, {});
    }
    if (route === '/view' && method === 'GET') return this.view(url, outgoing);
    send(outgoing, 404, { error: `no route ${method} ${route}` });
  }

  private waiting(): QueuedPrompt[] {
    return [...this.prompts.values()].filter((prompt) => prompt.state !== 'done').sort((a, b) => a.number - b.number);
  }

  private submit(body: unknown, outgoing: http.ServerResponse): void {
    const root = (body ?? {}) as { prompt?: unknown; client_id?: unknown };
    if (typeof root.prompt !== 'object' || root.prompt === null || Array.isArray(root.prompt)) return send(outgoing, 400, { error: 'no prompt', node_errors: [] });
    const graph = root.prompt as Graph;
    const refusal = this.validate(graph);
    if (refusal) return send(outgoing, 400, refusal);
    const prompt: QueuedPrompt = {
      id: randomUUID(),
      number: this.numbered++,
      graph,
      clientId: typeof root.client_id === 'string' ? root.client_id : undefined,
      outputNodes: Object.keys(graph).filter((id) => nodeClasses[graph[id]!.class_type]!.outputNode),
      state: 'pending',
      abort: new AbortController(),
    };
    this.prompts.set(prompt.id, prompt);
    send(outgoing, 200, { prompt_id: prompt.id, number: prompt.number, node_errors: {} });
    this.runQueue();
  }

  /** ComfyUI's `validate_prompt`: class types, an output, then each needed node's inputs and files. */
  private validate(graph: Graph): Record<string, unknown> | undefined {
    const refuse = (type: string, message: string, details = '') => ({ error: { type, message, details, extra_info: {} }, node_errors: [] });
    for (const [id, node] of Object.entries(graph)) {
      if (typeof node !== 'object' || node === null || typeof node.class_type !== 'string') return refuse('invalid_prompt', 'Cannot execute because a node is missing the class_type property.', `Node ID '#${id}'`);
      if (!nodeClasses[node.class_type]) return refuse('missing_node_type', `Node '${node.class_type}' not found. The custom node may not be installed.`, `Node ID '#${id}'`);
      if (typeof node.inputs !== 'object' || node.inputs === null) return refuse('invalid_prompt', 'Cannot execute because a node has no inputs.', `Node ID '#${id}'`);
    }
    const outputs = Object.keys(graph).filter((id) => nodeClasses[graph[id]!.class_type]!.outputNode);
    if (outputs.length === 0) return refuse('prompt_no_outputs', 'Prompt has no outputs');
    const nodeErrors: Record<string, unknown> = {};
    const outputTypeOf = ([from, slot]: [string, number]) => {
      const source = graph[from];
      return source ? nodeClasses[source.class_type]!.outputs[slot] : undefined;
    };
    for (const id of this.needed(graph, outputs)) {
      const node = graph[id]!;
      const errors = inputErrors(nodeClasses[node.class_type]!, node.inputs, outputTypeOf);
      const fileInput = { LoadImage: 'image', LoadVideo: 'file', VHS_LoadVideo: 'video' }[node.class_type];
      const name = fileInput ? node.inputs[fileInput] : undefined;
      if (typeof name === 'string' && !this.isUploaded(name)) {
        errors.push({ type: 'value_not_in_list', message: 'Value not in list', details: `${fileInput}: '${name}' not in ${JSON.stringify(this.uploadedNames().slice(0, 20))}` });
      }
      if (errors.length > 0) nodeErrors[id] = { errors, dependent_outputs: outputs, class_type: node.class_type };
    }
    if (Object.keys(nodeErrors).length === 0) return undefined;
    return { error: { type: 'prompt_outputs_failed_validation', message: 'Prompt outputs failed validation', details: '', extra_info: {} }, node_errors: nodeErrors };
  }

  /** The nodes the output nodes depend on (ComfyUI validates and runs only those). */
  private needed(graph: Graph, outputs: readonly string[]): Set<string> {
    const seen = new Set<string>();
    const visit = (id: string) => {
      if (seen.has(id) || !graph[id]) return;
      seen.add(id);
      for (const value of Object.values(graph[id]!.inputs)) {
        if (Array.isArray(value) && value.length === 2 && typeof value[0] === 'string') visit(value[0]);
      }
    };
    outputs.forEach(visit);
    return seen;
  }

  private isUploaded(name: string): boolean {
    const file = path.join(this.inputDirectory, name);
    return file.startsWith(this.inputDirectory + path.sep) && fs.existsSync(file);
  }

  private uploadedNames(): string[] {
    return fs.readdirSync(this.inputDirectory);
  }

  /** One prompt at a time, in order, as ComfyUI's single executor does. */
  private runQueue(): void {
    if (this.running || this.paused) return;
    const next = this.waiting().find((prompt) => prompt.state === 'pending');
    if (!next) return;
    this.running = this.execute(next).finally(() => {
      this.running = null;
      this.runQueue();
    });
  }

  private async execute(prompt: QueuedPrompt): Promise<void> {
    prompt.state = 'running';
    const started = Date.now();
    const messages: unknown[] = [['execution_start', { prompt_id: prompt.id, timestamp: started }]];
    let outputs: NodeOutputs = {};
    let status: Record<string, unknown>;
    try {
      outputs = await executeGraph(prompt.graph, {
        media: this.options.media,
        inputDirectory: this.inputDirectory,
        outputDirectory: this.outputDirectory,
        workDirectory: path.join(this.options.workDirectory, 'temp'),
        signal: prompt.abort.signal,
      });
      messages.push(['execution_success', { prompt_id: prompt.id, timestamp: Date.now() }]);
      status = { status_str: 'success', completed: true, messages };
    } catch (error) {
      if (prompt.abort.signal.aborted) {
        messages.push(['execution_interrupted', { prompt_id: prompt.id, node_id: null, node_type: null, executed: [] }]);
      } else {
        const failure = error instanceof ExecutionError ? error : undefined;
        messages.push([
          'execution_error',
          {
            prompt_id: prompt.id,
            node_id: failure?.nodeId ?? null,
            node_type: failure?.nodeType ?? null,
            executed: [],
            exception_message: (error as Error).message,
            exception_type: failure?.exceptionType ?? 'Exception',
            traceback: [],
            current_inputs: {},
            current_outputs: {},
            timestamp: Date.now(),
          },
        ]);
      }
      status = { status_str: 'error', completed: false, messages };
    }
    prompt.history = { prompt: [prompt.number, prompt.id, prompt.graph, { client_id: prompt.clientId }, prompt.outputNodes], outputs, status, meta: {} };
    prompt.state = 'done';
  }

  private editQueue(body: unknown, outgoing: http.ServerResponse): void {
    const root = (body ?? {}) as { delete?: unknown; clear?: unknown };
    const remove = (prompt: QueuedPrompt) => {
      if (prompt.state === 'pending') this.prompts.delete(prompt.id);
    };
    if (root.clear === true) this.waiting().forEach(remove);
    if (Array.isArray(root.delete)) for (const id of root.delete) if (typeof id === 'string' && this.prompts.get(id)) remove(this.prompts.get(id)!);
    send(outgoing, 200, {});
  }

  /** `multipart/form-data` with `image` (the file), `subfolder`, `type`, `overwrite`. */
  private async upload(incoming: http.IncomingMessage, outgoing: http.ServerResponse): Promise<void> {
    const boundary = /boundary=(?:"([^"]+)"|([^;]+))/.exec(String(incoming.headers['content-type']))?.slice(1).find(Boolean);
    if (!boundary) return send(outgoing, 400, { error: 'not multipart' });
    const body = await readBody(incoming, this.options.maxUploadBytes ?? 512 * 1024 * 1024);
    if (!body) return send(outgoing, 413, { error: 'too large' });
    const parts = parseMultipart(body, boundary);
    const image = parts.find((part) => part.name === 'image' && part.filename);
    if (!image) return send(outgoing, 400, { error: 'no image' });
    const subfolder = parts.find((part) => part.name === 'subfolder')?.data.toString('utf8') ?? '';
    const name = path.basename(image.filename!);
    const directory = path.join(this.inputDirectory, subfolder);
    if (!name || name.startsWith('.') || !(directory + path.sep).startsWith(this.inputDirectory + path.sep)) return send(outgoing, 400, { error: 'bad file name' });
    fs.mkdirSync(directory, { recursive: true });
    fs.writeFileSync(path.join(directory, name), image.data);
    send(outgoing, 200, { name, subfolder, type: 'input' });
  }

  private view(url: URL, outgoing: http.ServerResponse): void {
    const type = url.searchParams.get('type') ?? 'output';
    const base = type === 'input' ? this.inputDirectory : type === 'temp' ? path.join(this.options.workDirectory, 'temp') : this.outputDirectory;
    const file = path.join(base, url.searchParams.get('subfolder') ?? '', url.searchParams.get('filename') ?? '');
    if (!file.startsWith(base + path.sep) || !fs.existsSync(file) || !fs.statSync(file).isFile()) return send(outgoing, 404, { error: 'not found' });
    outgoing.writeHead(200, { 'content-type': file.endsWith('.mp4') ? 'video/mp4' : 'application/octet-stream', 'content-length': fs.statSync(file).size });
    fs.createReadStream(file).pipe(outgoing);
  }
}

function send(outgoing: http.ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  outgoing.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
  outgoing.end(text);
}

async function readBody(incoming: http.IncomingMessage, maxBytes: number): Promise<Buffer | undefined> {
  const chunks: Buffer[] = [];
  let bytes = 0;
  for await (const chunk of incoming) {
    bytes += (chunk as Buffer).length;
    if (bytes > maxBytes) return undefined;
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks);
}

async function readJson(incoming: http.IncomingMessage, maxBytes: number): Promise<unknown> {
  const body = await readBody(incoming, maxBytes);
  try {
    return body ? JSON.parse(body.toString('utf8')) : undefined;
  } catch {
    return undefined;
  }
}

function parseMultipart(body: Buffer, boundary: string): Array<{ name: string; filename?: string; data: Buffer }> {
  const delimiter = Buffer.from(`--${boundary}`);
  const parts: Array<{ name: string; filename?: string; data: Buffer }> = [];
  let start = body.indexOf(delimiter);
  while (start >= 0) {
    const next = body.indexOf(delimiter, start + delimiter.length);
    if (next < 0) break;
    const part = body.subarray(start + delimiter.length + 2, next - 2);
    const headerEnd = part.indexOf('\r\n\r\n');
    if (headerEnd >= 0) {
      const headers = part.subarray(0, headerEnd).toString('utf8');
      const name = /name="([^"]*)"/.exec(headers)?.[1];
      const filename = /filename="([^"]*)"/.exec(headers)?.[1];
      if (name) parts.push({ name, ...(filename !== undefined ? { filename } : {}), data: part.subarray(headerEnd + 4) });
    }
    start = next;
  }
  return parts;
}
