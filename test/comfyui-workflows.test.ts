import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { FsBlobStore } from '../src/blobs/fs-blob-store.js';
import { withParameterDefaults, type Task } from '../src/domain/task.js';
import type { FakeComfyUiServer } from '../src/fake-upstream/fake-comfyui-server.js';
import { ScratchSpace } from '../src/media/scratch-space.js';
import { ComfyUiClient } from '../src/providers/comfyui/comfyui-client.js';
import { comfyUiEntrySchema } from '../src/providers/comfyui/comfyui-entry.js';
import { ComfyUiVideoProvider } from '../src/providers/comfyui/comfyui-video-provider.js';
import { fillWorkflow, loadWorkflowTemplate, placeholderNames, type WorkflowOperation } from '../src/providers/comfyui/comfyui-workflow.js';
import { examplesDirectory, startFakeComfyUi, testWorkflows, writeComfyProvidersFile } from './helpers/fake-comfyui.js';
import { media } from './helpers/media-checks.js';
import { startTestSegue, temporaryDirectory } from './helpers/test-segue.js';
import { waitFor } from './helpers/wait-for.js';

let fake: FakeComfyUiServer;
const scratch = temporaryDirectory('comfy-workflows-');
before(async () => {
  fake = await startFakeComfyUi();
});
after(async () => {
  await fake.close();
  fs.rmSync(scratch, { recursive: true, force: true });
});

const examples: Array<{ file: string; operation: WorkflowOperation }> = [
  { file: 'wan22-i2v-continue.json', operation: 'image' },
  { file: 'ltxv-continue.json', operation: 'extend' },
  { file: 'wan22-t2v.json', operation: 'generate' },
];

async function upload(name: string, file: string): Promise<void> {
  const form = new FormData();
  form.append('image', new Blob([fs.readFileSync(file)]), name);
  form.append('type', 'input');
  const answer = await fetch(`${fake.url}/upload/image`, { method: 'POST', body: form });
  assert.equal(answer.status, 200);
}

async function runOnFake(graph: unknown): Promise<string> {
  const submitted = await fetch(`${fake.url}/prompt`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ prompt: graph, client_id: 'test' }) });
  const answer = (await submitted.json()) as { prompt_id: string; node_errors: unknown };
  assert.equal(submitted.status, 200, JSON.stringify(answer));
  const entry = await waitFor('the prompt to finish', async () => {
    const history = (await (await fetch(`${fake.url}/history/${answer.prompt_id}`)).json()) as Record<string, any>;
    return history[answer.prompt_id];
  }, { timeoutMs: 120_000, intervalMs: 200 });
  assert.equal(entry.status.status_str, 'success', JSON.stringify(entry.status));
  const file = (Object.values(entry.outputs) as any[]).flatMap((output) => [...(output.images ?? []), ...(output.gifs ?? [])])[0];
  const destination = path.join(scratch, `${answer.prompt_id}.mp4`);
  const view = await fetch(`${fake.url}/view?${new URLSearchParams({ filename: file.filename, subfolder: file.subfolder, type: file.type })}`);
  assert.equal(view.status, 200);
  fs.writeFileSync(destination, Buffer.from(await view.arrayBuffer()));
  return destination;
}

test('the shipped example workflows parse, hold only known placeholders, and the fake runs them into real MP4s of the asked size and length', async () => {
  const source = path.join(scratch, 'source.mp4');
  await media.ffmpeg(['-f', 'lavfi', '-i', 'testsrc2=s=1280x720:r=24:d=2', '-c:v', 'libx264', '-preset', 'ultrafast', '-pix_fmt', 'yuv420p', source]);
  const frame = path.join(scratch, 'frame.png');
  await media.ffmpeg(['-f', 'lavfi', '-i', 'testsrc2=s=1280x720', '-frames:v', '1', frame]);
  await upload('start.png', frame);
  await upload('source.mp4', source);
  for (const example of examples) {
    const text = fs.readFileSync(path.join(examplesDirectory, example.file), 'utf8');
    for (const match of text.matchAll(/\{\{\s*([A-Za-z0-9_]+)\s*\}\}/g)) assert.ok((placeholderNames as readonly string[]).includes(match[1]!), `${example.file}: {{${match[1]}}} is a known placeholder`);
    const template = loadWorkflowTemplate(example.operation, example.file, examplesDirectory);
    const graph = fillWorkflow(template, { prompt: 'the tide comes in', negative_prompt: 'blur', seed: 1234, width: 1280, height: 720, frames: 169, image: 'start.png', video: 'source.mp4' });
    const output = await runOnFake(graph);
    const info = await media.probe(output);
    assert.deepEqual([info.video!.width, info.video!.height], [1280, 720], example.file);
    const expected = example.operation === 'extend' ? 2 + 169 / 24 : 169 / 24;
    assert.ok(Math.abs(info.video!.durationSeconds - expected) < 0.05, `${example.file}: ${info.video!.durationSeconds} s, expected ${expected}`);
  }
});

