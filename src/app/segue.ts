import path from 'node:path';
import type { FastifyInstance } from 'fastify';
import { pino, type Logger } from 'pino';
import { FsBlobStore } from '../blobs/fs-blob-store.js';
import { UrlSigner } from '../blobs/signed-urls.js';
import { taskOfVideoKey } from '../blobs/task-blob-keys.js';
import type { Config } from '../config/config.js';
import { readJsonConfigFile } from '../config/json-config-file.js';
import { defaultPriceTable, priceTableSchema } from '../domain/pricing.js';
import { buildHttpApp } from '../http/app.js';
import { UniversalPresenter } from '../http/universal/universal-presenter.js';
import { VeoPresenter } from '../http/veo/veo-presenter.js';
import { deliverCallback } from '../jobs/handlers/deliver-callback.js';
import { renderLocal } from '../jobs/handlers/render-local.js';
import { sweepExpired } from '../jobs/handlers/sweep-expired.js';
import { jobRequest } from '../jobs/job-kinds.js';
import { ingestOutput } from '../jobs/handlers/ingest-output.js';
import { failTaskAfterExhaustion, pollTask, startTask } from '../jobs/handlers/task-jobs.js';
import { Worker } from '../jobs/worker.js';
import { MediaTools } from '../media/media-tools.js';
import { ScratchSpace } from '../media/scratch-space.js';
import { SafeHttpClient } from '../net/safe-http.js';
import { LocalRenderer } from '../providers/local/local-renderer.js';
import { CallbackService } from '../services/callback-service.js';
import { Admission } from '../services/admission.js';
import { KeyService } from '../services/key-service.js';
import { BlocklistPolicy } from '../services/prompt-policy.js';
import { RateLimiter, ReadLimit } from '../services/rate-limiter.js';
import { MediaImportService } from '../services/media-import-service.js';
import { TaskLifecycle } from '../services/task-lifecycle.js';
import { TaskService } from '../services/task-service.js';
import type { Storage } from '../ports/storage.js';
import { openStorage } from '../storage/open-storage.js';
import { setUpProviders } from './provider-setup.js';
import { urlSigningSecret } from './url-signing-secret.js';

/** How often a worker process removes the scratch space that dead workers left behind. */
const SCRATCH_SWEEP_INTERVAL_MS = 60_000;

/** A running Segue: its parts, for the entry points and the tests. */
export interface Segue {
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
  readonly worker: Worker;
  /** Stops claiming jobs, lets running ones finish (or releases them), closes HTTP and the database. */
  close(): Promise<void>;
}

export function createLogger(config: Config): Logger {
  return pino({
    level: config.logLevel,
    base: { service: 'segue' },
    redact: { paths: ['req.headers.authorization', '*.apiKey', '*.key', '*.webhookSecret', '*.secret'], censor: '[redacted]' },
  });
}

