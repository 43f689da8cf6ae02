/**
 * `segue/client`: a TypeScript client of a Segue server, with no dependencies beyond Node 20.
 *
 *   const segue = new SegueClient({ baseUrl: 'http://127.0.0.1:8080', apiKey: process.env.SEGUE_API_KEY! });
 *   const id = await segue.generate({ prompt: 'A paper boat drifts down a rainy street' });
 *   await segue.waitFor(id, { onProgress: (task) => console.log(task.status, task.progress) });
 *   await segue.download(id, 'boat.mp4');
 */
export {
  AuthenticationError,
  InsufficientCreditsError,
  NotFoundError,
  RateLimitError,
  SegueError,
  ServiceUnavailableError,
  TaskFailedError,
  ValidationError,
} from './client-errors.js';
export {
  type ExtendOptions,
  type ExtendSource,
  type GenerateOptions,
  SegueClient,
  type SegueClientOptions,
  type TaskPage,
  type VideoExtendOptions,
  type WaitOptions,
} from './segue-client.js';
export type { SegueTask, TaskOperation, TaskStatus } from './task-view.js';
/** For callback receivers: checks Segue's Standard Webhooks signature (and, if given, the Veo HMAC). */
export { verifySegueCallback as verifyWebhook, type VerifyOptions as VerifyWebhookOptions } from '../callbacks/webhook-signatures.js';
