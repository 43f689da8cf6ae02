/** Where a task is: it ends `succeeded` or `failed`. */
export type TaskStatus = 'queued' | 'running' | 'succeeded' | 'failed';

/** What a task does. */
export type TaskOperation = 'generate' | 'extend' | 'upgrade_1080p' | 'upgrade_4k';

/** A task as `get`, `waitFor` and `list` return it (`GET /api/v1/tasks/:id`). */
export interface SegueTask {
  readonly id: string;
  readonly operation: TaskOperation;
  /** The public model: `veo3`, `veo3_fast`, `veo3_lite`. */
  readonly model: string;
  readonly status: TaskStatus;
  /** 0–100; 100 once succeeded. */
  readonly progress: number;
  /** The task this one extends or upgrades. */
  readonly parentTaskId: string | null;
  /** The whole video (for an extension: source + new seconds), once succeeded. A signed, expiring link. */
  readonly videoUrl: string | null;
  /** For an extension: the new seconds alone. */
  readonly segmentUrl: string | null;
  /** A still of the video. */
  readonly posterUrl: string | null;
  readonly durationSeconds: number | null;
  /** e.g. `720p`. */
  readonly resolution: string | null;
  /** Why it failed: the Veo dialect's code (400 content or input, 500 internal or timeout, 501 generation) and message. */
  readonly error: { readonly code: number; readonly message: string } | null;
  /** What made it: `local` (Segue's own engine) or `upstream` (a real model), once it succeeded. */
  readonly engine: string | null;
  /** How the local engine made it, e.g. `video_texture`, `procedural_scene`. */
  readonly method: string | null;
  /** It ran on a later provider of its route than the first (the Veo dialect's `fallbackFlag`). */
  readonly fallback: boolean;
  /** As the server formats times (`SEGUE_TIME_FORMAT`): `YYYY-MM-DD HH:mm:ss` UTC or epoch ms. */
  readonly createTime: string | number;
  readonly completeTime: string | number | null;
}
