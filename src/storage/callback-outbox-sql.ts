import type { Kysely, Selectable } from 'kysely';
import { newRowId } from '../domain/ids.js';
import type {
  AttemptOutcome,
  CallbackAttempt,
  CallbackDelivery,
  CallbackOutbox,
  DeliveryState,
  DeliveryToSend,
} from '../ports/callback-outbox.js';
import type { CallbackAttemptsTable, CallbackDeliveriesTable, Database } from './database-schema.js';
import { toTask } from './task-store-sql.js';

/** The delivery's own columns in `findToSend`'s join, each under a `delivery_` name (the task's columns keep theirs). */
const deliveryColumns = ['id', 'url', 'event', 'state', 'round', 'attempts_in_round', 'next_attempt_at', 'last_status_code', 'last_error', 'created_at', 'updated_at', 'delivered_at'] as const;

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

  async findToSend(ids: readonly string[]): Promise<Map<string, DeliveryToSend>> {
    const found = new Map<string, DeliveryToSend>();
    if (ids.length === 0) return found;
    const rows = await this.db
      .selectFrom('callback_deliveries as d')
      // The task must be the delivery key's own: a delivery is never signed with another tenant's secret.
      .innerJoin('tasks', (join) => join.onRef('tasks.id', '=', 'd.task_id').onRef('tasks.api_key_id', '=', 'd.api_key_id'))
      .innerJoin('api_keys as k', 'k.id', 'd.api_key_id')
      .selectAll('tasks')
      .select(deliveryColumns.map((column) => `d.${column} as delivery_${column}` as const))
      .select(['k.webhook_secret', 'k.previous_webhook_secret', 'k.previous_webhook_secret_expires_at', 'k.veo_hmac_key'])
      .where('d.id', 'in', [...new Set(ids)])
      .execute();
    for (const row of rows) {
      const delivery = toDelivery({
        ...(Object.fromEntries(deliveryColumns.map((column) => [column, row[`delivery_${column}`]])) as Omit<Selectable<CallbackDeliveriesTable>, 'task_id' | 'api_key_id'>),
        task_id: row.id,
        api_key_id: row.api_key_id,
      });
      found.set(delivery.id, {
        delivery,
        task: toTask(row),
        signing: {
          webhookSecret: row.webhook_secret,
          previousWebhookSecret: row.previous_webhook_secret,
          previousWebhookSecretExpiresAt: row.previous_webhook_secret_expires_at === null ? null : Number(row.previous_webhook_secret_expires_at),
          veoHmacKey: row.veo_hmac_key,
        },
      });
    }
    return found;
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
    return (await this.recordAttempts([{ deliveryId, outcome }]))[0]!;
  }

  async recordAttempts(attempts: ReadonlyArray<{ readonly deliveryId: string; readonly outcome: AttemptOutcome }>): Promise<boolean[]> {
    const moved: boolean[] = [];
    for (const { deliveryId, outcome } of attempts) moved.push(await this.moveDelivery(deliveryId, outcome));
    const logged = attempts.filter((_, index) => moved[index]);
    // One insert logs every attempt that moved its delivery.
    if (logged.length > 0) {
      await this.db
        .insertInto('callback_attempts')
        .values(
          logged.map(({ deliveryId, outcome: { attempt } }) => ({
            id: newRowId(),
            delivery_id: deliveryId,
            round: attempt.round,
            number: attempt.number,
            attempted_at: attempt.attemptedAt,
            status_code: attempt.statusCode,
            latency_ms: attempt.latencyMs,
            error: attempt.error,
            response_preview: attempt.responsePreview,
          })),
        )
        .execute();
    }
    return moved;
  }

  /** Moves a delivery after an attempt, if it is still pending in that round at the attempt before. */
  private async moveDelivery(deliveryId: string, outcome: AttemptOutcome): Promise<boolean> {
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
    return Number(moved.numUpdatedRows) === 1;
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
