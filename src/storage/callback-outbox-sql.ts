import type { Kysely, Selectable } from 'kysely';
import { newRowId } from '../domain/ids.js';
import type {
  AttemptOutcome,
  CallbackAttempt,
  CallbackDelivery,
  CallbackOutbox,
  DeliveryState,
} from '../ports/callback-outbox.js';
import type { CallbackAttemptsTable, CallbackDeliveriesTable, Database } from './database-schema.js';

function toDelivery(row: Selectable<CallbackDeliveriesTable>): CallbackDelivery {
  return {
    id: row.id,
    taskId: row.task_id,
    apiKeyId: row.api_key_id,
    url: row.url,
    event: row.event as CallbackDelivery['event'],
    state: row.state as DeliveryState,
    round: Number(row.round),
    attemptsInRound: Number(row.attempts_in_round),
    nextAttemptAt: row.next_attempt_at === null ? null : Number(row.next_attempt_at),
    lastStatusCode: row.last_status_code,
    lastError: row.last_error,
    createdAt: Number(row.created_at),
    deliveredAt: row.delivered_at === null ? null : Number(row.delivered_at),
  };
}

function toAttempt(row: Selectable<CallbackAttemptsTable>): CallbackAttempt {
  return {
    round: Number(row.round),
    number: Number(row.number),
    attemptedAt: Number(row.attempted_at),
    statusCode: row.status_code,
    latencyMs: Number(row.latency_ms),
    error: row.error,
    responsePreview: row.response_preview,
  };
}

export class SqlCallbackOutbox implements CallbackOutbox {
  constructor(private readonly db: Kysely<Database>) {}

  async add(delivery: Pick<CallbackDelivery, 'id' | 'taskId' | 'apiKeyId' | 'url' | 'event'>, at: number): Promise<void> {
    await this.db
      .insertInto('callback_deliveries')
      .values({
        id: delivery.id,
        task_id: delivery.taskId,
        api_key_id: delivery.apiKeyId,
        url: delivery.url,
        event: delivery.event,
        state: 'pending',
        next_attempt_at: at,
        created_at: at,
        updated_at: at,
      })
      .execute();
  }

  async find(id: string): Promise<CallbackDelivery | undefined> {
    const row = await this.db.selectFrom('callback_deliveries').selectAll().where('id', '=', id).executeTakeFirst();
    return row ? toDelivery(row) : undefined;
  }

  async listForTask(taskId: string): Promise<Array<CallbackDelivery & { attempts: CallbackAttempt[] }>> {
    const deliveries = await this.db
      .selectFrom('callback_deliveries')
      .selectAll()
      .where('task_id', '=', taskId)
      .orderBy('created_at')
      .execute();
    if (deliveries.length === 0) return [];
    const attempts = await this.db
      .selectFrom('callback_attempts')
      .selectAll()
      .where(
        'delivery_id',
        'in',
        deliveries.map((delivery) => delivery.id),
      )
      .orderBy('attempted_at')
      .orderBy('number')
      .execute();
    return deliveries.map((row) => ({
      ...toDelivery(row),
      attempts: attempts.filter((attempt) => attempt.delivery_id === row.id).map(toAttempt),
    }));
  }

  async countByState(states: readonly DeliveryState[]): Promise<Record<string, number>> {
    const counts: Record<string, number> = Object.fromEntries(states.map((state) => [state, 0]));
    if (states.length === 0) return counts;
    const rows = await this.db
      .selectFrom('callback_deliveries')
      .select((eb) => ['state', eb.fn.countAll().as('count')])
      .where('state', 'in', states)
      .groupBy('state')
      .execute();
    for (const row of rows) counts[row.state] = Number(row.count);
    return counts;
  }

  async listByKey(apiKeyId: string, state: DeliveryState): Promise<CallbackDelivery[]> {
    const rows = await this.db
      .selectFrom('callback_deliveries')
      .selectAll()
      .where('api_key_id', '=', apiKeyId)
      .where('state', '=', state)
      .orderBy('created_at')
      .execute();
    return rows.map(toDelivery);
  }

  async recordAttempt(deliveryId: string, outcome: AttemptOutcome): Promise<boolean> {
    const { attempt } = outcome;
    const moved = await this.db
      .updateTable('callback_deliveries')
      .set({
        state: outcome.state,
        attempts_in_round: attempt.number,
        next_attempt_at: outcome.nextAttemptAt,
        last_status_code: attempt.statusCode,
        last_error: attempt.error,
        updated_at: attempt.attemptedAt,
        ...(outcome.state === 'delivered' ? { delivered_at: attempt.attemptedAt } : {}),
      })
      .where('id', '=', deliveryId)
      .where('state', '=', 'pending')
      .where('round', '=', attempt.round)
      .where('attempts_in_round', '=', attempt.number - 1)
      .executeTakeFirst();
    if (Number(moved.numUpdatedRows) !== 1) return false;
    await this.db
      .insertInto('callback_attempts')
      .values({
        id: newRowId(),
        delivery_id: deliveryId,
        round: attempt.round,
        number: attempt.number,
        attempted_at: attempt.attemptedAt,
        status_code: attempt.statusCode,
        latency_ms: attempt.latencyMs,
        error: attempt.error,
        response_preview: attempt.responsePreview,
      })
      .execute();
    return true;
  }

  async reopen(deliveryId: string, at: number): Promise<number | undefined> {
    const row = await this.db
      .updateTable('callback_deliveries')
      .set((eb) => ({
        state: 'pending',
        round: eb('round', '+', 1),
        attempts_in_round: 0,
        next_attempt_at: at,
        updated_at: at,
      }))
      .where('id', '=', deliveryId)
      .where('state', '!=', 'pending')
      .returning('round')
      .executeTakeFirst();
    return row ? Number(row.round) : undefined;
  }
}
