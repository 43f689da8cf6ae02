import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { FakeComfyUiServer } from '../../src/fake-upstream/fake-comfyui-server.js';
import { media } from './media-checks.js';
import { temporaryDirectory } from './test-segue.js';

/** The repository's shipped example workflows. */
export const examplesDirectory = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', '..', 'examples', 'comfyui');

/** A fake ComfyUI on a free port (real HTTP, real ffmpeg). */
export async function startFakeComfyUi(options: { token?: string } = {}): Promise<FakeComfyUiServer> {
  const server = new FakeComfyUiServer({ media, workDirectory: temporaryDirectory('fake-comfyui-'), ...options });
  await server.listen();
  return server;
}

const loaders = {
  '1': { class_type: 'UNETLoader', inputs: { unet_name: 'wan2.2_ti2v_5B_fp16.safetensors', weight_dtype: 'default' } },
  '2': { class_type: 'CLIPLoader', inputs: { clip_name: 'umt5_xxl_fp8_e4m3fn_scaled.safetensors', type: 'wan' } },
  '3': { class_type: 'VAELoader', inputs: { vae_name: 'wan2.2_vae.safetensors' } },
  '4': { class_type: 'CLIPTextEncode', inputs: { text: '{{prompt}}', clip: ['2', 0] } },
  '5': { class_type: 'CLIPTextEncode', inputs: { text: '{{negative_prompt}}', clip: ['2', 0] } },
};
const sampleAndSave = (latent: [string, number], steps: unknown = 20) => ({
  '7': { class_type: 'KSampler', inputs: { model: ['1', 0], seed: '{{seed}}', steps, cfg: 5, sampler_name: 'uni_pc', scheduler: 'simple', positive: ['4', 0], negative: ['5', 0], latent_image: latent, denoise: 1 } },
  '8': { class_type: 'VAEDecode', inputs: { samples: ['7', 0], vae: ['3', 0] } },
  '9': { class_type: 'CreateVideo', inputs: { images: ['8', 0], fps: 24 } },
  '10': { class_type: 'SaveVideo', inputs: { video: ['9', 0], filename_prefix: 'video/segue', format: 'mp4', codec: 'h264' } },
});

/** Test workflows in ComfyUI's API format (the shipped examples cover image and whole-video extension). */
export const testWorkflows = {
  /** Text to video. */
  generate: { ...loaders, '6': { class_type: 'EmptyHunyuanLatentVideo', inputs: { width: '{{width}}', height: '{{height}}', length: '{{frames}}', batch_size: 1 } }, ...sampleAndSave(['6', 0]) },
  /** A workflow ComfyUI refuses: a step count that is not a number. */
  invalid: { ...loaders, '6': { class_type: 'EmptyHunyuanLatentVideo', inputs: { width: '{{width}}', height: '{{height}}', length: '{{frames}}', batch_size: 1 } }, ...sampleAndSave(['6', 0], 'many') },
  /** An extension that answers the new frames only: image-to-video from the uploaded video's frames. */
  extendNewSeconds: {
    ...loaders,
    '11': { class_type: 'LoadVideo', inputs: { file: '{{video}}' } },
    '12': { class_type: 'GetVideoComponents', inputs: { video: ['11', 0] } },
    '6': { class_type: 'WanImageToVideo', inputs: { positive: ['4', 0], negative: ['5', 0], vae: ['3', 0], start_image: ['12', 0], width: '{{width}}', height: '{{height}}', length: '{{frames}}', batch_size: 1 } },
    ...sampleAndSave(['6', 2]),
  },
};

/**
 * Writes workflow files beside a providers file with one comfyui entry "gpu" (workflow paths
 * relative to it) and "local"; `workflows` maps operations to test workflow names or shipped examples.
 */
export function writeComfyProvidersFile(
  fakeUrl: string,
  workflows: Partial<Record<'generate' | 'image' | 'extend', keyof typeof testWorkflows | 'wan22-i2v-continue' | 'ltxv-continue'>>,
  entry: Record<string, unknown> = {},
  routes: Record<string, string[]> = { veo3: ['gpu'], veo3_fast: ['gpu'], '*': ['local'] },
): string {
  const directory = temporaryDirectory('comfy-providers-');
  fs.mkdirSync(path.join(directory, 'workflows'));
  const files: Record<string, string> = {};
  for (const [operation, name] of Object.entries(workflows)) {
    const file = `workflows/${operation}.json`;
    const content = name in testWorkflows ? JSON.stringify(testWorkflows[name as keyof typeof testWorkflows], null, 2) : fs.readFileSync(path.join(examplesDirectory, `${name}.json`), 'utf8');
    fs.writeFileSync(path.join(directory, file), content);
    files[operation] = file;
  }
  const providersFile = path.join(directory, 'providers.json');
  const content = {
    providers: { gpu: { kind: 'comfyui', baseUrl: fakeUrl, workflows: files, firstPollSeconds: 0.2, pollSeconds: 0.3, ...entry }, local: { kind: 'local' } },
    routes,
  };
  fs.writeFileSync(providersFile, JSON.stringify(content, null, 2));
  return providersFile;
}
