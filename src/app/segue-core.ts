import path from 'node:path';
import type { Logger } from 'pino';
import type { ResultLinks } from '../blobs/result-links.js';
import { UrlSigner } from '../blobs/signed-urls.js';
import type { Config } from '../config/config.js';
import { TaskLifecycle } from '../engine/lifecycle/task-lifecycle.js';
import type { ProviderRegistry } from '../engine/routing/provider-registry.js';
import { TaskPlacement } from '../engine/routing/task-placement.js';
import { OpenAiModels } from '../http/openai/openai-models.js';
import { OpenAiPresenter } from '../http/openai/openai-presenter.js';
import { VeoPresenter } from '../http/veo/veo-presenter.js';
import { jobRequest } from '../jobs/job-kinds.js';
import { MediaTools } from '../media/media-tools.js';
import { ScratchSpace } from '../media/scratch-space.js';
import type { AddressPolicy } from '../net/address-guard.js';
import { SafeHttpClient } from '../net/safe-http.js';
import type { BlobStore } from '../ports/blob-store.js';
import type { Clock } from '../ports/clock.js';
import type { Storage } from '../ports/storage.js';
import { openStorage } from '../storage/open-storage.js';
import { setUpBlobs } from './blob-setup.js';
import { setUpProviders } from './provider-setup.js';
import { urlSigningSecret } from './url-signing-secret.js';

/** How often a process removes the scratch space that dead workers and old requests left behind. */
const SCRATCH_SWEEP_INTERVAL_MS = 60_000;

/**
 * What every Segue process builds, whether it serves the API, runs jobs, or both: the database,
 * the media store and its links, ffmpeg, outbound HTTP, scratch space, the provider entries and
 * the task lifecycle. Neither the HTTP app nor the worker is in it.
 */
export interface SegueCore {
  readonly config: Config;
  readonly logger: Logger;
  readonly clock: Clock;
  readonly now: () => number;
  readonly storage: Storage;
  readonly signer: UrlSigner;
  readonly blobs: BlobStore;
  readonly links: ResultLinks;
  readonly media: MediaTools;
  readonly outbound: SafeHttpClient;
  readonly addressPolicy: AddressPolicy;
  readonly scratch: ScratchSpace;
  readonly providers: ProviderRegistry;
  readonly placement: TaskPlacement;
  readonly lifecycle: TaskLifecycle;
  /** The Veo dialect's shapes: the API answers with them, the worker's callbacks carry them. */
  readonly presenter: VeoPresenter;
  /** The OpenAI dialect's shapes (its videos, its webhook events) and the models it names. */
  readonly openAiPresenter: OpenAiPresenter;
  readonly openAiModels: OpenAiModels;
  /** Closes what the core opened (after the API and the worker have stopped). */
  close(): Promise<void>;
}

/** Opens the database (migrating it under a lock), the media store and the providers. */
export async function openSegueCore(config: Config, logger: Logger, clock: Clock): Promise<SegueCore> {
  const now = () => clock.now();
  const storage = await openStorage({ ...config, logger: logger.child({ component: 'storage' }), now });
  const signer = new UrlSigner(urlSigningSecret(config.urlSigningSecret, config.dataDir), config.publicUrl, config.urlTtlSeconds);
  const { blobs, links, close: closeBlobs } = await setUpBlobs(config, signer, now);
  const media = new MediaTools({ ffmpegPath: config.ffmpegPath, ffprobePath: config.ffprobePath, defaultTimeoutMs: config.ffmpegTimeoutMs });
  const addressPolicy = { allowPrivateNetworks: config.allowPrivateNetworks };
  const outbound = new SafeHttpClient(addressPolicy);
  const scratch = new ScratchSpace(path.join(config.dataDir, 'work'), config.minFreeDiskBytes);
  const upstreams = setUpProviders({
    config,
    blobs,
    outbound,
    scratch,
    requestRender: (taskId) => storage.jobs.enqueue(jobRequest('local.render', { taskId })),
    gates: storage.gates,
    now,
  });

  // Scratch space is per machine; any process may sweep it (live workers are known by their leases).
  const sweepScratch = async () => {
    const swept = await scratch.sweep(() => storage.jobs.liveLeaseOwners(), 2 * config.mediaTimeoutMs + config.ffmpegTimeoutMs);
    if (swept > 0) logger.info({ swept }, 'removed scratch space of dead workers');
  };
  await sweepScratch();
  const scratchSweeper = setInterval(() => {
    sweepScratch().catch((error) => logger.warn({ err: error }, 'scratch sweep failed'));
  }, SCRATCH_SWEEP_INTERVAL_MS);
  scratchSweeper.unref();
  // One sweep job for the whole database: enqueuing it again is a no-op.
  await storage.jobs.enqueue(jobRequest('maintenance.sweep', {}));

  const openAiModels = new OpenAiModels(upstreams.registry.routedModels());
  const openAiPresenter = new OpenAiPresenter(links, openAiModels);
  return {
    config,
    logger,
    clock,
    now,
    storage,
    signer,
    blobs,
    links,
    media,
    outbound,
    addressPolicy,
    scratch,
    providers: upstreams.registry,
    placement: new TaskPlacement(upstreams.registry, now),
    lifecycle: new TaskLifecycle(storage, now),
    presenter: new VeoPresenter(links, config),
    openAiPresenter,
    openAiModels,
    async close() {
      clearInterval(scratchSweeper);
      await outbound.close();
      await upstreams.close();
      await storage.close();
      closeBlobs();
    },
  };
}
