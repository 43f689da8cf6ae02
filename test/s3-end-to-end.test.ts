/**
 * Segue on SEGUE_BLOB_STORE=s3 (s3rver, a real S3-protocol server, on 127.0.0.1): a video is
 * generated and extended, both come back through Segue's signed links with Range, and the
 * bucket holds exactly what the tasks reference — nothing is written to the local data directory.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, test } from 'node:test';
import type { Task } from '../src/domain/task.js';
import { freePort, VeoClient } from './helpers/http-client.js';
import { media } from './helpers/media-checks.js';
import { startTestS3, type TestS3 } from './helpers/s3-server.js';
import { startTestSegue, temporaryDirectory, type TestSegue } from './helpers/test-segue.js';

let s3: TestS3;
let harness: TestSegue;
let client: VeoClient;
const downloads = temporaryDirectory('segue-s3-e2e-');

before(async () => {
  s3 = await startTestS3();
  // The SDK's default credential chain reads these, as it would in production.
  process.env['AWS_ACCESS_KEY_ID'] = s3.credentials.accessKeyId;
  process.env['AWS_SECRET_ACCESS_KEY'] = s3.credentials.secretAccessKey;
  const port = await freePort();
  harness = await startTestSegue({ environment: { PORT: String(port), ...s3.environment } });
  await harness.segue.http.listen({ host: '127.0.0.1', port });
  client = new VeoClient(`http://127.0.0.1:${port}`, harness.key);
});

after(async () => {
  await harness.close();
  await s3.close();
  fs.rmSync(downloads, { recursive: true, force: true });
});

/** Fetches a whole file as two Range requests (as a seeking player would) and checks the 206 answers. */
async function downloadInTwoRanges(url: string, destination: string): Promise<number> {
  const size = Number((await fetch(url, { method: 'HEAD' })).headers.get('content-length'));
  assert.ok(size > 1000, `HEAD gives the size (${size})`);
  const half = Math.floor(size / 2);
  const parts: Buffer[] = [];
  for (const [start, end] of [[0, half - 1], [half, size - 1]] as const) {
    const response = await fetch(url, { headers: { range: `bytes=${start}-${end}` } });
    assert.equal(response.status, 206);
    assert.equal(response.headers.get('content-range'), `bytes ${start}-${end}/${size}`);
    assert.equal(response.headers.get('accept-ranges'), 'bytes');
    parts.push(Buffer.from(await response.arrayBuffer()));
  }
  fs.writeFileSync(destination, Buffer.concat(parts));
  return size;
}

/** Every blob a task points at: its result files and its render manifest. */
function referencedKeys(task: Task): string[] {
  const { videoKey, posterKey, segmentKey } = task.result!;
  const manifestKey = (task.providerHandle as { manifestKey?: string } | null)?.manifestKey;
  return [videoKey, posterKey, ...(segmentKey ? [segmentKey] : []), ...(manifestKey ? [manifestKey] : [])];
}

test('generate and extend on S3: results stream through signed links with Range; the bucket holds exactly what the tasks reference', async () => {
  const created = await client.post('/api/v1/veo/generate', { prompt: 'A lighthouse at dusk', aspectRatio: '16:9', seeds: 42420 });
  assert.equal(created.code, 200, created.msg);
  const generated = await client.waitUntilDone(created.data.taskId);
  assert.equal(generated.successFlag, 1, generated.errorMessage);
  const extended = await client.post('/api/v1/veo/extend', { taskId: created.data.taskId, prompt: 'The beam sweeps the sea', seeds: 24680 });
  assert.equal(extended.code, 200, extended.msg);
  const extension = await client.waitUntilDone(extended.data.taskId);
  assert.equal(extension.successFlag, 1, extension.errorMessage);

  for (const [label, url, seconds] of [['generated', generated.response.resultUrls[0], 8], ['extended', extension.response.fullResultUrls[0], 15]] as const) {
    assert.match(url, /\/files\/tasks\/[^/]+\/video\.mp4\?expires=\d+&signature=/, 'a Segue signed link');
    const file = path.join(downloads, `${label}.mp4`);
    await downloadInTwoRanges(url, file);
    const info = await media.probe(file);
    assert.ok(Math.abs(info.durationSeconds - seconds) < 0.25, `${label}: ${info.durationSeconds} s`);
    assert.equal(info.video?.width, 1280);
  }
  const poster = await fetch(generated.response.posterUrl);
  assert.equal(poster.headers.get('content-type'), 'image/jpeg');

  const tasks = await Promise.all([created.data.taskId, extended.data.taskId].map((id: string) => harness.segue.storage.tasks.findById(id)));
  assert.deepEqual(await s3.keys(), tasks.flatMap((task) => referencedKeys(task!)).sort());
  assert.equal(fs.existsSync(path.join(harness.dataDir, 'blobs')), false, 'no media in the local data directory');
});

test('another API process on the same database and bucket hands out presigned URLs that fetch from the bucket with Range', async () => {
  const [first] = (await s3.keys()).filter((key) => key.endsWith('/video.mp4'));
  const taskId = first!.split('/')[1]!;
  const presigning = await startTestSegue({
    dataDir: harness.dataDir,
    runWorker: false,
    environment: { ...s3.environment, SEGUE_BLOB_LINKS: 'presigned', SEGUE_URL_TTL_SECONDS: '86400' },
  });
  try {
    const answer = await presigning.segue.http.inject({ url: `/api/v1/veo/record-info?taskId=${taskId}`, headers: presigning.headers });
    const url = new URL(answer.json().data.response.resultUrls[0]);
    assert.equal(url.origin, s3.endpoint);
    assert.equal(url.searchParams.get('X-Amz-Expires'), '86400');
    const partial = await fetch(url, { headers: { range: 'bytes=0-99' } });
    assert.equal(partial.status, 206);
    assert.equal((await partial.arrayBuffer()).byteLength, 100);
  } finally {
    await presigning.close({ keepData: true });
  }
});
