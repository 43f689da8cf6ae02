/** One problem with a model input, in fal's validation-error shape (`{"detail": [problem]}`, HTTP 422). */
export interface FalProblem {
  readonly loc: readonly string[];
  readonly msg: string;
  readonly type: string;
}

type Json = Record<string, unknown>;

/** The subpaths fal's Veo 3.1 endpoints take after the endpoint id. */
export const falSubpaths = ['image-to-video', 'first-last-frame-to-video', 'reference-to-video', 'extend-video'] as const;
export type FakeSubpath = (typeof falSubpaths)[number] | '';

const durations: Record<FakeSubpath, readonly string[]> = {
  '': ['4s', '6s', '8s'],
  'image-to-video': ['4s', '6s', '8s'],
  'first-last-frame-to-video': ['8s'],
  'reference-to-video': ['8s'],
  'extend-video': ['7s'],
};

const required: Record<FakeSubpath, readonly string[]> = {
  '': [],
  'image-to-video': ['image_url'],
  'first-last-frame-to-video': ['first_frame_url', 'last_frame_url'],
  'reference-to-video': ['image_urls'],
  'extend-video': ['video_url'],
};

const problem = (field: string, msg: string, type: string): FalProblem => ({ loc: ['body', field], msg, type });

/**
 * The checks fal's Veo 3.1 endpoints make on a model input (upstream-providers.md §3.1), so that
 * an adapter that sends what fal would refuse fails against the fake too.
 */
export function checkFalInput(subpath: FakeSubpath, body: unknown): FalProblem[] {
  const input = body as Json | null;
  if (!input || typeof input !== 'object' || Array.isArray(input)) return [problem('body', 'Input should be a valid dictionary', 'dict_type')];
  const problems: FalProblem[] = [];
  if (typeof input['prompt'] !== 'string' || input['prompt'].length === 0) problems.push(problem('prompt', 'Field required', 'missing'));
  for (const field of required[subpath]) {
    const value = input[field];
    const present = field === 'image_urls' ? Array.isArray(value) && value.length > 0 && value.every((item) => typeof item === 'string') : typeof value === 'string' && value.length > 0;
    if (!present) problems.push(problem(field, 'Field required', 'missing'));
  }
  if ('duration' in input && !durations[subpath].includes(String(input['duration']))) {
    problems.push(problem('duration', `Input should be ${durations[subpath].map((value) => `'${value}'`).join(' or ')}`, 'literal_error'));
  }
  if ('aspect_ratio' in input && !['auto', '16:9', '9:16'].includes(String(input['aspect_ratio']))) {
    problems.push(problem('aspect_ratio', "Input should be 'auto', '16:9' or '9:16'", 'literal_error'));
  }
  if ('resolution' in input && !['720p', '1080p'].includes(String(input['resolution']))) {
    problems.push(problem('resolution', "Input should be '720p' or '1080p'", 'literal_error'));
  }
  if ('generate_audio' in input && typeof input['generate_audio'] !== 'boolean') problems.push(problem('generate_audio', 'Input should be a valid boolean', 'bool_type'));
  if ('seed' in input && !Number.isInteger(input['seed'])) problems.push(problem('seed', 'Input should be a valid integer', 'int_type'));
  return problems;
}
