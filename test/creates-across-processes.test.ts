/**
 * One API key's creates from several `segue serve` processes on one database at once (SQLite in a
 * shared data directory; PostgreSQL when SEGUE_TEST_DATABASE_URL is set). Each process queues its
 * own creates per key; across processes the database orders them. Every request gets an answer
 * that is not an error of Segue's, and the balance, the cap on unfinished tasks and an
 * Idempotency-Key come out exact.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { after, test } from 'node:test';
import pino from 'pino';
import { openStorage } from '../src/storage/open-storage.js';
import { freePort } from './helpers/http-client.js';
import { SegueProcess, segueScripts } from './helpers/segue-process.js';
import { DIALECTS } from './helpers/storage-dialects.js';
import { temporaryDirectory } from './helpers/test-segue.js';

const ADMIN_KEY = 'admin-key-creates-across-0123456789';
const PROCESSES = 3;
/** Requests in each burst, spread over the processes: far more than any limit lets through. */
const BURST = 90;

const cleanups: Array<() => Promise<void>> = [];
after(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup();
});

interface Answer {
  readonly status: number;
  readonly code: number;
  readonly taskId?: string;
}

for (const dialect of DIALECTS) {
  test(`one key's creates from ${PROCESSES} API processes at once on one ${dialect.name} database: no 500, balance, cap and Idempotency-Key exact`, { skip: dialect.skip, timeout: 240_000 }, async () => {
    const database = await dialect.create();
    cleanups.push(() => database.drop());
    const dataDir = dialect.name === 'sqlite' ? database.location : temporaryDirectory('segue-creates-across-');
    if (dialect.name !== 'sqlite') cleanups.push(async () => fs.rmSync(dataDir, { recursive: true, force: true }));
    const databaseUrl = dialect.name === 'postgres' ? database.location : undefined;
    const ports = await Promise.all(Array.from({ length: PROCESSES }, () => freePort()));
    const environment = {
      ...(databaseUrl ? { SEGUE_DATABASE_URL: databaseUrl } : {}),
      SEGUE_URL_SIGNING_SECRET: 'creates-across-signing-secret-0123456789',
      SEGUE_PUBLIC_URL: `http://127.0.0.1:${ports[0]}`,
      SEGUE_ADMIN_KEY: ADMIN_KEY,
      SEGUE_RATE_LIMIT: 'off',
      SEGUE_MAX_UNFINISHED_TASKS: '100000',
      SEGUE_LOG_LEVEL: 'warn',
    };
    // No worker: every created task stays unfinished, so the cap counts them all.
    const apis = ports.map((port, index) => new SegueProcess({ port, dataDir, environment, command: [segueScripts.cli, 'serve'], name: `api-${index}` }));
    cleanups.push(...apis.map((api) => () => api.stop()));
    for (const api of apis) api.start();
    await Promise.all(apis.map((api) => api.whenUp()));
    const storage = await openStorage({ dataDir, databaseUrl, logger: pino({ level: 'silent' }) });
    cleanups.push(() => storage.close());

    const issue = async (name: string, credits: number, maxUnfinishedTasks?: number): Promise<{ id: string; key: string }> => {
      const answer = await fetch(`${apis[0]!.baseUrl}/admin/keys`, {
        method: 'POST',
        headers: { authorization: `Bearer ${ADMIN_KEY}`, 'content-type': 'application/json' },
        body: JSON.stringify({ name, credits, ...(maxUnfinishedTasks !== undefined ? { maxUnfinishedTasks } : {}) }),
      });
      assert.equal(answer.status, 200);
      return (await answer.json()) as { id: string; key: string };
    };
    const create = async (base: string, key: string, idempotencyKey?: string): Promise<Answer> => {
      const answer = await fetch(`${base}/api/v1/veo/generate`, {
        method: 'POST',
        headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json', ...(idempotencyKey ? { 'idempotency-key': idempotencyKey } : {}) },
        body: JSON.stringify({ prompt: 'a burst of creates', model: 'veo3_fast' }),
      });
      const body = (await answer.json()) as { code: number; data: { taskId?: string } | null };
      return { status: answer.status, code: body.code, ...(body.data?.taskId ? { taskId: body.data.taskId } : {}) };
    };
    /** `BURST` creates at once, dealt round-robin to the processes. */
    const burst = (key: string, idempotencyKey?: string): Promise<Answer[]> =>
      Promise.all(Array.from({ length: BURST }, (_, index) => create(apis[index % PROCESSES]!.baseUrl, key, idempotencyKey)));
    const tally = (answers: readonly Answer[]) => answers.reduce<Record<number, number>>((counts, { code }) => ({ ...counts, [code]: (counts[code] ?? 0) + 1 }), {});
    const assertBooks = async (keyId: string, expected: { balance: number; unfinished: number }) => {
      assert.equal(await storage.ledger.balance(keyId), expected.balance, 'the balance');
      assert.equal(await storage.ledger.ledgerSum(keyId), expected.balance, 'the running balance equals the ledger');
      assert.equal(await storage.tasks.countUnfinished(keyId), expected.unfinished, 'the tasks created');
    };

    // The price of one create, from a task of a key of its own.
    const probe = await issue('probe', 1_000_000);
    const first = await create(apis[0]!.baseUrl, probe.key);
    assert.equal(first.code, 200);
    const price = (await storage.tasks.findById(first.taskId!))!.price;
    assert.ok(price > 0);

    // Enough credits and no cap: every create is taken, each held once.
    const plenty = await issue('plenty', 1000 * price);
    const taken = await burst(plenty.key);
    assert.deepEqual(tally(taken), { 200: BURST }, 'every create taken');
    await assertBooks(plenty.id, { balance: (1000 - BURST) * price, unfinished: BURST });

    // The balance covers 20 of them: exactly 20 are created, every other one is refused for credits.
    const money = await issue('money', 20 * price);
    const spent = await burst(money.key);
    assert.deepEqual(tally(spent), { 200: 20, 402: BURST - 20 }, 'created or refused for credits, nothing else');
    await assertBooks(money.id, { balance: 0, unfinished: 20 });

    // The key's cap on unfinished tasks: exactly 15 are created, every other one is refused with 429.
    const capped = await issue('capped', 1000 * price, 15);
    const limited = await burst(capped.key);
    assert.deepEqual(tally(limited), { 200: 15, 429: BURST - 15 }, 'created or refused by the cap, nothing else');
    await assertBooks(capped.id, { balance: 985 * price, unfinished: 15 });

    // One Idempotency-Key sent by every request: one task, held for once, is every answer.
    const repeated = await issue('repeated', 1000 * price);
    const replays = await burst(repeated.key, 'one-create');
    assert.deepEqual(tally(replays), { 200: BURST });
    assert.equal(new Set(replays.map((answer) => answer.taskId)).size, 1, 'every answer names the one task');
    await assertBooks(repeated.id, { balance: 999 * price, unfinished: 1 });

    for (const api of apis) assert.doesNotMatch(fs.readFileSync(api.logFile, 'utf8'), /"level":50/, `${api.name} logged no error`);
  });
}
