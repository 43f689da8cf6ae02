import type { Kysely } from 'kysely';
import type { InboundWebhookLog } from '../ports/inbound-webhook-log.js';
import type { Database } from './database-schema.js';

export class SqlInboundWebhookLog implements InboundWebhookLog {
  constructor(private readonly db: Kysely<Database>) {}

  async recordOnce(id: string, source: string, at: number): Promise<boolean> {
    const result = await this.db
      .insertInto('inbound_webhooks')
      .values({ id: `${source}:${id}`, source, received_at: at })
      .onConflict((conflict) => conflict.column('id').doNothing())
      .executeTakeFirst();
    return Number(result.numInsertedOrUpdatedRows ?? 0) === 1;
  }
}
