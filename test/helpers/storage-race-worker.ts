/**
 * A separate process racing others on one database, for the storage contract suite:
 * `node storage-race-worker.js DIALECT LOCATION OPERATION ARG…` (`open` only opens and migrates).
 * Prints one JSON line of what it won.
 */
import fs from 'node:fs';
import path from 'node:path';
import { ProviderGate } from '../../src/engine/routing/provider-gate.js';
import { SqlJobQueue } from '../../src/storage/job-queue-sql.js';
import { createSqlStorage } from '../../src/storage/sql-storage.js';
import { openDialect } from './storage-dialects.js';
import { taskFixture } from './terminal-tasks.js';

const [dialectName, location, operation, ...args] = process.argv.slice(2);
const dialect = await openDialect(dialectName!, location!);
const storage = createSqlStorage(dialect);
const won: string[] = [];
try {
  if (operation === 'claim') {
    const queue = new SqlJobQueue(dialect.db, dialect);
    for (;;) {
      const job = await queue.claim(`race-${process.pid}`, ['task.start'], 600_000);
      if (!job) break;
      won.push(job.id);
    }
  } else if (operation === 'claim-batch') {
    const queue = new SqlJobQueue(dialect.db, dialect);
    for (;;) {
      const jobs = await queue.claimBatch(`race-${process.pid}`, ['task.poll'], 600_000, 7);
      if (jobs.length === 0) break;
      won.push(...jobs.map((job) => job.id));
    }
  } else if (operation === 'slot') {
    const [entry, max, ...taskIds] = args;
    for (const taskId of taskIds) {
      if (await storage.tasks.claimSlot(taskId, { from: 'queue', to: entry! }, Number(max), Date.now())) won.push(taskId);
    }
  } else if (operation === 'hold') {
    const [apiKeyId, price, ...taskIds] = args;
    for (const taskId of taskIds) {
      const held = await storage.transaction((stores) => stores.ledger.holdIfCovered(apiKeyId!, taskId, Number(price)));
      if (held) won.push(taskId);
    }
  } else if (operation === 'spend') {
    // Reads the balance, then writes on what it read: the write transaction's reads must hold until it commits.
    const [apiKeyId, price, ...notes] = args;
    for (const note of notes) {
      const spent = await storage.transaction(async (stores) => {
        if ((await stores.ledger.balance(apiKeyId!)) < Number(price)) return false;
        await stores.ledger.append({ apiKeyId: apiKeyId!, kind: 'adjustment', amount: -Number(price), note });
        return true;
      });
      if (spent) won.push(note);
    }
  } else if (operation === 'capped-insert') {
    // Counts a key's unfinished tasks and inserts one if under the cap, one at a time per key across
    // processes; all start together (each waits until every racer has marked itself ready in `barrier`).
    const [barrier, racers, apiKeyId, cap, ...taskIds] = args;
    fs.writeFileSync(path.join(barrier!, `ready-${process.pid}`), '');
    while (fs.readdirSync(barrier!).length < Number(racers)) await new Promise((resolve) => setTimeout(resolve, 2));
    for (const taskId of taskIds) {
      const inserted = await storage.transactionOneAtATime(`creates:${apiKeyId}`, async (stores) => {
        if ((await stores.tasks.countUnfinished(apiKeyId!)) >= Number(cap)) return false;
        await stores.tasks.insert(taskFixture({ id: taskId, apiKeyId: apiKeyId! }));
        return true;
      });
      if (inserted) won.push(taskId);
    }
  } else if (operation === 'idempotency') {
    const [apiKeyId, ...keys] = args;
    for (const key of keys) {
      const at = Date.now();
      const request = { key, fingerprint: 'f' };
      if (await storage.transaction((stores) => stores.idempotency.claim(apiKeyId!, request, `task-${process.pid}`, at, at - 60_000))) won.push(key);
    }
  } else if (operation === 'rate') {
    // Every attempt at one fixed time, so the window cannot move during the race.
    const [key, count, at, attempts] = args;
    for (let index = 0; index < Number(attempts); index++) {
      const answer = await storage.rateWindows.admit(key!, { count: Number(count), windowMs: 3_600_000 }, Number(at));
      if ('admission' in answer) won.push(answer.admission);
    }
  } else if (operation === 'gate') {
    // `failure`: records failures; `request`: asks to send (won: allowed at once). At a fixed time.
    const [entry, limitsJson, action, at, times] = args;
    const gate = new ProviderGate(entry!, JSON.parse(limitsJson!), storage.gates, () => Number(at));
    for (let index = 0; index < Number(times); index++) {
      if (action === 'failure') {
        await gate.recordFailure(`failure ${process.pid}-${index}`);
        won.push(String(index));
      } else if ((await gate.waitBeforeRequest()) === 0) {
        won.push(String(index));
      }
    }
  } else if (operation === 'wake') {
    const [waitingFor] = args;
    const queue = new SqlJobQueue(dialect.db, dialect);
    if (await queue.wakeOldestWaiting(waitingFor!)) won.push('woke');
  } else if (operation !== 'open') {
    throw new Error(`unknown operation ${operation}`);
  }
} finally {
  await storage.close();
}
process.stdout.write(`${JSON.stringify(won)}\n`);