test('values go into string values structurally: quotes and braces in a prompt stay text, numbers become numbers, a placeholder inside a value is not filled twice', () => {
  const directory = temporaryDirectory('comfy-template-');
  fs.writeFileSync(path.join(directory, 'w.json'), JSON.stringify({
    '1': { class_type: 'CLIPTextEncode', inputs: { text: 'style: {{prompt}}', clip: ['2', 0] } },
    '2': { class_type: 'CLIPLoader', inputs: { clip_name: 'x', type: 'wan' } },
    '3': { class_type: 'EmptyHunyuanLatentVideo', inputs: { width: '{{width}}', height: '{{ height }}', length: '{{frames}}', batch_size: 1, note: 'seed {{seed}}' } },
  }));
  const template = loadWorkflowTemplate('generate', 'w.json', directory);
  const hostile = '"}, "9": {"class_type": "Evil", "inputs": {}}, "x": "{{video}} {{seed}}';
  const graph = fillWorkflow(template, { prompt: hostile, seed: 42, width: 1280, height: 720, frames: 193 });
  assert.deepEqual(Object.keys(graph).sort(), ['1', '2', '3'], 'no node was injected');
  assert.equal(graph['1']!.inputs['text'], `style: ${hostile}`, 'the prompt is one string value, as given');
  assert.deepEqual(graph['1']!.inputs['clip'], ['2', 0], 'links stay links');
  assert.equal(graph['3']!.inputs['width'], 1280);
  assert.equal(graph['3']!.inputs['height'], 720);
  assert.equal(graph['3']!.inputs['length'], 193);
  assert.equal(graph['3']!.inputs['note'], 'seed 42', 'a placeholder inside text stays text');
  assert.equal(JSON.parse(JSON.stringify(graph))['1'].inputs.text, `style: ${hostile}`);
});

