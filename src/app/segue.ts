import type { FastifyInstance } from 'fastify';
import { pino, type Logger } from 'pino';
import type { Config } from '../config/config.js';
import type { TaskLifecycle } from '../engine/lifecycle/task-lifecycle.js';
import type { JobKind } from '../jobs/job-kinds.js';
import type { Worker } from '../jobs/worker.js';
import type { MediaTools } from '../media/media-tools.js';
import { type Clock, systemClock } from '../ports/clock.js';
import type { Storage } from '../ports/storage.js';
import type { Admission } from '../services/admission.js';
import type { CallbackService } from '../services/callback-service.js';
import type { KeyService } from '../services/key-service.js';
import type { TaskService } from '../services/task-service.js';
import { buildApi } from './api-setup.js';
import { openSegueCore } from './segue-core.js';
import { buildWorker, workerKinds } from './worker-setup.js';

/** A process serving the API (`segue serve`, and `npm start` with its worker beside it). */
export interface SegueApiProcess {
  readonly config: Config;
  readonly logger: Logger;
  readonly storage: Storage;
  readonly keys: KeyService;
  readonly tasks: TaskService;
  readonly callbacks: CallbackService;
  readonly admission: Admission;
  readonly lifecycle: TaskLifecycle;
  readonly media: MediaTools;
  readonly http: FastifyInstance;
  /** Closes HTTP (waiting for requests under way), then the database. */
  close(): Promise<void>;
}

/** A worker-only process (`segue worker`): no HTTP app is built. */
export interface SegueWorkerProcess {
  readonly config: Config;
  readonly logger: Logger;
  readonly storage: Storage;
  readonly worker: Worker;
  /** Drains: stops claiming jobs, lets running ones finish (or releases them), closes the database. */
  close(): Promise<void>;
}

/** A running Segue with both parts (`npm start`, and the tests): its parts, for the entry points and the tests. */
export interface Segue extends SegueApiProcess {
  readonly worker: Worker;
  /** Stops claiming jobs, lets running ones finish (or releases them), closes HTTP and the database. */
  close(): Promise<void>;
}

/** What a caller may hand in instead of the defaults: its logger, its clock (tests advance one). */
export interface SegueOptions {
  readonly logger?: Logger;
  readonly clock?: Clock;
}

export function createLogger(config: Config): Logger {
  return pino({
    level: config.logLevel,
    base: { service: 'segue' },
    redact: { paths: ['req.headers.authorization', '*.apiKey', '*.key', '*.webhookSecret', '*.secret'], censor: '[redacted]' },
  });
}

/** The core of any process: the caller's logger and clock, or the defaults. */
function openCore(config: Config, options: SegueOptions) {
  return openSegueCore(config, options.logger ?? createLogger(config), options.clock ?? systemClock);
}

/** The composition root of one process with the API and the worker (`SEGUE_WORKER_KINDS` limits what it runs). */
export async function createSegue(config: Config, options: SegueOptions = {}): Promise<Segue> {
  const kinds = workerKinds(config.workerKinds, 'SEGUE_WORKER_KINDS');
  const core = await openCore(config, options);
  const api = await buildApi(core);
  const worker = buildWorker(core, kinds);
  let closed = false;
  return {
    ...api,
    config,
    logger: core.logger,
    storage: core.storage,
    lifecycle: core.lifecycle,
    media: core.media,
    worker,
    async close() {
      if (closed) return;
      closed = true;
      await api.http.close();
      await worker.stop(config.shutdownGraceMs);
      await core.close();
    },
  };
}

/** The composition root of an API-only process: services and HTTP, no worker. */
export async function createApiProcess(config: Config, options: SegueOptions = {}): Promise<SegueApiProcess> {
  const core = await openCore(config, options);
  const api = await buildApi(core);
  let closed = false;
  return {
    ...api,
    config,
    logger: core.logger,
    storage: core.storage,
    lifecycle: core.lifecycle,
    media: core.media,
    async close() {
      if (closed) return;
      closed = true;
      await api.http.close();
      await core.close();
    },
  };
}

/** The composition root of a worker-only process: the handlers of `kinds` and what they need, no HTTP app. */
export async function createWorkerProcess(config: Config, kinds: readonly JobKind[], options: SegueOptions = {}): Promise<SegueWorkerProcess> {
  const core = await openCore(config, options);
  const worker = buildWorker(core, kinds);
  let closed = false;
  return {
    config,
    logger: core.logger,
    storage: core.storage,
    worker,
    async close() {
      if (closed) return;
      closed = true;
      await worker.stop(config.shutdownGraceMs);
      await core.close();
    },
  };
}