/** The composition root: builds every adapter from the configuration and wires them together. */
export async function createSegue(config: Config, logger: Logger = createLogger(config)): Promise<Segue> {
  const storage = await openStorage({ ...config, logger: logger.child({ component: 'storage' }) });
  const blobs = new FsBlobStore(path.join(config.dataDir, 'blobs'));
  const media = new MediaTools({ ffmpegPath: config.ffmpegPath, ffprobePath: config.ffprobePath, defaultTimeoutMs: config.ffmpegTimeoutMs });
  const addressPolicy = { allowPrivateNetworks: config.allowPrivateNetworks };
  const outbound = new SafeHttpClient(addressPolicy);
  const signer = new UrlSigner(urlSigningSecret(config.urlSigningSecret, config.dataDir), config.publicUrl, config.urlTtlSeconds);
  const presenter = new VeoPresenter(signer, config);
  const scratch = new ScratchSpace(path.join(config.dataDir, 'work'), config.minFreeDiskBytes);
  const upstreams = setUpProviders({ config, jobs: storage.jobs, tasks: storage.tasks, blobs, outbound, scratch });
  const providers = upstreams.registry;
  const lifecycle = new TaskLifecycle(storage);
  const keys = new KeyService(storage);
  const limiter = new RateLimiter();
  const admission = new Admission(
    storage,
    config.pricesFile ? readJsonConfigFile('SEGUE_PRICES', config.pricesFile, priceTableSchema) : defaultPriceTable,
    BlocklistPolicy.fromFile(config.promptBlocklistFile, config.englishOnly),
    limiter,
    config,
    () => scratch.hasRoom(),
  );
  const reads = new ReadLimit(limiter, config.readRateLimit);
  const tasks = new TaskService(storage, providers, addressPolicy, admission);
  const callbacks = new CallbackService(storage);
  const renderer = new LocalRenderer(media, outbound, { mediaMaxBytes: config.mediaMaxBytes, mediaTimeoutMs: config.mediaTimeoutMs });

  const sweepScratch = async () => {
    const swept = await scratch.sweep(() => storage.jobs.liveLeaseOwners(), 2 * config.mediaTimeoutMs + config.ffmpegTimeoutMs);
    if (swept > 0) logger.info({ swept }, 'removed scratch space of dead workers');
  };
  await sweepScratch();
  await storage.jobs.enqueue(jobRequest('maintenance.sweep', {}));

  const taskDeps = { storage, providers, lifecycle, taskTimeoutMs: config.taskTimeoutMs };
  const callbackDeps = {
    storage,
    http: outbound,
    presenter,
    timeoutMs: config.callbackTimeoutMs,
    scheduleMs: config.callbackRetryScheduleMs,
  };
  const worker = new Worker({
    queue: storage.jobs,
    handlers: {
      'task.start': (payload, context) => startTask(taskDeps, payload, context),
      'task.poll': (payload, context) => pollTask(taskDeps, payload, context),
      'task.ingest': (payload, context) =>
        ingestOutput({ storage, providers, lifecycle, blobs, media, scratch }, payload, context),
      'local.render': (payload, context) =>
        renderLocal({ storage, blobs, renderer, scratch }, payload, context),
      'maintenance.sweep': (_payload, context) => sweepExpired(storage, Date.now, context),
      'callback.deliver': (payload, context) =>
        deliverCallback(callbackDeps, payload, context),
    },
    onExhausted: {
      'task.start': (payload) => failTaskAfterExhaustion(taskDeps, payload),
      'task.poll': (payload) => failTaskAfterExhaustion(taskDeps, payload),
      'task.ingest': (payload) => failTaskAfterExhaustion(taskDeps, payload),
      'local.render': (payload) => failTaskAfterExhaustion(taskDeps, payload),
    },
    concurrency: config.workerConcurrency,
    // Downloads and probes of finished upstream videos must never crowd out the polls.
    kindConcurrency: { 'local.render': config.localRenderConcurrency, 'task.ingest': 2 },
    leaseMs: config.jobLeaseMs,
    pollMs: config.workerPollMs,
    logger: logger.child({ component: 'worker' }),
    subscribe: (listener) => storage.onJobEnqueued(listener),
  });

  const http = await buildHttpApp({
    logger,
    veo: { keys, tasks, presenter, callbacks, reads },
    universal: {
      keys,
      tasks,
      imports: new MediaImportService(outbound, media, blobs, addressPolicy, scratch, { maxBytes: config.mediaMaxBytes }),
      presenter: new UniversalPresenter(signer),
      taskOfOwnLink: (url) => taskOfVideoKey(signer.keyOf(url) ?? ''),
      reads,
      bodyLimitBytes: Math.ceil((config.mediaMaxBytes * 4) / 3) + 1024 * 1024,
    },
    files: { signer, blobDirectory: blobs.directory },
    admin: config.adminKey ? { adminKey: config.adminKey, keys, admission, lifecycle, storage } : undefined,
    providerReport: () => providers.report(),
    geminiHooks: { storage, secrets: upstreams.geminiWebhookSecrets },
    readiness: [
      { name: 'database', check: () => storage.ping() },
      {
        name: 'ffmpeg',
        check: async () => {
          if (!media.usable()) throw new Error('ffmpeg or ffprobe is missing or not executable');
        },
      },
    ],
  });

  // Scratch space is per machine: the workers of this process sweep it while they run.
  const scratchSweeper = setInterval(() => {
    if (worker.isRunning()) sweepScratch().catch((error) => logger.warn({ err: error }, 'scratch sweep failed'));
  }, SCRATCH_SWEEP_INTERVAL_MS);
  scratchSweeper.unref();

  let closed = false;
  return {
    config, logger, storage, keys, tasks, callbacks, admission, lifecycle, media, http, worker,
    async close() {
      if (closed) return;
      closed = true;
      clearInterval(scratchSweeper);
      await http.close();
      await worker.stop(config.shutdownGraceMs);
      await outbound.close();
      await upstreams.close();
      await storage.close();
    },
  };
}
