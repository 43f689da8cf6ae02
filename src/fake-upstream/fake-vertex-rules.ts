import type { Refusal } from './fake-gemini-rules.js';

type Json = Record<string, unknown>;

const invalid = (message: string): Refusal => ({ status: 400, code: 'INVALID_ARGUMENT', message });

/** What the fake knows of a source video it is asked to extend. */
export interface KnownVideo {
  readonly durationSeconds: number;
}

/** Looks up a video given as bytes or as a gs:// object; undefined when this fake did not make it. */
export interface VideoLookup {
  bytes(base64: string): KnownVideo | undefined;
  object(gcsUri: string): KnownVideo | undefined | 'missing';
}

/** `image`, `lastFrame` and `video` are union fields: exactly one of bytes or a gs:// uri (§2.3). */
function mediaProblem(name: string, value: unknown, mimePrefix: string): string | undefined {
  const media = value as Json | null;
  if (typeof media !== 'object' || media === null) return `${name} must be an object.`;
  const hasBytes = typeof media['bytesBase64Encoded'] === 'string' && (media['bytesBase64Encoded'] as string).length > 0;
  const hasUri = typeof media['gcsUri'] === 'string';
  if (hasBytes === hasUri) return `${name} must set exactly one of bytesBase64Encoded and gcsUri.`;
  if (hasUri && !/^gs:\/\/[^/]+\/.+/.test(media['gcsUri'] as string)) return `${name}.gcsUri must be a gs://bucket/object uri.`;
  if (typeof media['mimeType'] !== 'string' || !(media['mimeType'] as string).startsWith(mimePrefix)) return `${name}.mimeType must be ${mimePrefix}*.`;
  return undefined;
}

/**
 * The checks Vertex makes on a Veo 3.1 create body (upstream-providers.md §2.3, §2.5, A.2), so an
 * adapter that sends what Google would refuse fails against the fake too. Extension takes a Veo
 * video of 1–30 s (bytes or gcsUri) this project made, adds 7 s, at 720p.
 */
export function checkVertexCreateBody(body: unknown, videos: VideoLookup): Refusal | undefined {
  const root = body as Json | null;
  const instances = root?.['instances'];
  if (!Array.isArray(instances) || instances.length !== 1) return invalid('instances must hold exactly one instance.');
  const instance = instances[0] as Json;
  const parameters = (root?.['parameters'] ?? {}) as Json;
  if (typeof instance['prompt'] !== 'string') return invalid('instances[0].prompt must be a string.');
  if ('webhookConfig' in (root ?? {})) return invalid('Invalid JSON payload received. Unknown name "webhookConfig": Cannot find field.');
  for (const name of ['image', 'lastFrame'] as const) {
    if (instance[name] !== undefined) {
      const problem = mediaProblem(name, instance[name], 'image/');
      if (problem) return invalid(problem);
    }
  }
  if (instance['lastFrame'] !== undefined && instance['image'] === undefined) return invalid('lastFrame must be used together with image.');
  const video = instance['video'];
  if (video !== undefined) {
    const problem = mediaProblem('video', video, 'video/');
    if (problem) return invalid(problem);
    if (instance['image'] !== undefined || instance['referenceImages'] !== undefined) return invalid('video cannot be combined with image or referenceImages.');
  }
  const duration = Number(parameters['durationSeconds'] ?? 8);
  if (video !== undefined ? duration !== 7 : ![4, 6, 8].includes(duration)) return invalid(video !== undefined ? 'durationSeconds must be 7 for video extension.' : 'durationSeconds must be 4, 6 or 8.');
  const aspectRatio = parameters['aspectRatio'] ?? '16:9';
  if (aspectRatio !== '16:9' && aspectRatio !== '9:16') return invalid('aspectRatio must be 16:9 or 9:16.');
  const resolution = parameters['resolution'] ?? '720p';
  if (resolution !== '720p' && resolution !== '1080p') return invalid('resolution must be 720p or 1080p.');
  if (video !== undefined && resolution !== '720p') return invalid('video extension supports 720p output only.');
  if ('generateAudio' in parameters && typeof parameters['generateAudio'] !== 'boolean') return invalid('generateAudio must be a boolean.');
  if ('seed' in parameters && !(Number.isInteger(parameters['seed']) && (parameters['seed'] as number) >= 0 && (parameters['seed'] as number) <= 0xffffffff)) return invalid('seed must be an unsigned 32-bit integer.');
  if ('storageUri' in parameters && !/^gs:\/\/[^/]+(\/.*)?$/.test(String(parameters['storageUri']))) return invalid('storageUri must be a gs:// uri.');
  const count = Number(parameters['sampleCount'] ?? 1);
  if (!Number.isInteger(count) || count < 1 || count > 4) return invalid('sampleCount must be 1 to 4.');
  const withImages = instance['image'] !== undefined || instance['referenceImages'] !== undefined;
  const people = parameters['personGeneration'];
  if (people !== undefined && !['dont_allow', 'allow_adult', ...(withImages ? [] : ['allow_all'])].includes(String(people))) {
    return invalid(`personGeneration ${String(people)} is not allowed for this request.`);
  }
  if (video !== undefined) {
    const source = video as Json;
    const known = typeof source['gcsUri'] === 'string' ? videos.object(source['gcsUri']) : videos.bytes(source['bytesBase64Encoded'] as string);
    if (known === 'missing') return { status: 404, code: 'NOT_FOUND', message: `No such object: ${String(source['gcsUri']).slice(5)}` };
    if (!known) return invalid('The input video was not generated by Veo. Only videos you previously generated using Veo can be extended.');
    if (known.durationSeconds > 30.5 || known.durationSeconds < 1) return invalid('The input video must be 1 to 30 seconds long.');
  }
  return undefined;
}
