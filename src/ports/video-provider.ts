import type { FailureReason, GenerationMode, Operation, Task, TaskPinning, TaskResult, UpstreamOutput } from '../domain/task.js';

/** What a model can do on one provider. */
export interface ModelCapabilities {
  readonly operations: readonly Operation[];
  readonly modes: readonly GenerationMode[];
  /**
   * What an extension may continue: any video (Segue passes its own copy), or only a video this
   * same provider entry made and still holds (Gemini: its file uri, younger than 2 days).
   */
  readonly extendsFrom: 'any_video' | 'own_output';
}

/** What a provider entry runs a model on now: its credential's identity, region and exact model id. */
export type ProviderPinning = Omit<TaskPinning, 'entry'>;

/** The answer to `status(handle)`. */
export type ProviderStatus =
  | { readonly state: 'pending'; readonly progress?: number }
  | { readonly state: 'completed'; readonly result: TaskResult; readonly details?: Readonly<Record<string, unknown>> }
  /** The upstream finished; its video must be taken into Segue's custody (see `download`). */
  | { readonly state: 'output_ready'; readonly output: UpstreamOutput }
  | { readonly state: 'failed'; readonly reason: FailureReason; readonly message: string; readonly isRetryable: boolean };

export interface ProviderContext {
  readonly signal: AbortSignal;
}

/**
 * The video an extension continues, resolved by the engine before `start`: providers never read
 * the task store. `task` is the source task when Segue made it (with its result facts and, if
 * an upstream made it, that upstream's own copy); `link` a signed, expiring URL of Segue's copy,
 * for upstreams that fetch the source themselves.
 */
export interface ExtensionSource {
  readonly task: Task | null;
  readonly link: string | null;
  /**
   * For a bridge extension: the source's last frame, fitted without distortion to `aspectRatio`
   * (the model's nearest): the provider makes an image-to-video clip that starts from it.
   */
  readonly bridge?: {
    readonly frame: { readonly bytes: Buffer; readonly mimeType: string };
    readonly aspectRatio: '16:9' | '9:16';
    /** A signed, expiring link to the same frame (stored with the task's files), for upstreams that fetch images by URL. */
    readonly frameLink?: string;
  };
}

export interface StartContext extends ProviderContext {
  /** For an extension: its source, resolved; for an upgrade: the task it upgrades (`task`) and a link to its video. */
  readonly source?: ExtensionSource;
}

/** A verified webhook delivery: its id (deliveries are acted on once per id) and the task it names. */
export interface WebhookDelivery {
  readonly deliveryId: string;
  readonly taskId: string | undefined;
}

/**
 * The query parameter of a provider webhook URL that names Segue's task
 * (`SEGUE_PUBLIC_URL/hooks/<entry>?task=<id>`), for upstreams whose body names nothing of Segue's.
 */
export const WEBHOOK_TASK_PARAMETER = 'task';

/** A provider's verifier of its upstream's webhooks ("your video is ready"). */
export interface ProviderWebhook {
  /**
   * The delivery's id and the task it names, or undefined when it is forged, stale or unreadable.
   * `query` is the webhook URL's query string as received (where a provider put the task id);
   * a verifier that needs its upstream's keys (fal's JWKS) answers asynchronously.
   */
  verify(
    headers: Readonly<Record<string, string | string[] | undefined>>,
    rawBody: string,
    query?: Readonly<Record<string, unknown>>,
  ): WebhookDelivery | undefined | Promise<WebhookDelivery | undefined>;
}

/**
 * The contract every upstream and the local engine implement. `start` returns an opaque,
 * JSON-serialisable handle that is stored on the task; `status` is called from scheduled poll
 * jobs, so no worker waits while a provider works.
 */
export interface VideoProvider {
  readonly name: string;
  /**
   * Whether a model makes the pictures (an upstream, a GPU box) — false for the embedded engine,
   * which continues a video from its own material. Only generative entries can bridge.
   */
  readonly generative: boolean;
  capabilities(model: string): ModelCapabilities | undefined;
  start(task: Task, context: StartContext): Promise<unknown>;
  status(handle: unknown, task: Task, context: ProviderContext): Promise<ProviderStatus>;
  /** How long to wait before polling a task that was started `elapsedMs` ago (again). */
  pollDelayMs(elapsedMs: number): number;
  /** After this long without an answer a task goes to reconciliation (the service default if absent). */
  readonly timeoutMs?: number;
  /** Copies a finished upstream output into a local file (providers that answer `output_ready`). */
  download?(output: UpstreamOutput, destination: string, context: ProviderContext): Promise<void>;
  /**
   * For `own_output` providers: why this entry cannot continue `source` natively with `model`
   * (made elsewhere, too old, wrong size…), or undefined when it can.
   */
  nativeExtensionRefusal?(source: Task, model: string, now: number): string | undefined;
  /**
   * For providers that upgrade only videos they made themselves (a Veo service's
   * `get-1080p-video`): why this entry cannot upgrade `source`, or undefined when it can.
   */
  upgradeRefusal?(source: Task, operation: 'upgrade_1080p' | 'upgrade_4k', now: number): string | undefined;
  /**
   * For `any_video` providers: why this entry cannot fetch a link to Segue's copy now (e.g.
   * Segue's public URL is loopback, which the upstream cannot reach), or undefined when it can.
   * A refused entry may still continue the video by bridge.
   */
  linkExtensionRefusal?(): string | undefined;
  /**
   * Optional: what this entry runs `model` on now (credential identity, region, exact upstream
   * model id), recorded on each task it accepts so later calls can be held to the same.
   * Undefined for a model it does not serve.
   */
  pinning?(model: string): ProviderPinning | undefined;
}

/** Why a task cannot be followed on its entry as the entry stands now (another credential or region), or undefined. */
export function pinningDrift(pinned: TaskPinning, now: ProviderPinning | undefined): string | undefined {
  if (!now) return undefined;
  if (now.credential !== pinned.credential) return `it ran as ${pinned.credential} and the entry now uses ${now.credential}`;
  if (now.region !== pinned.region) return `it ran in ${pinned.region ?? 'the default region'} and the entry is now in ${now.region ?? 'the default region'}`;
  return undefined;
}

/** Whether a provider runs this operation for a model (and, for a generation, this kind of input). */
export function supports(provider: VideoProvider, model: string, operation: Operation, mode?: GenerationMode): boolean {
  const capabilities = provider.capabilities(model);
  return Boolean(capabilities?.operations.includes(operation) && (mode === undefined || capabilities.modes.includes(mode)));
}

/** An error from a provider; workers decide on retries from `isRetryable`, never from the text. */
export class ProviderError extends Error {
  constructor(
    message: string,
    readonly isRetryable: boolean,
    readonly reason: FailureReason = 'generation_failed',
    /** For a retryable error: when the upstream asked to be called again (429, 503). */
    readonly retryAfterMs?: number,
  ) {
    super(message);
    this.name = 'ProviderError';
  }
}
