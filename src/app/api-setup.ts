import type { FastifyInstance } from 'fastify';
import { taskOfVideoKey } from '../blobs/task-blob-keys.js';
import { readJsonConfigFile } from '../config/json-config-file.js';
import { readTlsFiles } from '../config/tls-files.js';
import { defaultPriceTable, priceTableSchema } from '../domain/pricing.js';
import { buildHttpApp } from '../http/app.js';
import { UniversalPresenter } from '../http/universal/universal-presenter.js';
import { Admission } from '../services/admission.js';
import { CallbackService } from '../services/callback-service.js';
import { DashboardReads } from '../services/dashboard-reads.js';
import { KeyService } from '../services/key-service.js';
import { MediaImportService } from '../services/media-import-service.js';
import { MetricsService } from '../services/metrics-service.js';
import { OperatorService } from '../services/operator-service.js';
import { BlocklistPolicy } from '../services/prompt-policy.js';
import { ProviderHookService } from '../services/provider-hook-service.js';
import { RateLimiter, ReadLimit } from '../services/rate-limiter.js';
import { TaskDeletion } from '../services/task-deletion.js';
import { TaskService } from '../services/task-service.js';
import { VideoExtensions } from '../services/video-extensions.js';
import type { SegueCore } from './segue-core.js';

/** The API's services and its HTTP app, built over the core. */
export interface SegueApi {
  readonly keys: KeyService;
  readonly tasks: TaskService;
  readonly callbacks: CallbackService;
  readonly admission: Admission;
  readonly http: FastifyInstance;
}

/** Builds the use-cases and the Fastify app (not listening yet). No worker: jobs are only enqueued here. */
export async function buildApi(core: SegueCore): Promise<SegueApi> {
  const { config, storage, providers, lifecycle, blobs, media, scratch, outbound, links, presenter, placement, addressPolicy, signer, now } = core;
  const keys = new KeyService(storage, now, addressPolicy);
  const admission = new Admission(
    storage,
    config.pricesFile ? readJsonConfigFile('SEGUE_PRICES', config.pricesFile, priceTableSchema) : defaultPriceTable,
    BlocklistPolicy.fromFile(config.promptBlocklistFile, config.englishOnly),
    new RateLimiter(storage.rateWindows, now),
    config,
    () => scratch.hasRoom(),
    now,
  );
  const reads = new ReadLimit(config.readRateLimit, now);
  const tasks = new TaskService(storage, placement, addressPolicy, admission, now);
  const callbacks = new CallbackService(storage, now);
  const imports = new MediaImportService(outbound, media, blobs, addressPolicy, scratch, { maxBytes: config.mediaMaxBytes });
  const extensions = new VideoExtensions(tasks, imports, (url) => taskOfVideoKey(links.keyOf(url) ?? ''));
  // A body carrying one medium of the largest accepted size as a base64 data: URI, and the fields around it.
  const mediaBodyLimitBytes = Math.ceil((config.mediaMaxBytes * 4) / 3) + 1024 * 1024;
  const tls = config.tls && readTlsFiles(config.tls);
  const metrics = new MetricsService(storage, () => providers.report(), () => process.uptime(), now);
  // Where result links point (Segue's public URL, or the bucket's presigned host): the dashboard plays media from there.
  const mediaOrigin = async () => new URL(await links.urlFor('dashboard/origin-probe')).origin;
  const http = await buildHttpApp({
    logger: core.logger,
    ...(tls ? { tls } : {}),
    veo: { keys, tasks, extensions, presenter, callbacks, reads, imports, mediaBodyLimitBytes },
    universal: { extensions, keys, tasks, imports, presenter: new UniversalPresenter(links), reads, mediaBodyLimitBytes },
    openai: {
      keys,
      tasks,
      extensions,
      deletion: new TaskDeletion(storage, blobs, now),
      imports,
      blobs,
      models: core.openAiModels,
      presenter: core.openAiPresenter,
      reads,
      mediaMaxBytes: config.mediaMaxBytes,
    },
    files: { signer, blobs },
    admin: config.adminKey ? { adminKey: config.adminKey, keys, admission, operator: new OperatorService(storage, lifecycle), metrics } : undefined,
    providerReport: () => providers.report(),
    providerHooks: new ProviderHookService(storage, providers, now),
    metrics: { metrics, adminKey: config.adminKey },
    dashboard: { reads: new DashboardReads(storage, keys, callbacks), links, mediaOrigin },
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
  return { keys, tasks, callbacks, admission, http };
}
