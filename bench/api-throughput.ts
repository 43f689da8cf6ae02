import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { type BenchDatabase, benchDatabases, freePort, type LoadFigures, load, mean, startProcess, stopProcess, waitUntilUp } from './bench-support.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const key = 'sk-bench-0123456789abcdef';

/**
 * API throughput: `GET record-info` and `POST extend` (accepted and queued; the engine is not
 * waited for) against a bare Fastify hello-world, in one run, 50 connections each, on every
 * database (SQLite; PostgreSQL when SEGUE_TEST_DATABASE_URL is set). The load average is printed
 * beside the figures: on a shared machine only the ratios measured side by side compare.
 */
export async function apiThroughputBenchmark(): Promise<Record<string, unknown>> {
  const results: Record<string, Record<string, unknown>> = {};
  const loadAverageAtStart = os.loadavg().map((value) => Math.round(value * 100) / 100);
  for (const database of await benchDatabases('api')) {
    try {
      results[database.name] = await onDatabase(database);
    } finally {
      await database.drop();
    }
  }
  return {
    benchmark: 'api-throughput',
    connections: 50,
    loadAverage: { atStart: loadAverageAtStart, atEnd: os.loadavg().map((value) => Math.round(value * 100) / 100), cores: os.cpus().length },
    ...results,
    targets: { recordInfoRatioAtLeast: 0.5, recordInfoP99MsUnder: 20 },
    met: Object.values(results).every((result) => result['met'] === true),
  };
}

async function onDatabase(database: BenchDatabase): Promise<Record<string, unknown>> {
  const port = await freePort();
  const base = `http://127.0.0.1:${port}`;
  const environment = {
    ...database.environment,
    PORT: String(port),
    SEGUE_BOOTSTRAP_KEY: key,
    SEGUE_LOG_LEVEL: 'warn',
    SEGUE_WORKER_POLL_MS: '100',
    // Measure the API's work, not its limits: the load is far past what one key may do.
    SEGUE_RATE_LIMIT: 'off',
    SEGUE_READ_RATE_LIMIT: 'off',
    SEGUE_MAX_UNFINISHED_TASKS: '100000000',
    SEGUE_BOOTSTRAP_CREDITS: '1000000000',
  };
  const headers = { authorization: `Bearer ${key}`, 'content-type': 'application/json' };
  {
    // One real, finished task to read and extend.
    let segue = startProcess(path.join(here, '..', 'src', 'main.js'), environment);
    await waitUntilUp(`${base}/healthz`);
    const created: any = await (
      await fetch(`${base}/api/v1/veo/generate`, { method: 'POST', headers, body: JSON.stringify({ prompt: 'bench', seeds: 10001 }) })
    ).json();
    const taskId = created.data.taskId as string;
    for (;;) {
      const info: any = await (await fetch(`${base}/api/v1/veo/record-info?taskId=${taskId}`, { headers })).json();
      if (info.data.successFlag === 1) break;
      if (info.data.successFlag !== 0) throw new Error(`bench task failed: ${info.data.errorMessage}`);
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
    await stopProcess(segue);

    // The API alone (extensions are accepted and queued, nothing renders them) beside the bare
    // server, both up at once and measured in alternation, so drift on this machine hits both alike.
    segue = startProcess(path.join(here, '..', 'src', 'main.js'), { ...environment, SEGUE_RUN_WORKER: 'false' });
    await waitUntilUp(`${base}/healthz`);
    const recordInfoUrl = `${base}/api/v1/veo/record-info?taskId=${taskId}`;
    const samePayload = await (await fetch(recordInfoUrl, { headers })).text();
    const barePort = await freePort();
    const bare = startProcess(path.join(here, 'bare-server.js'), { PORT: String(barePort), SAME_PAYLOAD: samePayload });
    await waitUntilUp(`http://127.0.0.1:${barePort}/`);
    const bareRuns: LoadFigures[] = [];
    const samePayloadRuns: LoadFigures[] = [];
    const recordInfoRuns: LoadFigures[] = [];
    for (let round = 0; round < 2; round++) {
      bareRuns.push(await load({ url: `http://127.0.0.1:${barePort}/` }));
      samePayloadRuns.push(await load({ url: `http://127.0.0.1:${barePort}/same-payload` }));
      recordInfoRuns.push(await load({ url: recordInfoUrl, headers }));
    }
    const extend = await load({
      url: `${base}/api/v1/veo/extend`,
      method: 'POST',
      headers,
      body: JSON.stringify({ taskId, prompt: 'and then it goes on' }),
    });
    await stopProcess(segue);
    await stopProcess(bare);
    const baseline = mean(bareRuns);
    const baselineSamePayload = mean(samePayloadRuns);
    const recordInfo = mean(recordInfoRuns);

    const ratio = (figures: { requestsPerSecond: number }) =>
      Math.round((figures.requestsPerSecond / baseline.requestsPerSecond) * 1000) / 1000;
    return {
      responseBytes: Buffer.byteLength(samePayload),
      bareFastify: baseline,
      bareFastifySamePayload: { ...baselineSamePayload, ratioToBare: ratio(baselineSamePayload) },
      recordInfo: {
        ...recordInfo,
        ratioToBare: ratio(recordInfo),
        ratioToSamePayload: Math.round((recordInfo.requestsPerSecond / baselineSamePayload.requestsPerSecond) * 1000) / 1000,
      },
      extend: { ...extend, ratioToBare: ratio(extend) },
      met: ratio(recordInfo) >= 0.5 && recordInfo.p99Ms < 20,
    };
  }
}
