import { parseArgs } from 'node:util';
import { KeyService } from '../services/key-service.js';
import { TaskLifecycle } from '../engine/lifecycle/task-lifecycle.js';
import { print, UsageError, withStorage } from './cli-support.js';

export const moneyUsage = `  credits grant KEY_OR_ID N [--note TEXT] [--json]      add N credits (a negative N takes them away, never below 0)
  credits history KEY_OR_ID [--limit N] [--json]        the key's ledger, newest first
  tasks reconciling [--json]                            tasks whose provider never gave a final answer
  tasks settle TASK_ID --refund|--charge                end a reconciling task: release or keep its credits`;

export async function creditCommand(subcommand: string | undefined, argv: string[]): Promise<void> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: { note: { type: 'string' }, limit: { type: 'string', default: '50' }, json: { type: 'boolean', default: false } },
  });
  const [keyOrId, amountText] = positionals;
  if (!keyOrId) throw new UsageError(`credits ${subcommand ?? ''} needs KEY_OR_ID`);
  await withStorage(async (storage) => {
    const keys = new KeyService(storage);
    const key = await keys.find(keyOrId);
    if (subcommand === 'grant') {
      const amount = Number(amountText);
      if (!amountText || !Number.isSafeInteger(amount)) throw new UsageError('credits grant needs a whole number N');
      const balance = await keys.grant(key.id, amount, values.note);
      print({ balance }, values.json, () => `Balance of ${key.name}: ${balance}`);
      return;
    }
    if (subcommand === 'history') {
      const entries = await keys.history(key.id, Math.max(1, Number(values.limit) || 50));
      print(entries, values.json, () =>
        entries
          .map((entry) => `${new Date(entry.createdAt).toISOString()}  ${entry.kind.padEnd(10)} ${String(entry.amount).padStart(8)}  ${entry.taskId ?? ''} ${entry.note ?? ''}`.trimEnd())
          .join('\n') || 'No entries.',
      );
      return;
    }
    throw new UsageError(`unknown command: credits ${subcommand ?? ''}`);
  });
}

export async function taskCommand(subcommand: string | undefined, argv: string[]): Promise<void> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: { refund: { type: 'boolean', default: false }, charge: { type: 'boolean', default: false }, json: { type: 'boolean', default: false } },
  });
  await withStorage(async (storage) => {
    if (subcommand === 'reconciling') {
      const tasks = await storage.tasks.listByState('reconciling', 500);
      print(tasks.map((task) => ({ id: task.id, apiKeyId: task.apiKeyId, provider: task.provider, price: task.price })), values.json, () =>
        tasks.map((task) => `${task.id}  ${task.provider}  ${task.price} credits held`).join('\n') || 'No task is reconciling.',
      );
      return;
    }
    if (subcommand === 'settle') {
      const [taskId] = positionals;
      if (!taskId || values.refund === values.charge) throw new UsageError('tasks settle needs TASK_ID and one of --refund or --charge');
      const settled = await new TaskLifecycle(storage).settleReconciling(taskId, values.refund ? 'refund' : 'charge');
      print({ settled }, values.json, () => (settled ? 'Settled.' : 'Nothing to settle: the task had already ended.'));
      return;
    }
    throw new UsageError(`unknown command: tasks ${subcommand ?? ''}`);
  });
}
