import path from 'node:path';
import type { FastifyInstance } from 'fastify';
import { pino, type Logger } from 'pino';
import { UrlSigner } from '../blobs/signed-urls.js';
import { taskOfVideoKey } from '../blobs/task-blob-keys.js';
import type { Config } from '../config/config.js';
import { readJsonConfigFile } from '../config/json-config-file.js';
import { readTlsFiles } from '../config/tls-files.js';
import { defaultPriceTable, priceTableSchema } from '../domain/pricing.js';
import type { Task } from '../domain/task.js';
import type { CallbackBody } from '../ports/callback-body.js';
import { buildHttpApp } from '../http/app.js';
import { OpenAiModels } from '../http/openai/openai-models.js';
import { OpenAiPresenter } from '../http/openai/openai-presenter.js';
import { OPENAI_DIALECT } from '../http/openai/openai-routes.js';
import { UniversalPresenter } from '../http/universal/universal-presenter.js';
import { VeoPresenter } from '../http/veo/veo-presenter.js';
import { VEO_DIALECT } from '../http/veo/veo-routes.js';
import { deliverCallback } from '../callbacks/deliver-callback.js';
import { renderLocal } from '../providers/local/render-local-job.js';
import { TaskPlacement } from '../engine/routing/task-placement.js';
import { sweepExpired } from '../engine/maintenance/sweep-expired.js';
import { jobRequest, taskJobKey } from '../jobs/job-kinds.js';
import { ingestOutput } from '../engine/custody/ingest-output.js';
import { failTaskAfterExhaustion, pollTask, startTask } from '../engine/runner/task-jobs.js';
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
import { OperatorService } from '../services/operator-service.js';
import { ProviderHookService } from '../services/provider-hook-service.js';
import { TaskLifecycle } from '../engine/lifecycle/task-lifecycle.js';
import { TaskDeletion } from '../services/task-deletion.js';
import { TaskService } from '../services/task-service.js';
import { VideoExtensions } from '../services/video-extensions.js';
import { type Clock, systemClock } from '../ports/clock.js';
import type { Storage } from '../ports/storage.js';
import { openStorage } from '../storage/open-storage.js';
import { setUpBlobs } from './blob-setup.js';
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
/** What a caller may hand in instead of the defaults: its logger, its clock (tests advance one). */
export interface SegueOptions {
  readonly logger?: Logger;
  readonly clock?: Clock;
}