test('a bad or missing workflow file stops start-up with a message naming the entry, the file and the problem', async () => {
  const cases: Array<{ content: string | null; expected: RegExp }> = [
    { content: null, expected: /provider gpu: the extend workflow .*extend\.json cannot be read/ },
    { content: '{ not json', expected: /provider gpu: the extend workflow .* is not JSON/ },
    { content: JSON.stringify({ nodes: [], links: [] }), expected: /editor's format; export it with "Export \(API\)"/ },
    { content: JSON.stringify({ '1': { class_type: 'LoadVideo', inputs: { file: '{{video}}', x: '{{prompt}} {{mood}}' } } }), expected: /unknown placeholders \{\{mood\}\}/ },
    { content: JSON.stringify({ '1': { class_type: 'LoadImage', inputs: { image: '{{image}}', t: '{{prompt}}' } } }), expected: /uses \{\{image\}\}, which a extend workflow is not given/ },
    { content: JSON.stringify({ '1': { class_type: 'CLIPTextEncode', inputs: { text: '{{prompt}}' } } }), expected: /must use \{\{video\}\}/ },
    { content: JSON.stringify({ '1': { class_type: 'LoadVideo', inputs: { file: '{{video}}', t: '{{prompt}}', clip: ['7', 0] } } }), expected: /links to node 7, which is not in the workflow/ },
  ];
  for (const { content, expected } of cases) {
    const providers = writeComfyProvidersFile(fake.url, { generate: 'generate', extend: 'extendNewSeconds' });
    const extendFile = path.join(path.dirname(providers), 'workflows', 'extend.json');
    if (content === null) fs.rmSync(extendFile);
    else fs.writeFileSync(extendFile, content);
    await assert.rejects(startTestSegue({ environment: { SEGUE_PROVIDERS: providers } }), (error: Error) => {
      assert.match(error.message, /SEGUE_PROVIDERS/);
      assert.match(error.message, expected);
      return true;
    });
  }
});

/** The provider on the fake, outside Segue: for the calls no task flow makes yet (cancel). */
async function providerOnFake(): Promise<{ provider: ComfyUiVideoProvider; client: ComfyUiClient }> {
  const directory = temporaryDirectory('comfy-provider-');
  fs.writeFileSync(path.join(directory, 'generate.json'), JSON.stringify(testWorkflows.generate));
  const client = new ComfyUiClient({ baseUrl: fake.url, timeoutMs: 10_000, maxDownloadBytes: 50 * 1024 * 1024 });
  const entry = comfyUiEntrySchema.parse({ kind: 'comfyui', baseUrl: fake.url, workflows: { generate: 'generate.json' } });
  const provider = new ComfyUiVideoProvider('gpu', entry, {
    client,
    workflows: { generate: loadWorkflowTemplate('generate', 'generate.json', directory) },
    clientId: 'segue-test',
    plugin: {
      blobs: new FsBlobStore(path.join(directory, 'blobs')),
      scratch: new ScratchSpace(path.join(directory, 'scratch'), 0),
      fetchMedia: async () => {
        throw new Error('no media is fetched for a text generation');
      },
      mediaMaxBytes: 50 * 1024 * 1024,
      now: Date.now,
    },
  });
  return { provider, client };
}

function textTask(prompt: string): Task {
  return {
    id: `task${Math.random().toString(36).slice(2)}`, apiKeyId: 'k', operation: 'generate', parentTaskId: null, rootTaskId: 'r', dialect: 'veo',
    parameters: withParameterDefaults({ prompt, model: 'veo3' }), requestEcho: {}, seed: 12345, price: 0, callbackUrl: null,
    provider: 'gpu', providerRoute: ['gpu'], providerHandle: null, extension: null, upstreamOutput: null, state: 'running', progress: 0,
    failure: null, result: null, engineDetails: null, createdAt: Date.now(), startedAt: Date.now(), finishedAt: null,
  };
}

test('cancel: a prompt still queued on the box is deleted from its queue (POST /queue), a running one interrupted (POST /interrupt) and its task fails', async () => {
  const { provider, client } = await providerOnFake();
  const context = { signal: new AbortController().signal };
  try {
    fake.setPaused(true);
    const queuedTask = textTask('a queued harbour');
    const queued = await provider.start(queuedTask, context);
    assert.deepEqual(await provider.status(queued, queuedTask, context), { state: 'pending', progress: 5 });
    await provider.cancel(queued, context.signal);
    assert.ok(fake.requests.some((request) => request.method === 'POST' && request.path === '/queue' && JSON.stringify(request.body).includes((queued as { operation: string }).operation)));
    const forgotten = await provider.status(queued, queuedTask, context);
    assert.equal(forgotten.state, 'failed', 'a prompt the box no longer knows fails its task');
    assert.match((forgotten as { message: string }).message, /no longer knows prompt/);

    const runningTask = textTask('a running harbour');
    const running = await provider.start(runningTask, context);
    fake.setPaused(false);
    await waitFor('the prompt to run', async () => (await client.queuePlace((running as { operation: string }).operation, context.signal)) === 'running', { intervalMs: 20 });
    await provider.cancel(running, context.signal);
    const ended = await waitFor('the interrupted prompt to end', async () => {
      const status = await provider.status(running, runningTask, context);
      return status.state === 'pending' ? undefined : status;
    }, { timeoutMs: 60_000, intervalMs: 100 });
    assert.equal(ended.state, 'failed');
    assert.match((ended as { message: string }).message, /interrupted/);
  } finally {
    fake.setPaused(false);
    await client.close();
  }
});
