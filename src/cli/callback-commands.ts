import { parseArgs } from 'node:util';
import { CallbackService } from '../services/callback-service.js';
import { KeyService } from '../services/key-service.js';
import { print, UsageError, withStorage } from './cli-support.js';

export const callbackUsage = `  callbacks list --task TASK_ID [--json]                deliveries of a task and every attempt
  callbacks redeliver --delivery DELIVERY_ID [--json]   send one delivery again (same webhook-id)
  callbacks redeliver --key KEY --exhausted [--json]    send every exhausted delivery of a key again`;

export async function callbackCommand(subcommand: string | undefined, argv: string[]): Promise<void> {
  const { values } = parseArgs({
    args: argv,
    options: {
      task: { type: 'string' },
      delivery: { type: 'string' },
      key: { type: 'string' },
      exhausted: { type: 'boolean', default: false },
      json: { type: 'boolean', default: false },
    },
  });
  await withStorage(async (storage) => {
    const callbacks = new CallbackService(storage);
    if (subcommand === 'list') {
      if (!values.task) throw new UsageError('callbacks list needs --task TASK_ID');
      const task = await storage.tasks.findById(values.task);
      if (!task) throw new UsageError(`no task ${values.task}`);
      const deliveries = await callbacks.listForTask(task.id, task.apiKeyId);
      print(deliveries, values.json, () =>
        deliveries.length === 0
          ? 'No callbacks for this task.'
          : deliveries
              .map((delivery) =>
                [
                  `${delivery.id}  ${delivery.event}  ${delivery.state}  round ${delivery.round}  ${delivery.url}`,
                  ...delivery.attempts.map(
                    (attempt) =>
                      `  #${attempt.round}.${attempt.number}  ${new Date(attempt.attemptedAt).toISOString()}  ` +
                      `${attempt.statusCode ?? '---'}  ${attempt.latencyMs} ms${attempt.error ? `  ${attempt.error}` : ''}`,
                  ),
                ].join('\n'),
              )
              .join('\n'),
      );
      return;
    }
    if (subcommand === 'redeliver') {
      if (values.delivery) {
        const existing = await storage.callbacks.find(values.delivery);
        if (!existing) throw new UsageError(`no delivery ${values.delivery}`);
        const delivery = await callbacks.redeliver(existing.id, existing.apiKeyId);
        print(delivery, values.json, () => `Delivery ${delivery.id} queued again (round ${delivery.round}).`);
        return;
      }
      if (values.key && values.exhausted) {
        const key = await new KeyService(storage).require(values.key);
        const redelivered = await callbacks.redeliverExhausted(key.id);
        print({ redelivered }, values.json, () => `${redelivered} exhausted deliveries queued again.`);
        return;
      }
      throw new UsageError('callbacks redeliver needs --delivery ID, or --key KEY --exhausted');
    }
    throw new UsageError(`unknown command: callbacks ${subcommand ?? ''}`);
  });
}
