import { randomUUID } from 'node:crypto';
import { EntryConfigError, type ProviderPlugin, secretFromEnvironment } from '../provider-plugin.js';
import { ComfyUiClient } from './comfyui-client.js';
import { comfyUiEntrySchema } from './comfyui-entry.js';
import { ComfyUiVideoProvider } from './comfyui-video-provider.js';
import { loadWorkflowTemplate, WorkflowFileError, type WorkflowOperation, type WorkflowTemplate } from './comfyui-workflow.js';

/** Open models (Wan 2.2, LTX-Video…) on your own GPUs through ComfyUI: one entry per box. */
export const comfyUiPlugin: ProviderPlugin<typeof comfyUiEntrySchema> = {
  kind: 'comfyui',
  entrySchema: comfyUiEntrySchema,
  create(name, entry, deps) {
    // Every workflow is read and checked now: a bad file stops start-up, not a paid task.
    const workflows: Partial<Record<WorkflowOperation, WorkflowTemplate>> = {};
    for (const operation of ['generate', 'image', 'extend'] as const) {
      const file = entry.workflows[operation];
      if (!file) continue;
      try {
        workflows[operation] = loadWorkflowTemplate(operation, file, deps.configDirectory ?? process.cwd());
      } catch (error) {
        if (error instanceof WorkflowFileError) throw new EntryConfigError(`provider ${name}: ${error.message}`);
        throw error;
      }
    }
    const token = entry.tokenEnv ? secretFromEnvironment(entry.tokenEnv, name, deps.environment) : undefined;
    const client = new ComfyUiClient({
      baseUrl: entry.baseUrl,
      timeoutMs: entry.requestTimeoutSeconds * 1000,
      maxDownloadBytes: deps.mediaMaxBytes,
      ...(token ? { token } : {}),
    });
    const provider = new ComfyUiVideoProvider(name, entry, { client, workflows, clientId: `segue-${name}-${randomUUID()}`, plugin: deps });
    return { provider, close: () => client.close() };
  },
};
