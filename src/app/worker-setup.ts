import { deliverCallback } from '../callbacks/deliver-callback.js';
import { DeliveryStatements } from '../callbacks/delivery-statements.js';
import { DestinationLimits } from '../callbacks/destination-limits.js';
import { FirstAttemptHandOff } from '../callbacks/first-attempt-hand-off.js';
import { OPENAI_DIALECT } from '../http/openai/openai-routes.js';
import { VEO_DIALECT } from '../http/veo/veo-routes.js';
import type { CallbackBody } from '../ports/callback-body.js';
import { ConfigError } from '../config/config.js';
import type { Task } from '../domain/task.js';
import { ingestOutput } from '../engine/custody/ingest-output.js';
import { sweepExpired } from '../engine/maintenance/sweep-expired.js';
import { failTaskAfterExhaustion, pollTask, startTask } from '../engine/runner/task-jobs.js';
import { TaskBatchReader } from '../engine/runner/task-batch-reader.js';
import { allJobKinds, type JobKind, taskJobKey } from '../jobs/job-kinds.js';
import { Worker } from '../jobs/worker.js';
import { TextureAnalysisCache } from '../providers/local/texture-analysis.js';
import { LocalRenderer } from '../providers/local/local-renderer.js';
import { renderLocal } from '../providers/local/render-local-job.js';
import type { SegueCore } from './segue-core.js';

/**
 * The job kinds a worker runs: every kind without a list; otherwise the listed ones, each a known
 * kind (`source` names where the list came from, for the message).
 */
export function workerKinds(names: readonly string[] | undefined, source: string): readonly JobKind[] {
  if (names === undefined) return allJobKinds;
  const unknown = names.filter((name) => !(allJobKinds as readonly string[]).includes(name));
  if (names.length === 0 || unknown.length > 0) {
    const problem = names.length === 0 ? 'names no job kind' : `names unknown job kind(s) ${unknown.join(', ')}`;
    throw new ConfigError(`${source} ${problem}; the job kinds are ${allJobKinds.join(', ')}`);
  }
  return [...new Set(names)] as JobKind[];
}

/** The job worker over the core: every handler wired to its owner, claiming only `kinds`. */
export function buildWorker(core: SegueCore, kinds: readonly JobKind[] = allJobKinds): Worker {
  const { config, storage, providers, lifecycle, blobs, media, scratch, outbound, links, presenter, placement, clock, now } = core;
  const renderer = new LocalRenderer(media, outbound, {
    mediaMaxBytes: config.mediaMaxBytes,
    mediaTimeoutMs: config.mediaTimeoutMs,
    analysisCache: new TextureAnalysisCache(scratch.keptDirectory('texture-analysis')),
  });
  const fetchVideo = (url: string, destination: string, signal: AbortSignal) =>
    outbound.download(url, destination, { maxBytes: config.mediaMaxBytes, timeoutMs: config.mediaTimeoutMs, signal }).then(() => undefined);
  const taskDeps = {
    storage,
    providers,
    lifecycle,
    taskTimeoutMs: config.taskTimeoutMs,
    clock,
    placement,
    sources: { tasks: storage.tasks, placement, blobs, media, scratch, fetchVideo, linkTo: (key: string) => links.urlFor(key) },
  };
  const pollDeps = { ...taskDeps, pollReads: new TaskBatchReader(storage.tasks) };
  // Each dialect that gives tasks a callback URL shapes their bodies; the universal dialect takes none.
  const callbackBodies: Readonly<Record<string, CallbackBody>> = {
    [VEO_DIALECT]: (task) => presenter.callbackBody(task),
    [OPENAI_DIALECT]: (task) => core.openAiPresenter.webhookEvent(task),
  };
  const callbackDeps = {
    storage,
    http: outbound,
    bodyFor: (task: Task) => (callbackBodies[task.dialect] ?? callbackBodies[VEO_DIALECT]!)(task),
    timeoutMs: config.callbackTimeoutMs,
    scheduleMs: config.callbackRetryScheduleMs,
    clock,
    destinations: new DestinationLimits(config.callbackConcurrencyPerDestination),
    statements: new DeliveryStatements(storage),
  };
  const worker = new Worker({
    queue: storage.jobs,
    handlers: {
      'task.start': (payload, context) => startTask(taskDeps, payload, context),
      'task.poll': (payload, context) => pollTask(pollDeps, payload, context),
      'task.ingest': (payload, context) => ingestOutput({ storage, providers, lifecycle, blobs, media, scratch, fetchVideo }, payload, context),
      'local.render': (payload, context) =>
        renderLocal({ tasks: storage.tasks, blobs, renderer, scratch, onRendered: (taskId) => storage.jobs.wake(taskJobKey('task.poll', taskId)) }, payload, context),
      'maintenance.sweep': (_payload, context) => sweepExpired({ storage, blobs, now }, context),
      'callback.deliver': (payload, context) => deliverCallback(callbackDeps, payload, context),
    },
    onExhausted: {
      'task.start': (payload) => failTaskAfterExhaustion(taskDeps, payload),
      'task.poll': (payload) => failTaskAfterExhaustion(taskDeps, payload),
      'task.ingest': (payload) => failTaskAfterExhaustion(taskDeps, payload),
      'local.render': (payload) => failTaskAfterExhaustion(taskDeps, payload),
    },
    kinds,
    concurrency: config.workerConcurrency,
    pollConcurrency: config.workerPollConcurrency,
    // Downloads and probes of finished upstream videos must never crowd out the polls.
    kindConcurrency: { 'local.render': config.localRenderConcurrency, 'task.ingest': 2 },
    leaseMs: config.jobLeaseMs,
    pollMs: config.workerPollMs,
    now,
    logger: core.logger.child({ component: 'worker' }),
    subscribe: (listener) => storage.onJobEnqueued(listener),
  });
  // The callbacks this process's tasks owe go straight to this worker when it takes them.
  if (kinds.includes('callback.deliver')) lifecycle.queueFirstAttemptsThrough(new FirstAttemptHandOff(worker, callbackDeps.statements));
  return worker;
}
