/** A field Replicate refused, as its 422 answer lists them. */
export interface InvalidField {
  readonly type: string;
  readonly field: string;
  readonly description: string;
}

type Json = Record<string, unknown>;

/** The inputs of each Veo model the fake serves (upstream-providers.md §3.2, A.4). */
const modelInputs: Record<string, readonly string[]> = {
  'google/veo-3.1': ['prompt', 'aspect_ratio', 'duration', 'image', 'last_frame', 'reference_images', 'negative_prompt', 'resolution', 'generate_audio', 'seed'],
  'google/veo-3.1-fast': ['prompt', 'aspect_ratio', 'duration', 'image', 'last_frame', 'negative_prompt', 'resolution', 'generate_audio', 'seed'],
};

export function isKnownModel(model: string): boolean {
  return model in modelInputs;
}

function isUri(value: unknown): boolean {
  if (typeof value !== 'string') return false;
  if (/^data:image\/(png|jpeg|webp);base64,[A-Za-z0-9+/=]+$/.test(value)) return true;
  try {
    const url = new URL(value);
    return url.protocol === 'https:' || url.protocol === 'http:';
  } catch {
    return false;
  }
}

/**
 * The checks Replicate makes on a prediction's input against the model's schema, so that an adapter
 * that sends what Replicate would refuse (a `video`, an unknown field, a bad duration) fails
 * against the fake too. Answers the refused fields (empty when the input is good).
 */
export function checkInput(model: string, input: unknown): InvalidField[] {
  const allowed = modelInputs[model] ?? [];
  const refused: InvalidField[] = [];
  const refuse = (field: string, description: string, type = 'invalid') => refused.push({ type, field: `input.${field}`, description });
  if (!input || typeof input !== 'object' || Array.isArray(input)) return [{ type: 'required', field: 'input', description: 'input is required' }];
  const fields = input as Json;
  for (const name of Object.keys(fields)) if (!allowed.includes(name)) refuse(name, `Additional property ${name} is not allowed`, 'additional_property_not_allowed');
  if (typeof fields['prompt'] !== 'string' || fields['prompt'].length === 0) refuse('prompt', 'prompt is required', 'required');
  const aspectRatio = fields['aspect_ratio'] ?? '16:9';
  if (aspectRatio !== '16:9' && aspectRatio !== '9:16') refuse('aspect_ratio', 'aspect_ratio must be one of the following: "16:9", "9:16"', 'enum');
  const duration = fields['duration'] ?? 8;
  if (![4, 6, 8].includes(duration as number)) refuse('duration', 'duration must be one of the following: 4, 6, 8', 'enum');
  const resolution = fields['resolution'] ?? '1080p';
  if (resolution !== '720p' && resolution !== '1080p') refuse('resolution', 'resolution must be one of the following: "720p", "1080p"', 'enum');
  for (const name of ['image', 'last_frame']) if (name in fields && !isUri(fields[name])) refuse(name, 'Does not match format \'uri\'', 'format');
  if ('generate_audio' in fields && typeof fields['generate_audio'] !== 'boolean') refuse('generate_audio', 'Invalid type. Expected: boolean', 'invalid_type');
  if ('seed' in fields && !Number.isInteger(fields['seed'])) refuse('seed', 'Invalid type. Expected: integer', 'invalid_type');
  if ('negative_prompt' in fields && typeof fields['negative_prompt'] !== 'string') refuse('negative_prompt', 'Invalid type. Expected: string', 'invalid_type');
  const references = fields['reference_images'];
  if (references !== undefined && allowed.includes('reference_images')) {
    if (!Array.isArray(references) || references.length < 1 || references.length > 3 || !references.every(isUri)) {
      refuse('reference_images', 'reference_images takes 1 to 3 image URIs');
    } else {
      if (aspectRatio !== '16:9') refuse('aspect_ratio', 'reference images work in 16:9 only');
      if (duration !== 8) refuse('duration', 'reference images need an 8 second video');
    }
  }
  if (fields['resolution'] === '1080p' && duration !== 8) refuse('resolution', '1080p is only available for 8 second videos');
  return refused;
}

/**
 * Replicate's `Cancel-After` duration (`30s`, `5m`, `1h30m`, a bare number of seconds) in
 * milliseconds; undefined when it cannot be read. Replicate's minimum is 5 seconds.
 */
export function parseCancelAfter(value: string): number | undefined {
  if (/^\d+(\.\d+)?$/.test(value)) return Number(value) * 1000;
  const match = /^(?:(\d+)h)?(?:(\d+)m)?(?:(\d+(?:\.\d+)?)s)?$/.exec(value);
  if (!match || value === '') return undefined;
  const [, hours, minutes, secondsText] = match;
  return ((Number(hours ?? 0) * 60 + Number(minutes ?? 0)) * 60 + Number(secondsText ?? 0)) * 1000;
}
