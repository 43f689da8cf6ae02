import type { Task } from '../domain/task.js';
import type { ApiKeyRecord } from './key-store.js';

/** Where a callback delivery stands. Only `pending` deliveries are attempted. */
export type DeliveryState = 'pending' | 'delivered' | 'exhausted' | 'stopped' | 'refused';

/** One callback owed to a client: written with the task's terminal state, sent by a job. */
export interface CallbackDelivery {
  /** Stable across attempts: sent as `webhook-id`, the receiver's idempotency key. */
  readonly id: string;
  readonly taskId: string;
  readonly apiKeyId: string;
  readonly url: string;
  readonly event: 'task.succeeded' | 'task.failed';
  readonly state: DeliveryState;
  /** 1, then +1 on each manual redelivery; the retry schedule starts over each round. */
  readonly round: number;
  readonly attemptsInRound: number;
  readonly nextAttemptAt: number | null;
  readonly lastStatusCode: number | null;
  readonly lastError: string | null;
  readonly createdAt: number;
  readonly deliveredAt: number | null;
}

/** One try at sending a delivery. */
export interface CallbackAttempt {
  readonly round: number;
  readonly number: number;
  readonly attemptedAt: number;
  readonly statusCode: number | null;
  readonly latencyMs: number;
  readonly error: string | null;
  readonly responsePreview: string | null;
}

/** The outcome of an attempt, written together with its log entry. */
export interface AttemptOutcome {
  readonly state: DeliveryState;
  readonly nextAttemptAt: number | null;
  readonly attempt: CallbackAttempt;
}

/** The secrets a key signs its callbacks with. */
export type WebhookSigningKeys = Pick<ApiKeyRecord, 'webhookSecret' | 'previousWebhookSecret' | 'previousWebhookSecretExpiresAt' | 'veoHmacKey'>;

/** What sending a delivery needs: the delivery, its task, and the signing secrets of the key that owns both. */
export interface DeliveryToSend {
  readonly delivery: CallbackDelivery;
  readonly task: Task;
  readonly signing: WebhookSigningKeys;
}

export interface CallbackOutbox {
  add(delivery: Pick<CallbackDelivery, 'id' | 'taskId' | 'apiKeyId' | 'url' | 'event'>, at: number): Promise<void>;
  find(id: string): Promise<CallbackDelivery | undefined>;
  /**
   * Deliveries with their tasks and signing secrets, in one read (a burst's claimed deliveries
   * together); a delivery whose task is not its key's own, or gone, is missing from the answer.
   */
  findToSend(ids: readonly string[]): Promise<Map<string, DeliveryToSend>>;
  /** Deliveries of a task, each with its attempts, oldest first. */
  listForTask(taskId: string): Promise<Array<CallbackDelivery & { attempts: CallbackAttempt[] }>>;
  listByKey(apiKeyId: string, state: DeliveryState): Promise<CallbackDelivery[]>;
  /** Logs the attempt and moves the delivery; false if it was no longer pending in that round. */
  recordAttempt(deliveryId: string, outcome: AttemptOutcome): Promise<boolean>;
  /** `recordAttempt` for several deliveries (their log entries in one insert); one answer each, in order. */
  recordAttempts(attempts: ReadonlyArray<{ readonly deliveryId: string; readonly outcome: AttemptOutcome }>): Promise<boolean[]>;
  /** How many deliveries are in each of these states (for metrics). */
  countByState(states: readonly DeliveryState[]): Promise<Record<string, number>>;
  /** Starts a new round for a delivery that is not pending; returns the new round. */
  reopen(deliveryId: string, at: number): Promise<number | undefined>;
}
