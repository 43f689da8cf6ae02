import { type RateLimit, parseRateLimit } from '../config/config.js';
import {
  FeatureDisabledError,
  InsufficientCreditsError,
  MaintenanceError,
  RateLimitedError,
  ValidationError,
} from '../domain/errors.js';
import { type PriceTable, priceOf, type PricedWork } from '../domain/pricing.js';
import type { Operation } from '../domain/task.js';
import type { ApiKeyRecord } from '../ports/key-store.js';
import type { Storage, Stores } from '../ports/storage.js';
import type { PromptCheck } from './prompt-policy.js';
import type { RateLimiter, Slot } from './rate-limiter.js';

export interface AdmissionPolicy {
  readonly rateLimit: RateLimit | 'off';
  readonly maxUnfinishedTasks: number;
  /** Forced on by the environment (the stored switch can also turn it on). */
  readonly maintenance: boolean;
  readonly disabledFeatures: readonly string[];
}

/** The operator's switches as they stand: the environment's and the stored ones together. */
export interface ServiceSwitches {
  readonly maintenance: boolean;
  readonly disabledFeatures: readonly Operation[];
}

export interface WorkToAdmit extends PricedWork {
  readonly prompt: string;
  /** What the work is priced as when it is not what it is (a bridge extension costs its image-to-video call). */
  readonly pricedAs?: Pick<PricedWork, 'operation' | 'durationSeconds' | 'resolution'>;
}

const MAINTENANCE_SETTING = 'maintenance';
const DISABLED_FEATURES_SETTING = 'disabled_features';

/**
 * Whether a new task may be accepted, and at what price. Checks that need no database run
 * first (switches, content policy, price, rate); the cap on unfinished tasks and the credit
 * hold run inside the transaction that creates the task, so concurrent requests can never
 * overspend: the hold and the task commit together or not at all.
 */
export class Admission {
  constructor(
    private readonly storage: Storage,
    private readonly prices: PriceTable,
    private readonly policy: PromptCheck,
    private readonly limiter: RateLimiter,
    private readonly defaults: AdmissionPolicy,
    /** Whether the machine has disk space for new media work. */
    private readonly hasRoom: () => Promise<boolean> = async () => true,
    private readonly now: () => number = Date.now,
  ) {}

  async switches(): Promise<ServiceSwitches> {
    const [maintenance, disabled] = await Promise.all([
      this.storage.settings.get(MAINTENANCE_SETTING),
      this.storage.settings.get(DISABLED_FEATURES_SETTING),
    ]);
    const stored = disabled ? (JSON.parse(disabled) as Operation[]) : [];
    return {
      maintenance: this.defaults.maintenance || maintenance === 'true',
      disabledFeatures: [...new Set([...(this.defaults.disabledFeatures as Operation[]), ...stored])],
    };
  }

  async setSwitches(switches: Partial<ServiceSwitches>): Promise<ServiceSwitches> {
    const now = this.now();
    if (switches.maintenance !== undefined) await this.storage.settings.set(MAINTENANCE_SETTING, String(switches.maintenance), now);
    if (switches.disabledFeatures !== undefined) {
      await this.storage.settings.set(DISABLED_FEATURES_SETTING, JSON.stringify(switches.disabledFeatures), now);
    }
    return this.switches();
  }

  priceOf(work: PricedWork): number {
    const price = priceOf(this.prices, work);
    if (price === undefined) {
      throw new ValidationError(`model ${work.model} has no price for ${work.operation} on this server`, 'model');
    }
    return price;
  }

  /** Everything before the transaction; the returned slot must be released if the task is not created. */
  async begin(key: ApiKeyRecord, work: WorkToAdmit, options: { translationRequested?: boolean } = {}): Promise<{ price: number; slot: Slot }> {
    const { maintenance, disabledFeatures } = await this.switches();
    if (maintenance) throw new MaintenanceError('the service is under maintenance: new tasks are not accepted for now');
    if (disabledFeatures.includes(work.operation)) {
      throw new FeatureDisabledError(`${work.operation} is switched off on this server`, work.operation);
    }
    this.policy.check(work.prompt, { translationRequested: options.translationRequested ?? false });
    if (!(await this.hasRoom())) {
      throw new RateLimitedError('Segue is short of disk space for new videos; please try again later', 60, 'disk_full');
    }
    const price = this.priceOf(work.pricedAs ? { ...work, ...work.pricedAs } : work);
    const limit = (key.rateLimit && parseRateLimit(key.rateLimit)) || this.defaults.rateLimit;
    const admitted = await this.limiter.tryAcquire(key.id, limit);
    if ('retryAfterMs' in admitted) {
      throw new RateLimitedError('Too many requests: the limit on new tasks was reached', Math.ceil(admitted.retryAfterMs / 1000));
    }
    return { price, slot: admitted.slot };
  }

  /**
   * Inside the creating transaction, which runs one at a time per key (`transactionOneAtATime`):
   * the cap on unfinished tasks (only creates add to the count, and they wait their turn), then
   * the hold (a conditional write, exact against any concurrent top-up or refund).
   */
  async hold(stores: Stores, key: ApiKeyRecord, taskId: string, price: number): Promise<void> {
    const cap = key.maxUnfinishedTasks ?? this.defaults.maxUnfinishedTasks;
    if ((await stores.tasks.countUnfinished(key.id)) >= cap) {
      throw new RateLimitedError(`Too many requests: ${cap} tasks are already unfinished`, 10);
    }
    if (price === 0) return;
    if (!(await stores.ledger.holdIfCovered(key.id, taskId, price))) {
      throw new InsufficientCreditsError(`the balance does not cover this task's price of ${price} credits`, price);
    }
  }
}
