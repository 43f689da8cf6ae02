/** What a task does. */
export type Operation = 'generate' | 'extend' | 'upgrade_1080p' | 'upgrade_4k';

/**
 * Where a task is in its life. Terminal states are `succeeded` and `failed`. `reconciling`: the
 * provider did not answer in time; its credits stay held until its final answer is known (or
 * an operator settles it), because a provider that timed out may still be rendering and billing.
 */
export type TaskState = 'queued' | 'running' | 'reconciling' | 'succeeded' | 'failed';

/**
 * When a task failed: before a provider accepted it (`submission`) or while it was being made
 * (`generation`). The Veo dialect shows them as successFlag 2 and 3.
 */
export type FailureStage = 'submission' | 'generation';

/** Why a task failed, independent of any dialect's codes. */
export type FailureReason =
  | 'content_policy'
  | 'input_unusable'
  | 'generation_failed'
  | 'timeout'
  | 'internal';

export type AspectRatio = '16:9' | '9:16';

export type Resolution = '720p' | '1080p';

/** How the pictures of a generation are given. */
export type GenerationMode = 'text' | 'first_and_last_frames' | 'reference_images';

/** What was asked for, in the engine's own terms (dialects translate into this). */
export interface TaskParameters {
  readonly prompt: string;
  /** Public model id: `veo3`, `veo3_fast`, `veo3_lite`. */
  readonly model: string;
  /** `auto` is resolved from the first image (or the source video) when the task runs. */
  readonly aspectRatio: AspectRatio | 'auto';
  readonly mode: GenerationMode;
  readonly imageUrls: readonly string[];
  readonly watermark: string | null;
  readonly negativePrompt: string | null;
  /** Length of a generation: 4, 6 or 8 s (an extension always adds 7 s). */
  readonly durationSeconds: number;
  readonly resolution: Resolution;
  readonly generateAudio: boolean;
  /**
   * An extension of a video Segue did not make: where it comes from. A URL is fetched when
   * the task runs; a data: URI was stored at submit under `sourceKey`.
   */
  readonly sourceVideoUrl: string | null;
  readonly sourceVideoKey: string | null;
}

/** Fills parameters stored before a field existed with that field's default. */
export function withParameterDefaults(stored: Partial<TaskParameters> & Pick<TaskParameters, 'prompt' | 'model'>): TaskParameters {
  return {
    aspectRatio: '16:9',
    mode: 'text',
    imageUrls: [],
    watermark: null,
    negativePrompt: null,
    durationSeconds: GENERATION_SECONDS,
    resolution: '720p',
    generateAudio: true,
    sourceVideoUrl: null,
    sourceVideoKey: null,
    ...stored,
  };
}

/** The stored result of a successful task. Keys point into the blob store. */
export interface TaskResult {
  /** The whole video (for an extension: source + new seconds). */
  readonly videoKey: string;
  /** For an extension: the new seconds alone. */
  readonly segmentKey: string | null;
  readonly posterKey: string;
  readonly durationSeconds: number;
  readonly width: number;
  readonly height: number;
  readonly fps: number;
  readonly hasAudio: boolean;
}

/**
 * The upstream's own copy of a result (e.g. a Gemini file uri) and when it was made: a native
 * extension continues from it while the upstream still keeps it.
 */
export interface UpstreamOutput {
  readonly uri: string;
  readonly createdAt: number;
}

/**
 * What a task ran on at its upstream, recorded when the upstream accepted it: every later call
 * for it (poll, download, a native extension of its result) goes to the same. Never a secret.
 */
export interface TaskPinning {
  /** The providers-file entry. */
  readonly entry: string;
  /** Who the upstream saw: a service account's email, or a short fingerprint of an API key. */
  readonly credential: string;
  /** Where it ran (a Vertex location); null for upstreams with one region. */
  readonly region: string | null;
  /** The upstream's exact model id. */
  readonly upstreamModel: string;
}

export interface TaskFailure {
  readonly stage: FailureStage;
  readonly reason: FailureReason;
  readonly message: string;
}

/**
 * How an extension continues its source: `native` — the upstream extends the video itself (the
 * one that made it, or one that extends any video from a link); `bridge` — the source's last
 * frame goes to an image-to-video model and the new seconds are joined on; `local` — the
 * embedded engine continues the source from its own material.
 */
export type ExtendMethod = 'native' | 'bridge' | 'local';

/** The method an extension runs with, and why that one. */
export interface ExtensionPlan {
  readonly method: ExtendMethod;
  readonly reason: string;
  /** A lesser method than the source allowed at best (e.g. a bridge because the upstream let the source go). */
  readonly lesser?: boolean;
}

/**
 * Whether the task ran on a later entry of its route than the first, or an extension ran by a
 * lesser method than its source allowed at best (the dialects' `fallbackFlag`).
 */
export function ranOnFallback(task: Task): boolean {
  return task.provider !== task.providerRoute[0] || task.extension?.lesser === true;
}

export interface Task {
  readonly id: string;
  readonly apiKeyId: string;
  readonly operation: Operation;
  readonly parentTaskId: string | null;
  readonly rootTaskId: string;
  /**
   * The name of the HTTP dialect that took the task; its callbacks are shaped by that dialect.
   * Below the HTTP layer it is an opaque label.
   */
  readonly dialect: string;
  readonly parameters: TaskParameters;
  /** The client's request as received (minus secrets), echoed back as `paramJson`. */
  readonly requestEcho: Readonly<Record<string, unknown>>;
  readonly seed: number;
  /** Credits held for this task at submit (the billing input is fixed then). */
  readonly price: number;
  readonly callbackUrl: string | null;
  /** The provider entry the task runs on (or last ran on). */
  readonly provider: string;
  /**
   * The entries the task may run on, in order; it moves down the list only on a retryable
   * failure before an upstream accepted it. `provider` differing from the first is a fallback.
   */
  readonly providerRoute: readonly string[];
  readonly providerHandle: unknown;
  /** For an extension: the method it runs with on its entry, and why (null for other operations). */
  readonly extension: ExtensionPlan | null;
  /** Set when the upstream finished: what Segue downloads, and what a native extension continues. */
  readonly upstreamOutput: UpstreamOutput | null;
  /** Set when an upstream accepted the task, for providers that pin (absent otherwise). */
  readonly pinning?: TaskPinning | null;
  readonly state: TaskState;
  readonly progress: number;
  readonly failure: TaskFailure | null;
  readonly result: TaskResult | null;
  /** What the engine reports about how it made the result (method, timings…). */
  readonly engineDetails: Readonly<Record<string, unknown>> | null;
  readonly createdAt: number;
  readonly startedAt: number | null;
  readonly finishedAt: number | null;
}

/** Length limits of a video chain, as on the Gemini API. */
export const EXTENSION_SECONDS = 7;
export const GENERATION_SECONDS = 8;
export const MAX_SOURCE_SECONDS = 141;

const allowedTransitions: Readonly<Record<TaskState, readonly TaskState[]>> = {
  queued: ['running', 'failed'],
  running: ['reconciling', 'succeeded', 'failed'],
  reconciling: ['succeeded', 'failed'],
  succeeded: [],
  failed: [],
};

export function canTransition(from: TaskState, to: TaskState): boolean {
  return allowedTransitions[from].includes(to);
}

export function isTerminal(state: TaskState): boolean {
  return allowedTransitions[state].length === 0;
}
