import { z } from 'zod';
import type { Task } from '../../domain/task.js';
import type { BlobStore } from '../../ports/blob-store.js';
import type { ModelCapabilities, ProviderStatus, VideoProvider } from '../../ports/video-provider.js';
import { renderManifestKey, renderManifestSchema } from './render-manifest.js';

const handleSchema = z.object({ manifestKey: z.string() });

const capabilities: ModelCapabilities = {
  operations: ['generate', 'extend', 'upgrade_1080p', 'upgrade_4k'],
  modes: ['text', 'first_and_last_frames', 'reference_images'],
  extendsFrom: 'any_video',
};

/**
 * The embedded engine as a provider: `start` queues a render job (ffmpeg work runs under the
 * worker's render limit), `status` reads the render's manifest. No key, no network, no GPU.
 */
export class LocalProvider implements VideoProvider {
  readonly generative = false;
  constructor(
    /** Queues the task's render job (ffmpeg work runs under the worker's render limit). */
    private readonly requestRender: (taskId: string) => Promise<void>,
    private readonly blobs: BlobStore,
    readonly name = 'local',
  ) {}

  /** Every public model runs here; Veo 3.1 Lite has no extension, as on the Gemini API. */
  capabilities(model: string): ModelCapabilities {
    return model === 'veo3_lite' ? { ...capabilities, operations: capabilities.operations.filter((operation) => operation !== 'extend') } : capabilities;
  }

  async start(task: Task): Promise<unknown> {
    await this.requestRender(task.id);
    return { manifestKey: renderManifestKey(task.id) };
  }

  async status(handle: unknown): Promise<ProviderStatus> {
    const { manifestKey } = handleSchema.parse(handle);
    const stored = await this.blobs.readJson(manifestKey);
    if (stored === undefined) return { state: 'pending' };
    const manifest = renderManifestSchema.parse(stored);
    if (manifest.status === 'failed') {
      return { state: 'failed', reason: manifest.reason, message: manifest.message, isRetryable: false };
    }
    return { state: 'completed', result: manifest.result, details: manifest.details };
  }

  /** The render wakes its poll when it ends; this slow poll is only the safety net. */
  pollDelayMs(): number {
    return 5_000;
  }
}