export async function createSegue(config: Config, options: SegueOptions = {}): Promise<Segue> {
  const logger = options.logger ?? createLogger(config);
  const clock = options.clock ?? systemClock;
  const now = () => clock.now();
  const tls = config.tls && readTlsFiles(config.tls);
  const storage = await openStorage({ ...config, logger: logger.child({ component: 'storage' }), now });
  const signer = new UrlSigner(urlSigningSecret(config.urlSigningSecret, config.dataDir), config.publicUrl, config.urlTtlSeconds);
  const { blobs, links, close: closeBlobs } = await setUpBlobs(config, signer, now);
  const media = new MediaTools({ ffmpegPath: config.ffmpegPath, ffprobePath: config.ffprobePath, defaultTimeoutMs: config.ffmpegTimeoutMs });
  const addressPolicy = { allowPrivateNetworks: config.allowPrivateNetworks };
  const outbound = new SafeHttpClient(addressPolicy);
  const presenter = new VeoPresenter(links, config);
  const scratch = new ScratchSpace(path.join(config.dataDir, 'work'), config.minFreeDiskBytes);
  const upstreams = setUpProviders({
    config,
    blobs,
    outbound,
    scratch,
    requestRender: (taskId) => storage.jobs.enqueue(jobRequest('local.render', { taskId })),
    now,
  });
  const providers = upstreams.registry;
  const lifecycle = new TaskLifecycle(storage, now);
  const keys = new KeyService(storage, now, addressPolicy);
  const limiter = new RateLimiter(now);
  const admission = new Admission(
    storage,
    config.pricesFile ? readJsonConfigFile('SEGUE_PRICES', config.pricesFile, priceTableSchema) : defaultPriceTable,
    BlocklistPolicy.fromFile(config.promptBlocklistFile, config.englishOnly),
    limiter,
    config,
    () => scratch.hasRoom(),
    now,
  );
  const reads = new ReadLimit(limiter, config.readRateLimit);
  const placement = new TaskPlacement(providers, now);
  const tasks = new TaskService(storage, placement, addressPolicy, admission, now);
  const callbacks = new CallbackService(storage, now);
  const renderer = new LocalRenderer(media, outbound, { mediaMaxBytes: config.mediaMaxBytes, mediaTimeoutMs: config.mediaTimeoutMs });

  const sweepScratch = async () => {
    const swept = await scratch.sweep(() => storage.jobs.liveLeaseOwners(), 2 * config.mediaTimeoutMs + config.ffmpegTimeoutMs);
    if (swept > 0) logger.info({ swept }, 'removed scratch space of dead workers');
  };
  await sweepScratch();
  await storage.jobs.enqueue(jobRequest('maintenance.sweep', {}));

  const taskDeps = { storage, providers, lifecycle, taskTimeoutMs: config.taskTimeoutMs, clock, placement, sources: {
    tasks: storage.tasks,
    placement,
    blobs,
    media,
    scratch,
    fetchVideo: (url: string, destination: string, signal: AbortSignal) =>
      outbound.download(url, destination, { maxBytes: config.mediaMaxBytes, timeoutMs: config.mediaTimeoutMs, signal }).then(() => undefined),
    linkTo: (key: string) => links.urlFor(key),
  } };
  const openAiModels = new OpenAiModels(providers.routedModels());
  const openAiPresenter = new OpenAiPresenter(links, openAiModels);
  // Each dialect that gives tasks a callback URL shapes their bodies; the universal dialect takes none.
  const callbackBodies: Readonly<Record<string, CallbackBody>> = {
    [VEO_DIALECT]: (task) => presenter.callbackBody(task),
    [OPENAI_DIALECT]: (task) => openAiPresenter.webhookEvent(task),
  };
  const callbackDeps = {
    storage,
    http: outbound,
    bodyFor: (task: Task) => (callbackBodies[task.dialect] ?? callbackBodies[VEO_DIALECT]!)(task),
    timeoutMs: config.callbackTimeoutMs,
    scheduleMs: config.callbackRetryScheduleMs,
    clock,
  };
  const worker = new Worker({
    queue: storage.jobs,
    handlers: {
      'task.start': (payload, context) => startTask(taskDeps, payload, context),
      'task.poll': (payload, context) => pollTask(taskDeps, payload, context),
      'task.ingest': (payload, context) =>
        ingestOutput({ storage, providers, lifecycle, blobs, media, scratch, fetchVideo: taskDeps.sources.fetchVideo }, payload, context),
      'local.render': (payload, context) =>
        renderLocal({ tasks: storage.tasks, blobs, renderer, scratch, onRendered: (taskId) => storage.jobs.wake(taskJobKey('task.poll', taskId)) }, payload, context),
      'maintenance.sweep': (_payload, context) => sweepExpired(storage, now, context),
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
    now,
    logger: logger.child({ component: 'worker' }),
    subscribe: (listener) => storage.onJobEnqueued(listener),
  });

  const imports = new MediaImportService(outbound, media, blobs, addressPolicy, scratch, { maxBytes: config.mediaMaxBytes });
  const extensions = new VideoExtensions(tasks, imports, (url) => taskOfVideoKey(links.keyOf(url) ?? ''));
  // A body carrying one medium of the largest accepted size as a base64 data: URI, and the fields around it.
  const mediaBodyLimitBytes = Math.ceil((config.mediaMaxBytes * 4) / 3) + 1024 * 1024;
  const http = await buildHttpApp({
    logger,
    ...(tls ? { tls } : {}),
    veo: { keys, tasks, extensions, presenter, callbacks, reads, imports, mediaBodyLimitBytes },
    universal: {
      extensions,
      keys,
      tasks,
      imports,
      presenter: new UniversalPresenter(links),
      reads,
      mediaBodyLimitBytes,
    },
    openai: {
      keys,
      tasks,
      extensions,
      deletion: new TaskDeletion(storage, blobs, now),
      imports,
      blobs,
      models: openAiModels,
      presenter: openAiPresenter,
      reads,
      mediaMaxBytes: config.mediaMaxBytes,
    },
    files: { signer, blobs },
    admin: config.adminKey ? { adminKey: config.adminKey, keys, admission, operator: new OperatorService(storage, lifecycle) } : undefined,
    providerReport: () => providers.report(),
    providerHooks: new ProviderHookService(storage, providers, now),
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
      closeBlobs();
    },
  };
}
