import { z } from 'zod';
import { taskBlobKey } from '../../blobs/task-blob-keys.js';

/**
 * What a finished local render leaves beside its files (`tasks/<id>/render.json`), written last
 * and atomically: its presence means the render is over, its content says how it ended.
 */
export const renderManifestSchema = z.discriminatedUnion('status', [
  z.object({
    status: z.literal('succeeded'),
    result: z.object({
      videoKey: z.string(),
      segmentKey: z.string().nullable(),
      posterKey: z.string(),
      durationSeconds: z.number(),
      width: z.number().int(),
      height: z.number().int(),
      fps: z.number(),
      hasAudio: z.boolean(),
    }),
    details: z.record(z.string(), z.unknown()),
  }),
  z.object({
    status: z.literal('failed'),
    reason: z.enum(['input_unusable', 'internal']),
    message: z.string(),
  }),
]);

export type RenderManifest = z.infer<typeof renderManifestSchema>;

export const renderManifestKey = (taskId: string) => taskBlobKey(taskId, 'render.json');
