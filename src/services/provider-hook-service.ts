import type { ProviderRegistry } from '../engine/routing/provider-registry.js';
import { taskJobKey } from '../jobs/job-kinds.js';
import type { Storage } from '../ports/storage.js';

/** What became of one webhook delivery. */
export type HookOutcome = 'unknown_entry' | 'refused' | 'duplicate' | 'accepted';

/**
 * Provider webhooks ("your video is ready"), one route per entry: verified by the entry's own
 * plug-in, acted on once per delivery id, and only as a hint: the task's poll becomes due now,
 * and the poll confirms with the upstream before anything changes (a replayed hook can at most
 * cause one early poll).
 */
export class ProviderHookService {
  constructor(
    private readonly storage: Storage,
    private readonly providers: ProviderRegistry,
    private readonly now: () => number = Date.now,
  ) {}

  async receive(
    entry: string,
    headers: Readonly<Record<string, string | string[] | undefined>>,
    rawBody: string,
    query: Readonly<Record<string, unknown>> = {},
  ): Promise<HookOutcome> {
    const webhook = this.providers.webhook(entry);
    if (!webhook) return 'unknown_entry';
    const delivery = await webhook.verify(headers, rawBody, query);
    if (!delivery) return 'refused';
    if (!(await this.storage.inboundWebhooks.recordOnce(delivery.deliveryId, entry, this.now()))) return 'duplicate';
    if (delivery.taskId) await this.storage.jobs.wake(taskJobKey('task.poll', delivery.taskId));
    return 'accepted';
  }
}
