/**
 * Split processes, crashed: 2 API processes (no worker) and 2 worker processes (`segue worker`) on
 * one database and one media store, as Segue runs on several machines. Tasks go to both APIs
 * (Veo generations with a callback to a receiver that fails on purpose, extensions sent to the API
 * that did not create their source, universal-dialect creates, one extending an uploaded data: URI);
 * one worker and one API are SIGKILLed mid-run and started again. Once everything has ended,
 * nothing may be lost, stuck, failed, paid or called back twice; every result must download from
 * either API (Segue's signed links, with Range); the media store must hold exactly what the tasks
 * reference.
 *
 * It runs twice: on SQLite + the file-system store (one data dir shared by the four processes),
 * always; and on PostgreSQL + S3 (s3rver; each process with a data dir of its own, as on separate
 * machines) when SEGUE_TEST_DATABASE_URL names a server it may create databases on — skipped with
 * the reason otherwise, except with CI=true, where it must run.
 *
 * Knobs (environment):
 *   SEGUE_SPLIT_TASKS  tasks to submit (default 8; the first 8 cover every kind)
 *   SEGUE_SPLIT_KILLS  SIGKILLs, alternating worker and API, each followed by a restart (default 2)
 *   SEGUE_SPLIT_SEED   replays a run's choices (task mix, APIs, pauses, kill moments, receiver faults);
 *                      every run prints the seed it used.
 *   SEGUE_SPLIT_API=main|serve  how an API-only process is started (default: `segue serve` where the
 *                      CLI has it, else `dist/src/main.js` with SEGUE_RUN_WORKER=false)
 *   SEGUE_SPLIT_KEEP_DATA=1  keeps the data dirs (process logs, SQLite database) and prints where
 * e.g. `SEGUE_SPLIT_TASKS=30 SEGUE_SPLIT_KILLS=10 node --test dist/test/split-process-crash.test.js`.
 */
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { type TestContext, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import assert from 'node:assert/strict';
import { ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3';
import { ChaosClient } from './helpers/chaos-client.js';
import { chaosServerEnvironment } from './helpers/chaos-plan.js';
import { type ChaosDatabase, postgresChaosDatabase, sqliteChaosDatabase } from './helpers/chaos-database.js';
import { checkCallbacks, checkMoney, checkTasks, checkVideos, Findings, type LedgerEntry, openWork, reruns, type Snapshot } from './helpers/chaos-invariants.js';
import { startFlakyCallbackReceiver } from './helpers/flaky-callback-receiver.js';
import { freePort } from './helpers/http-client.js';
import { startTestS3 } from './helpers/s3-server.js';
import { randomSeed, SeededRandom } from './helpers/seeded-random.js';
import { SegueProcess, segueScripts } from './helpers/segue-process.js';
import { DIALECTS } from './helpers/storage-dialects.js';
import { TEST_KEY, temporaryDirectory } from './helpers/test-segue.js';
import { waitFor } from './helpers/wait-for.js';

function wholeNumber(name: string, fallback: number, minimum: number): number {
  const text = process.env[name];
  if (!text) return fallback;
  const value = Number(text);
  if (!Number.isSafeInteger(value) || value < minimum) throw new Error(`${name} must be a whole number ≥ ${minimum} (got ${text})`);
  return value;
}

const taskCount = wholeNumber('SEGUE_SPLIT_TASKS', 8, 2);
const killCount = wholeNumber('SEGUE_SPLIT_KILLS', 2, 0);
const seed = process.env['SEGUE_SPLIT_SEED'] ? wholeNumber('SEGUE_SPLIT_SEED', 0, 0) >>> 0 : randomSeed();
const keepData = Boolean(process.env['SEGUE_SPLIT_KEEP_DATA']);
const replay = `SEGUE_SPLIT_SEED=${seed} SEGUE_SPLIT_TASKS=${taskCount} SEGUE_SPLIT_KILLS=${killCount}`;
const ADMIN_KEY = 'split-admin-key-0123456789';
const URL_SIGNING_SECRET = 'split-process-crash-url-signing-secret-0123456789';
/** How long one task may take to end, on two busy cores. */
const perTaskMs = 20_000;

/** Does the CLI have `segue serve` (an API-only process)? Another branch adds it. */
function cliServes(): boolean {
  try {
    return /\bserve\b/.test(fs.readFileSync(segueScripts.cli, 'utf8'));
  } catch {
    return false;
  }
}

/** How an API-only process starts: switch here (SEGUE_RUN_WORKER=false is set for both). */
const apiCommand: readonly string[] = (process.env['SEGUE_SPLIT_API'] ?? (cliServes() ? 'serve' : 'main')) === 'serve' ? [segueScripts.cli, 'serve'] : [segueScripts.main];
const workerCommand: readonly string[] = [segueScripts.cli, 'worker'];

// ---------------------------------------------------------------------------------------------
// The plan: what is created where, and when processes die. Everything drawn from the seed.

type SplitTaskKind = 'veo-generate' | 'veo-extend' | 'universal-generate' | 'universal-extend-link' | 'universal-extend-data';

interface SplitTask {
  readonly index: number;
  readonly kind: SplitTaskKind;
  /** The API a generation is sent to (an extension goes to the API that did not create its source). */
  readonly api: 0 | 1;
  readonly gapMs: number;
  /** For extensions: the plan index of the (earlier) Veo generation it continues. */
  readonly sourceIndex: number | undefined;
  readonly seed: number;
}

/** The first tasks cover every kind (a run of the default size has each at least once); then drawn. */
const coverage: readonly SplitTaskKind[] = ['veo-generate', 'veo-generate', 'veo-extend', 'universal-generate', 'veo-extend', 'universal-extend-data', 'veo-generate', 'universal-extend-link'];

function planTasks(random: SeededRandom, count: number): SplitTask[] {
  const tasks: SplitTask[] = [];
  for (let index = 0; index < count; index++) {
    const draw = random.next();
    const kind: SplitTaskKind =
      coverage[index] ??
      (draw < 0.4 ? 'veo-generate' : draw < 0.65 ? 'veo-extend' : draw < 0.8 ? 'universal-generate' : draw < 0.9 ? 'universal-extend-link' : 'universal-extend-data');
    const generations = tasks.filter((task) => task.kind === 'veo-generate').map((task) => task.index);
    const extension = kind.includes('extend');
    tasks.push({
      index,
      kind,
      api: index < 2 ? (index as 0 | 1) : (random.int(0, 1) as 0 | 1),
      gapMs: random.int(0, 2_500),
      sourceIndex: extension ? random.pick(generations) : undefined,
      // The Veo dialect takes seeds 10000–99999.
      seed: kind.startsWith('veo') ? random.int(10_000, 99_999) : random.int(0, 2 ** 31),
    });
  }
  return tasks;
}

/**
 * Where a kill lands. A worker: in a running `render` (the worker holding it dies), while the
 * receiver holds a `callback` (its sender dies; the receiver accepts it after the kill), or after
 * a `timer`. An API: just after a create was sent to it (`submit`: the API the next create goes
 * to), the moment an uploaded video it takes in lands in the media store (`import`: before the
 * task that uses it is committed; on S3 the kill is sent from the bucket's write event, before the
 * API has its answer), or after a `timer`.
 */
type SplitKillMoment = 'render' | 'callback' | 'timer' | 'submit' | 'import';

interface SplitKill {
  readonly target: 'worker' | 'api';
  readonly moment: SplitKillMoment;
  /** Which of the two, where the moment does not pick one. */
  readonly which: 0 | 1;
  readonly minUpMs: number;
  readonly delayMs: number;
  readonly downMs: number;
}

function planKills(random: SeededRandom, count: number): SplitKill[] {
  const first = random.chance(0.5) ? 'worker' : 'api';
  return Array.from({ length: count }, (_, index) => {
    const target: SplitKill['target'] = index % 2 === 0 ? first : first === 'worker' ? 'api' : 'worker';
    const draw = random.next();
    const moment: SplitKillMoment =
      target === 'worker' ? (draw < 0.55 ? 'render' : draw < 0.8 ? 'callback' : 'timer') : draw < 0.5 ? 'submit' : draw < 0.8 ? 'import' : 'timer';
    const delayMs = moment === 'render' ? random.int(0, 3_500) : moment === 'timer' ? random.int(500, 6_000) : moment === 'submit' ? random.int(0, 60) : 0;
    return { target, moment, which: random.int(0, 1) as 0 | 1, minUpMs: random.int(500, 3_000), delayMs, downMs: random.int(0, 1_500) };
  });
}

// ---------------------------------------------------------------------------------------------
// The two set-ups: one database and one media store shared by the four processes.

interface SharedStore {
  /** What every process gets on top of the common variables. */
  readonly environment: Record<string, string>;
  readonly mediaStore: 'file system' | 'bucket';
  dataDirFor(processName: string): string;
  readonly database: ChaosDatabase;
  /** Every object in the media store (sorted), and staging leftovers that are not objects. */
  stored(): Promise<{ keys: string[]; staging: string[] }>;
  /** Calls `listener` as soon as an uploaded video (`imports/…`) is stored; returns a function that stops it. */
  onImportStored(listener: (key: string) => void): () => void;
  /** Where media must not be (S3: no process writes blobs to its data dir). */
  readonly noLocalBlobsIn: readonly string[];
  readonly keptPaths: readonly string[];
  cleanUp(): Promise<void>;
}

interface Topology {
  readonly name: string;
  readonly skip: string | false;
  setUp(): Promise<SharedStore>;
}

function listFiles(directory: string): string[] {
  if (!fs.existsSync(directory)) return [];
  return (fs.readdirSync(directory, { recursive: true, withFileTypes: true }) as fs.Dirent[])
    .filter((entry) => entry.isFile())
    .map((entry) => path.relative(directory, path.join(entry.parentPath, entry.name)).split(path.sep).join('/'))
    .sort();
}

const postgres = DIALECTS.find((dialect) => dialect.name === 'postgres')!;

const topologies: readonly Topology[] = [
  {
    name: 'SQLite + fs',
    skip: false,
    async setUp() {
      const dataDir = temporaryDirectory('segue-split-sqlite-');
      const blobs = path.join(dataDir, 'blobs');
      return {
        environment: {},
        mediaStore: 'file system',
        dataDirFor: () => dataDir,
        database: sqliteChaosDatabase(dataDir),
        async stored() {
          const files = listFiles(blobs);
          // The store writes a JSON blob (or copies across devices) to `<key>.<hex>.part`, then renames it.
          const staging = files.filter((file) => /\.[0-9a-f]{8}\.part$/.test(file));
          return { keys: files.filter((file) => !staging.includes(file)), staging };
        },
        onImportStored(listener) {
          // No event from a file system rename that is quick enough: look every few milliseconds.
          const seen = new Set(listFiles(path.join(blobs, 'imports')));
          const timer = setInterval(() => {
            for (const file of listFiles(path.join(blobs, 'imports'))) {
              if (seen.has(file) || file.endsWith('.part')) continue;
              seen.add(file);
              listener(`imports/${file}`);
            }
          }, 3);
          return () => clearInterval(timer);
        },
        noLocalBlobsIn: [],
        keptPaths: [dataDir],
        cleanUp: async () => {
          if (!keepData) fs.rmSync(dataDir, { recursive: true, force: true });
        },
      };
    },
  },
  {
    name: 'PostgreSQL + S3',
    // Skipped (with the reason) without a PostgreSQL server to use, except in CI (CI=true), where it must run.
    skip: postgres.skip && 'SEGUE_TEST_DATABASE_URL is not set: the PostgreSQL + S3 run is skipped (set it to a server this test may create databases on)',
    async setUp() {
      const database = await postgres.create();
      const s3 = await startTestS3('segue-split').catch(async (error: unknown) => {
        await database.drop();
        throw error;
      });
      const root = temporaryDirectory('segue-split-pg-');
      const reader = postgresChaosDatabase(database.location);
      const bucketClient = new S3Client({ endpoint: s3.endpoint, region: 'us-east-1', forcePathStyle: true, credentials: s3.credentials });
      const dataDirs: string[] = [];
      return {
        environment: {
          SEGUE_DATABASE_URL: database.location,
          SEGUE_DATABASE_POOL_SIZE: '4',
          ...s3.environment,
          // The AWS SDK's default chain reads these, as it would in production.
          AWS_ACCESS_KEY_ID: s3.credentials.accessKeyId,
          AWS_SECRET_ACCESS_KEY: s3.credentials.secretAccessKey,
        },
        mediaStore: 'bucket',
        dataDirFor(processName) {
          const directory = path.join(root, processName);
          fs.mkdirSync(directory, { recursive: true });
          dataDirs.push(directory);
          return directory;
        },
        database: reader,
        async stored() {
          const keys: string[] = [];
          let token: string | undefined;
          do {
            const page = await bucketClient.send(new ListObjectsV2Command({ Bucket: s3.bucket, ...(token ? { ContinuationToken: token } : {}) }));
            keys.push(...(page.Contents ?? []).map((object) => object.Key!));
            token = page.IsTruncated ? page.NextContinuationToken : undefined;
          } while (token);
          return { keys: keys.sort(), staging: [] };
        },
        onImportStored: (listener) => s3.onObjectCreated((key) => key.startsWith('imports/') && listener(key)),
        get noLocalBlobsIn() {
          return dataDirs.map((directory) => path.join(directory, 'blobs'));
        },
        keptPaths: [root],
        async cleanUp() {
          await reader.close().catch(() => {});
          bucketClient.destroy();
          await s3.close().catch(() => {});
          await database.drop();
          if (!keepData) fs.rmSync(root, { recursive: true, force: true });
        },
      };
    },
  },
];

// ---------------------------------------------------------------------------------------------
// Checks of their own (the rest are the chaos test's invariants).

/** A link handed out by one API, on another API's origin (same path, expiry and signature). */
function onOrigin(link: string, target: SegueProcess): string {
  const url = new URL(link);
  return `${target.baseUrl}${url.pathname}${url.search}`;
}

/**
 * Every result file (whole video, new segment, poster) downloads from either API: each answers
 * HEAD with the size and a Range request with 206 and the same bytes.
 */
async function checkLinksOnBothApis(findings: Findings, snapshot: Snapshot, apis: readonly SegueProcess[], reader: ChaosClient, publicUrl: string): Promise<number> {
  let served = 0;
  for (const task of snapshot.tasks.filter((candidate) => candidate.state === 'succeeded')) {
    const { data } = await reader.read(`/api/v1/veo/record-info?taskId=${task.id}`, `record-info of ${task.id}`);
    const links: Array<[string, string | undefined]> = [
      ['video', data?.response?.fullResultUrls?.[0] ?? data?.response?.resultUrls?.[0]],
      ['poster', data?.response?.posterUrl],
      ...(task.operation === 'extend' ? [['segment', data?.response?.resultUrls?.[0]] as [string, string | undefined]] : []),
    ];
    for (const [label, link] of links) {
      if (!link) {
        findings.problems.push(`task ${task.id}: record-info has no ${label} link`);
        continue;
      }
      findings.check(link.startsWith(`${publicUrl}/files/`), `task ${task.id} ${label}: the link ${link} is not a signed link on SEGUE_PUBLIC_URL`);
      const answers: Array<{ api: string; size: number; digest: string }> = [];
      for (const api of apis) {
        const url = onOrigin(link, api);
        try {
          const head = await fetch(url, { method: 'HEAD', signal: AbortSignal.timeout(10_000) });
          const size = Number(head.headers.get('content-length'));
          if (head.status !== 200 || !(size > 0)) throw new Error(`HEAD answered ${head.status}, content-length ${head.headers.get('content-length')}`);
          const start = Math.floor(size / 3);
          const end = Math.min(size - 1, start + 65_535);
          const response = await fetch(url, { headers: { range: `bytes=${start}-${end}` }, signal: AbortSignal.timeout(10_000) });
          const body = Buffer.from(await response.arrayBuffer());
          if (response.status !== 206) throw new Error(`a Range request answered ${response.status}`);
          if (response.headers.get('content-range') !== `bytes ${start}-${end}/${size}`) throw new Error(`Content-Range ${response.headers.get('content-range')}, asked bytes=${start}-${end} of ${size}`);
          if (body.length !== end - start + 1) throw new Error(`${body.length} bytes for a range of ${end - start + 1}`);
          answers.push({ api: api.name, size, digest: createHash('sha256').update(body).digest('hex') });
          served++;
        } catch (error) {
          findings.problems.push(`task ${task.id} ${label} from ${api.name} (${url}): ${(error as Error).message}`);
        }
      }
      if (answers.length === apis.length) {
        findings.check(
          answers.every((answer) => answer.size === answers[0]!.size && answer.digest === answers[0]!.digest),
          `task ${task.id} ${label}: the APIs serve different bytes (${answers.map((answer) => `${answer.api} ${answer.size} B ${answer.digest.slice(0, 12)}`).join(', ')})`,
        );
      }
    }
  }
  return served;
}

/**
 * Uploads whose API was killed the moment they were stored, before their task committed: by
 * design they stay until `maintenance.sweep` removes hour-old uploads no task names (that removal
 * is tested in maintenance-sweep.test.ts); only these may be left over here.
 */
const uploadsCutOff = new Set<string>();

/** The media store holds exactly the objects the tasks reference: none missing, none left over. */
async function checkStoredMedia(findings: Findings, shared: SharedStore): Promise<{ stored: number; referenced: number; staging: string[] }> {
  const referenced = await shared.database.referencedBlobKeys();
  const { keys, staging } = await shared.stored();
  const present = new Set(keys);
  const missing = [...referenced].filter((key) => !present.has(key)).sort();
  const extra = keys.filter((key) => !referenced.has(key) && !uploadsCutOff.has(key));
  findings.check(missing.length === 0, `${missing.length} keys the tasks reference are missing from the ${shared.mediaStore}:\n      ${missing.join('\n      ')}`);
  findings.check(extra.length === 0, `the ${shared.mediaStore} holds ${extra.length} objects no task references:\n      ${extra.join('\n      ')}`);
  for (const directory of shared.noLocalBlobsIn) findings.check(listFiles(directory).length === 0, `media was written to the local directory ${directory}: ${listFiles(directory).join(', ')}`);
  return { stored: keys.length, referenced: referenced.size, staging };
}

/** Error-level lines (pino level ≥ 50) a process logged, across its starts. */
function errorLines(member: SegueProcess): string[] {
  let text = '';
  try {
    text = fs.readFileSync(member.logFile, 'utf8');
  } catch {
    return [];
  }
  return text.split('\n').filter((line) => /"level":(5\d|6\d)/.test(line));
}

// ---------------------------------------------------------------------------------------------

for (const topology of topologies) {
  test(
    `split processes on ${topology.name}: 2 APIs + 2 workers, ${taskCount} tasks, ${killCount} SIGKILLs (worker and API) — nothing lost, stuck, paid or called back twice; every result on both APIs; the store holds exactly what the tasks reference`,
    { skip: topology.skip, timeout: 300_000 + (taskCount + killCount) * 30_000 },
    (t) => runScenario(t, topology),
  );
}

async function runScenario(t: TestContext, topology: Topology): Promise<void> {
  const label = topology.name;
  console.log(`# split-process crash on ${label}: seed ${seed} (replay: ${replay} node --test dist/test/split-process-crash.test.js); API processes: node ${apiCommand.map((part) => path.basename(part)).join(' ')}`);
  const random = new SeededRandom(seed);
  const plan = planTasks(random.fork('tasks'), taskCount);
  const kills = planKills(random.fork('kills'), killCount);

  const cleanups: Array<() => Promise<void>> = [];
  t.after(async () => {
    for (const cleanup of cleanups.reverse()) await cleanup().catch((error: Error) => console.log(`# cleanup: ${error.message}`));
  });
  const chaos = new AbortController();
  const signal = chaos.signal;
  cleanups.push(async () => chaos.abort());

  const shared = await topology.setUp();
  cleanups.push(async () => {
    await shared.cleanUp();
    if (keepData) console.log(`# ${label}: kept ${shared.keptPaths.join(', ')}`);
  });
  const receiver = await startFlakyCallbackReceiver(random.fork('receiver'));
  cleanups.push(() => receiver.close());
  const downloads = temporaryDirectory('segue-split-downloads-');
  cleanups.push(async () => fs.rmSync(downloads, { recursive: true, force: true }));

  const apiPorts = [await freePort(), await freePort()];
  const publicUrl = `http://127.0.0.1:${apiPorts[0]}`;
  const common: Record<string, string> = {
    SEGUE_URL_SIGNING_SECRET: URL_SIGNING_SECRET,
    SEGUE_PUBLIC_URL: publicUrl,
    ...chaosServerEnvironment({ bootstrapKey: TEST_KEY, adminKey: ADMIN_KEY }),
    SEGUE_LOG_LEVEL: 'info',
    ...shared.environment,
  };
  const apis = apiPorts.map(
    (port, index) =>
      new SegueProcess({ name: `api-${index + 1}`, port, dataDir: shared.dataDirFor(`api-${index + 1}`), command: apiCommand, environment: { ...common, SEGUE_RUN_WORKER: 'false' } }),
  );
  const workers = [1, 2].map(
    (number) =>
      new SegueProcess({ name: `worker-${number}`, dataDir: shared.dataDirFor(`worker-${number}`), command: workerCommand, ready: { logIncludes: 'worker started' }, environment: common }),
  );
  /** The four processes (a process that died during the first start is replaced: see below). */
  const everyone = () => [...apis, ...workers];
  cleanups.push(async () => {
    await Promise.all(everyone().map((member) => member.stop(5_000)));
  });
  const logTails = () => everyone().map((member) => `--- ${member.name} (${member.logFile}):\n${member.logTail(15)}`).join('\n');

  // All four start at once on a fresh database, as a deployment brings them up.
  // A process that dies during that first start is a finding; like a supervisor, the test starts
  // it again (once) and goes on, so that one run reports everything.
  const findings = new Findings();
  const diedAtFirstStart: string[] = [];
  for (const member of everyone()) member.start();
  const firstStart = await Promise.allSettled(everyone().map((member) => member.whenUp(60_000)));
  for (const [index, outcome] of firstStart.entries()) {
    if (outcome.status === 'fulfilled') continue;
    const group = index < apis.length ? apis : workers;
    const position = index < apis.length ? index : index - apis.length;
    const dead = group[position]!;
    const reason = /segue failed to start: (.*)/.exec(String(outcome.reason?.message))?.[1] ?? String(outcome.reason?.message).split('\n')[0];
    findings.problems.push(`${dead.name} died during the first start of the four processes at once on a fresh database: ${reason} (log: ${dead.logFile})`);
    diedAtFirstStart.push(dead.name);
    group[position] = new SegueProcess(dead.options);
    group[position]!.start();
  }
  await Promise.all(everyone().map((member) => member.whenUp(60_000))).catch((error: Error) => {
    throw new Error(`the processes did not all come up (${label}): ${error.message}\n${findings.problems.join('\n')}\n${logTails()}`);
  });

  // Client 1 talks to API 1 first, client 2 to API 2; after a connection error each sends to the other.
  const clients = [new ChaosClient([apis[0]!, apis[1]!], TEST_KEY, signal), new ChaosClient([apis[1]!, apis[0]!], TEST_KEY, signal)];
  const answered = new Map<number, string>(); // plan index → task id
  const submittedTo = new Map<number, number>(); // plan index → the API it was sent to first
  const probe: { firstId?: string; secondId?: string } = {};
  /** The API the latest create went to (creates go one at a time). */
  let lastSentTo: SegueProcess | undefined;
  for (const client of clients) client.on('send', (server: SegueProcess) => (lastSentTo = server));
  const notes: string[] = [];
  let submitterDone = false;

  /** Which API answered the create of a task (0 or 1). */
  const apiThatCreated = (taskId: string): 0 | 1 => {
    const server = clients[0]!.answeredBy.get(taskId) ?? clients[1]!.answeredBy.get(taskId);
    return apis.indexOf(server!) === 1 ? 1 : 0;
  };

  /** The Veo generation an extension continues (the planned one, or another if that one failed), read through the API that will take the extension. */
  async function extensionSource(task: SplitTask): Promise<{ taskId: string; videoUrl: string; api: 0 | 1 } | undefined> {
    const earlier = plan.filter((other) => other.kind === 'veo-generate' && other.index < task.index).map((other) => other.index);
    for (const index of new Set([task.sourceIndex!, ...earlier])) {
      const sourceId = answered.get(index);
      if (!sourceId) continue;
      const api = (1 - apiThatCreated(sourceId)) as 0 | 1;
      const record = await clients[api]!.endedVeoRecord(sourceId, 120_000 + taskCount * perTaskMs);
      if (record.successFlag !== 1) continue;
      if (index !== task.sourceIndex) notes.push(`task #${task.index} extends #${index}: its planned source #${task.sourceIndex} failed`);
      return { taskId: sourceId, videoUrl: record.response.resultUrls[0], api };
    }
    notes.push(`task #${task.index} (${task.kind}) left out: every earlier Veo generation failed`);
    return undefined;
  }

  /** A result video as a data: URI, downloaded through `api` (it may be restarting: wait for it). */
  async function asDataUri(link: string, api: SegueProcess): Promise<string> {
    const bytes = await waitFor(
      `the source video from ${api.name}`,
      async () => {
        await api.whenUp(60_000);
        const response = await fetch(onOrigin(link, api), { signal: AbortSignal.timeout(30_000) });
        if (response.status !== 200) throw new Error(`download answered ${response.status}`);
        return Buffer.from(await response.arrayBuffer());
      },
      { timeoutMs: 90_000, intervalMs: 200 },
    );
    return `data:video/mp4;base64,${bytes.toString('base64')}`;
  }

  async function request(task: SplitTask): Promise<{ api: 0 | 1; pathname: string; body: Record<string, unknown> } | undefined> {
    const prompt = `split task ${task.index} (${task.kind})`;
    switch (task.kind) {
      case 'veo-generate':
        return { api: task.api, pathname: '/api/v1/veo/generate', body: { prompt, seeds: task.seed, callBackUrl: receiver.url } };
      case 'universal-generate':
        return { api: task.api, pathname: '/v2/video/generations', body: { model: 'google/veo-3.1-t2v-fast', prompt, resolution: '720p', duration: 4, seed: task.seed } };
      case 'veo-extend': {
        const source = await extensionSource(task);
        return source && { api: source.api, pathname: '/api/v1/veo/extend', body: { taskId: source.taskId, prompt, seeds: task.seed, callBackUrl: receiver.url } };
      }
      case 'universal-extend-link': {
        // A signed link to one of the caller's own results: Segue extends that task itself.
        const source = await extensionSource(task);
        return source && { api: source.api, pathname: '/v2/video/generations', body: { model: 'google/veo3-1-fast-extend-video', prompt, video_url: source.videoUrl, seed: task.seed } };
      }
      case 'universal-extend-data': {
        // The video itself, uploaded: the API stores it in the media store (`imports/…`) before the task exists.
        const source = await extensionSource(task);
        if (!source) return undefined;
        const video_url = await asDataUri(source.videoUrl, apis[source.api]!);
        return { api: source.api, pathname: '/v2/video/generations', body: { model: 'google/veo3-1-fast-extend-video', prompt, video_url, seed: task.seed } };
      }
    }
  }

  async function submitter(): Promise<void> {
    for (const task of plan) {
      await sleep(task.gapMs, undefined, { signal });
      const create = await request(task);
      if (!create) continue;
      const idempotencyKey = `split-${seed}-${task.index}`;
      submittedTo.set(task.index, create.api);
      answered.set(task.index, await clients[create.api]!.create(create.pathname, create.body, idempotencyKey));
      if (task.index === 0) {
        // The same create, same key and body, sent to the OTHER API: one database, one task.
        probe.firstId = answered.get(0);
        probe.secondId = await clients[1 - create.api]!.create(create.pathname, create.body, idempotencyKey);
      }
    }
    submitterDone = true;
  }

  /** The worker process whose worker id holds a lease (`worker-<pid>-…`). */
  const workerOwning = (leaseOwner: string): SegueProcess | undefined => workers.find((worker) => worker.pid !== undefined && leaseOwner.startsWith(`worker-${worker.pid}-`));

  /** Waits for a kill's moment; says what it was, which process to kill, and what to do just after. */
  async function reachMoment(kill: SplitKill): Promise<{ label: string; victim: SegueProcess; killed?: Promise<void>; afterKill?: () => void }> {
    const fallback = (kill.target === 'worker' ? workers : apis)[kill.which]!;
    switch (kill.moment) {
      case 'timer':
        await sleep(kill.delayMs, undefined, { signal });
        return { label: `timer ${kill.delayMs} ms`, victim: fallback };
      case 'render': {
        const live = await waitFor(
          'a render to run',
          async () => {
            for (const job of await shared.database.liveJobs('local.render')) {
              const owner = workerOwning(job.leaseOwner);
              if (owner) return { owner, taskId: (JSON.parse(job.payload) as { taskId: string }).taskId };
            }
            return undefined;
          },
          { timeoutMs: 15_000, intervalMs: 50 },
        ).catch(() => undefined);
        if (!live) return { label: 'render (none ran within 15 s: killed anyway)', victim: fallback };
        await sleep(kill.delayMs, undefined, { signal });
        return { label: `${kill.delayMs} ms into the render of ${live.taskId}`, victim: live.owner };
      }
      case 'callback': {
        const held = await receiver.holdNext(15_000);
        if (!held) return { label: 'callback (none came within 15 s: killed anyway)', victim: fallback };
        const sender = (await shared.database.liveJobs('callback.deliver')).map((job) => workerOwning(job.leaseOwner)).find(Boolean);
        // The receiver takes the callback in while its sender dies: it answers after the kill.
        return { label: `a callback in flight${sender ? '' : ' (its sender not found: another worker killed)'} (the receiver accepts it after the kill)`, victim: sender ?? fallback, afterKill: held.release };
      }
      case 'submit': {
        if (submitterDone) return { label: 'submit (all submitted: killed at once)', victim: fallback };
        const sentTo = await new Promise<SegueProcess | undefined>((resolve) => {
          const timer = setTimeout(() => done(undefined), 15_000);
          const done = (server: SegueProcess | undefined) => {
            clearTimeout(timer);
            for (const client of clients) client.off('send', done);
            resolve(server);
          };
          for (const client of clients) client.on('send', done);
        });
        if (!sentTo) return { label: 'submit (none within 15 s: killed anyway)', victim: fallback };
        await sleep(kill.delayMs, undefined, { signal });
        return { label: `${kill.delayMs} ms after a create was sent to it`, victim: sentTo };
      }
      case 'import': {
        if (submitterDone) return { label: 'import (all submitted: killed at once)', victim: fallback };
        const hit = await new Promise<{ key: string; victim: SegueProcess; killed: Promise<void> } | undefined>((resolve) => {
          const timer = setTimeout(() => done(undefined), 60_000);
          const stop = shared.onImportStored((key) => {
            const victim = lastSentTo ?? fallback;
            // At once, from the store's own event where it has one: the kill must beat the task's commit.
            done({ key, victim, killed: victim.kill() });
          });
          const done = (value: { key: string; victim: SegueProcess; killed: Promise<void> } | undefined) => {
            clearTimeout(timer);
            stop();
            resolve(value);
          };
        });
        if (!hit) return { label: 'import (none within 60 s: killed anyway)', victim: fallback };
        uploadsCutOff.add(hit.key);
        return { label: `the moment the upload ${hit.key} was stored`, victim: hit.victim, killed: hit.killed };
      }
    }
  }

  const killLog: string[] = [];
  async function killer(): Promise<void> {
    for (const [index, kill] of kills.entries()) {
      await Promise.all(everyone().map((member) => member.whenUp(60_000)));
      await sleep(kill.minUpMs, undefined, { signal });
      const moment = await reachMoment(kill);
      // SIGKILL, and wait until the process is gone (its port free again).
      await (moment.killed ?? moment.victim.kill());
      moment.afterKill?.();
      killLog.push(`kill ${index + 1}: ${moment.victim.name} (${kill.target}), ${moment.label}; down ${kill.downMs} ms`);
      await sleep(kill.downMs, undefined, { signal });
      moment.victim.start();
    }
    await Promise.all(everyone().map((member) => member.whenUp(60_000)));
  }

  const started = Date.now();
  try {
    await Promise.all([submitter(), killer()]);
  } catch (error) {
    chaos.abort();
    throw new Error(`${(error as Error).message}\n${label}, seed ${seed} (${replay}); kills so far:\n  ${killLog.join('\n  ')}\n${logTails()}`);
  }
  const chaosMs = Date.now() - started;

  // After the last restart: wait on state until every task has ended and every job has finished.
  const admin = async (api: SegueProcess, pathname: string): Promise<any> => {
    const response = await fetch(`${api.baseUrl}/admin${pathname}`, { headers: { authorization: `Bearer ${ADMIN_KEY}` }, signal: AbortSignal.timeout(10_000) });
    assert.equal(response.status, 200, `GET /admin${pathname} on ${api.name}`);
    return response.json();
  };
  const apiKeyId: string = (await admin(apis[0]!, '/keys')).keys.find((key: { name: string }) => key.name === 'bootstrap').id;
  const settleTimeoutMs = 120_000 + taskCount * perTaskMs;
  const snapshot = await waitFor(
    'every task to end and every job (callbacks included) to finish',
    async () => {
      const state = await shared.database.snapshot(apiKeyId);
      return openWork(state).length === 0 ? state : undefined;
    },
    { timeoutMs: settleTimeoutMs, intervalMs: 250 },
  ).catch(async (error: Error) => {
    const open = openWork(await shared.database.snapshot(apiKeyId));
    throw new Error(`${error.message} (${label}, seed ${seed}: ${replay})\nstill open:\n  ${open.join('\n  ')}\n${logTails()}`);
  });
  const settleMs = Date.now() - started - chaosMs;

  const idempotencyHonoured = probe.firstId === probe.secondId;
  findings.check(idempotencyHonoured, `the same create with the same Idempotency-Key, sent to the other API, made a second task (${probe.firstId}, ${probe.secondId})`);
  const answeredIds = new Set([...answered.values(), probe.secondId!]);
  const sends = { total: 0, refused: 0, uncertain: 0 };
  for (const client of clients) for (const name of ['total', 'refused', 'uncertain'] as const) sends[name] += client.sends[name];
  const { orphans } = checkTasks(findings, snapshot, { answeredIds, creates: answered.size, idempotencyHonoured, uncertainSends: sends.uncertain });
  for (const task of snapshot.tasks) findings.check((task as { finished_at?: number | null }).finished_at != null, `task ${task.id} (${task.state}) has no finished_at`);
  // Money, read through the admin API of the API that did not list the keys.
  const { balance } = (await admin(apis[1]!, `/keys/${apiKeyId}`)) as { balance: number };
  const { entries } = (await admin(apis[1]!, `/keys/${apiKeyId}/ledger?limit=1000`)) as { entries: LedgerEntry[] };
  findings.check(entries.length < 1000, 'the ledger does not fit in one page of the admin API');
  checkMoney(findings, snapshot, balance, entries);
  checkCallbacks(findings, snapshot, receiver);
  // Whole videos probed (read through API 2; the links name API 1), then every file on both APIs with Range.
  await checkVideos(findings, snapshot, clients[1]!, downloads);
  const served = await checkLinksOnBothApis(findings, snapshot, apis, clients[0]!, publicUrl);
  const media = await checkStoredMedia(findings, shared);

  const renders = snapshot.jobs.filter((job) => job.kind === 'local.render');
  const outcomes = (outcome: string) => receiver.requests.filter((request) => request.outcome === outcome).length;
  const crossApi = [...answered.entries()].filter(([index, id]) => apis.indexOf(clients[0]!.answeredBy.get(id) ?? clients[1]!.answeredBy.get(id)!) !== submittedTo.get(index)).length;
  const summary = [
    `${label}, seed ${seed}: ${answered.size} of ${plan.length} planned creates sent (${plan.map((task) => `${task.kind}${submittedTo.has(task.index) ? `→api-${submittedTo.get(task.index)! + 1}` : ''}`).join(', ')})`,
    `restarts after kills: ${everyone().map((member) => `${member.name} ${member.starts - 1}`).join(', ')}${diedAtFirstStart.length ? ` (${diedAtFirstStart.join(', ')} died at the first start and started again)` : ''}; chaos phase ${(chaosMs / 1000).toFixed(1)} s, settling ${(settleMs / 1000).toFixed(1)} s`,
    ...killLog,
    `sends ${sends.total}: ${sends.refused} refused (not landed), ${sends.uncertain} broken in flight (maybe landed); ${crossApi} creates answered by the other API after a connection error`,
    `Idempotency-Key across APIs ${idempotencyHonoured ? 'honoured' : 'NOT honoured'}; ${snapshot.tasks.length} tasks in the database, ${orphans} never answered to the client`,
    `tasks: ${snapshot.tasks.filter((task) => task.state === 'succeeded').length} succeeded, ${snapshot.tasks.filter((task) => task.state === 'failed').length} failed; renders re-run ${renders.reduce((sum, job) => sum + reruns(job), 0)} times (at most ${Math.max(0, ...renders.map(reruns))} for one render)`,
    `receiver: ${receiver.requests.length} requests, ${outcomes('answer-500')} answered 500, ${outcomes('drop-connection')} dropped, ${receiver.accepted.size} deliveries accepted, ${receiver.duplicateAccepts} re-deliveries of accepted ones`,
    `links: ${served} Range requests served across both APIs; ${shared.mediaStore}: ${media.stored} objects, ${media.referenced} referenced${media.staging.length ? `; ${media.staging.length} staging leftovers (${media.staging.join(', ')})` : ''}`,
    `error lines logged: ${everyone().map((member) => `${member.name} ${errorLines(member).length}`).join(', ')}`,
    ...notes,
  ];
  for (const line of summary) t.diagnostic(line);
  assert.deepEqual(findings.problems, [], `split-process crash found problems on ${label} (seed ${seed}; replay with ${replay}):\n  ${findings.problems.join('\n  ')}\n\n${summary.join('\n')}`);

  await Promise.all(everyone().map((member) => member.stop(10_000)));
}
