/**
 * The node classes the fake ComfyUI knows, with the inputs ComfyUI's validation checks (names and
 * types from ComfyUI's `nodes.py`, `comfy_extras/nodes_wan.py`, `nodes_lt.py`, `nodes_video.py`
 * and the ComfyUI-VideoHelperSuite and ComfyUI-LTXVideo packs) and what each does to pictures.
 */

/** A literal input's type, or the type of what a link must carry. */
export type InputType = 'INT' | 'FLOAT' | 'STRING' | 'BOOLEAN' | 'COMBO' | string;

export interface NodeClass {
  readonly required: Readonly<Record<string, InputType>>;
  readonly optional?: Readonly<Record<string, InputType>>;
  readonly outputs: readonly string[];
  /** An output node: what ComfyUI executes the graph for. */
  readonly outputNode?: boolean;
}

const conditioningPair = { positive: 'CONDITIONING', negative: 'CONDITIONING' } as const;

export const nodeClasses: Readonly<Record<string, NodeClass>> = {
  // Loaders and model plumbing: no pictures, only checked.
  CheckpointLoaderSimple: { required: { ckpt_name: 'COMBO' }, outputs: ['MODEL', 'CLIP', 'VAE'] },
  UNETLoader: { required: { unet_name: 'COMBO', weight_dtype: 'COMBO' }, outputs: ['MODEL'] },
  CLIPLoader: { required: { clip_name: 'COMBO', type: 'COMBO' }, optional: { device: 'COMBO' }, outputs: ['CLIP'] },
  VAELoader: { required: { vae_name: 'COMBO' }, outputs: ['VAE'] },
  CLIPVisionLoader: { required: { clip_name: 'COMBO' }, outputs: ['CLIP_VISION'] },
  CLIPVisionEncode: { required: { clip_vision: 'CLIP_VISION', image: 'IMAGE', crop: 'COMBO' }, outputs: ['CLIP_VISION_OUTPUT'] },
  LoraLoaderModelOnly: { required: { model: 'MODEL', lora_name: 'COMBO', strength_model: 'FLOAT' }, outputs: ['MODEL'] },
  ModelSamplingSD3: { required: { model: 'MODEL', shift: 'FLOAT' }, outputs: ['MODEL'] },
  ModelSamplingLTXV: { required: { model: 'MODEL', max_shift: 'FLOAT', base_shift: 'FLOAT' }, optional: { latent: 'LATENT' }, outputs: ['MODEL'] },
  CLIPTextEncode: { required: { text: 'STRING', clip: 'CLIP' }, outputs: ['CONDITIONING'] },
  LTXVConditioning: { required: { ...conditioningPair, frame_rate: 'FLOAT' }, outputs: ['CONDITIONING', 'CONDITIONING'] },
  KSamplerSelect: { required: { sampler_name: 'COMBO' }, outputs: ['SAMPLER'] },
  RandomNoise: { required: { noise_seed: 'INT' }, outputs: ['NOISE'] },
  CFGGuider: { required: { model: 'MODEL', ...conditioningPair, cfg: 'FLOAT' }, outputs: ['GUIDER'] },
  LTXVScheduler: { required: { steps: 'INT', max_shift: 'FLOAT', base_shift: 'FLOAT', stretch: 'BOOLEAN', terminal: 'FLOAT' }, optional: { latent: 'LATENT' }, outputs: ['SIGMAS'] },
  // Pictures in.
  LoadImage: { required: { image: 'COMBO' }, outputs: ['IMAGE', 'MASK'] },
  LoadVideo: { required: { file: 'COMBO' }, outputs: ['VIDEO'] },
  GetVideoComponents: { required: { video: 'VIDEO' }, outputs: ['IMAGE', 'AUDIO', 'FLOAT'] },
  VHS_LoadVideo: { required: { video: 'COMBO', force_rate: 'FLOAT', frame_load_cap: 'INT', skip_first_frames: 'INT', select_every_nth: 'INT' }, outputs: ['IMAGE', 'INT', 'AUDIO', 'VHS_VIDEOINFO'] },
  ImageFromBatch: { required: { image: 'IMAGE', batch_index: 'INT', length: 'INT' }, outputs: ['IMAGE'] },
  ImageBatch: { required: { image1: 'IMAGE', image2: 'IMAGE' }, outputs: ['IMAGE'] },
  // Latents: what the model will make.
  WanImageToVideo: { required: { ...conditioningPair, vae: 'VAE', width: 'INT', height: 'INT', length: 'INT', batch_size: 'INT' }, optional: { clip_vision_output: 'CLIP_VISION_OUTPUT', start_image: 'IMAGE' }, outputs: ['CONDITIONING', 'CONDITIONING', 'LATENT'] },
  Wan22ImageToVideoLatent: { required: { vae: 'VAE', width: 'INT', height: 'INT', length: 'INT', batch_size: 'INT' }, optional: { start_image: 'IMAGE' }, outputs: ['LATENT'] },
  LTXVImgToVideo: { required: { ...conditioningPair, vae: 'VAE', image: 'IMAGE', width: 'INT', height: 'INT', length: 'INT', batch_size: 'INT' }, optional: { strength: 'FLOAT' }, outputs: ['CONDITIONING', 'CONDITIONING', 'LATENT'] },
  EmptyLTXVLatentVideo: { required: { width: 'INT', height: 'INT', length: 'INT', batch_size: 'INT' }, outputs: ['LATENT'] },
  EmptyHunyuanLatentVideo: { required: { width: 'INT', height: 'INT', length: 'INT', batch_size: 'INT' }, outputs: ['LATENT'] },
  VAEEncode: { required: { pixels: 'IMAGE', vae: 'VAE' }, outputs: ['LATENT'] },
  // Sampling: the pictures are made here.
  KSampler: { required: { model: 'MODEL', seed: 'INT', steps: 'INT', cfg: 'FLOAT', sampler_name: 'COMBO', scheduler: 'COMBO', ...conditioningPair, latent_image: 'LATENT', denoise: 'FLOAT' }, outputs: ['LATENT'] },
  KSamplerAdvanced: {
    required: { model: 'MODEL', add_noise: 'COMBO', noise_seed: 'INT', steps: 'INT', cfg: 'FLOAT', sampler_name: 'COMBO', scheduler: 'COMBO', ...conditioningPair, latent_image: 'LATENT', start_at_step: 'INT', end_at_step: 'INT', return_with_leftover_noise: 'COMBO' },
    outputs: ['LATENT'],
  },
  SamplerCustomAdvanced: { required: { noise: 'NOISE', guider: 'GUIDER', sampler: 'SAMPLER', sigmas: 'SIGMAS', latent_image: 'LATENT' }, outputs: ['LATENT', 'LATENT'] },
  LTXVExtendSampler: { required: { model: 'MODEL', vae: 'VAE', latents: 'LATENT', num_new_frames: 'INT', frame_overlap: 'INT', guider: 'GUIDER', sampler: 'SAMPLER', sigmas: 'SIGMAS', noise: 'NOISE' }, outputs: ['LATENT', 'CONDITIONING', 'CONDITIONING'] },
  // Pictures out.
  VAEDecode: { required: { samples: 'LATENT', vae: 'VAE' }, outputs: ['IMAGE'] },
  VAEDecodeTiled: { required: { samples: 'LATENT', vae: 'VAE', tile_size: 'INT', overlap: 'INT', temporal_size: 'INT', temporal_overlap: 'INT' }, outputs: ['IMAGE'] },
  CreateVideo: { required: { images: 'IMAGE', fps: 'FLOAT' }, optional: { audio: 'AUDIO' }, outputs: ['VIDEO'] },
  SaveVideo: { required: { video: 'VIDEO', filename_prefix: 'STRING', format: 'COMBO', codec: 'COMBO' }, outputs: [], outputNode: true },
  VHS_VideoCombine: {
    required: { images: 'IMAGE', frame_rate: 'FLOAT', loop_count: 'INT', filename_prefix: 'STRING', format: 'COMBO', pingpong: 'BOOLEAN', save_output: 'BOOLEAN' },
    optional: { audio: 'AUDIO' },
    outputs: [],
    outputNode: true,
  },
};

/** ComfyUI's own validation of one node's inputs: the errors it would list under `node_errors`. */
export function inputErrors(
  nodeClass: NodeClass,
  inputs: Record<string, unknown>,
  outputTypeOf: (link: [string, number]) => string | undefined,
): Array<{ type: string; message: string; details: string }> {
  const errors: Array<{ type: string; message: string; details: string }> = [];
  const check = (name: string, type: InputType, value: unknown) => {
    if (Array.isArray(value) && value.length === 2 && typeof value[0] === 'string' && typeof value[1] === 'number') {
      const carried = outputTypeOf(value as [string, number]);
      if (carried === undefined) errors.push({ type: 'bad_linked_input', message: 'Bad linked input, must be a length-2 list of [node_id, slot_index]', details: `${name}, ${JSON.stringify(value)}` });
      else if (['INT', 'FLOAT', 'STRING', 'BOOLEAN', 'COMBO'].includes(type) ? !['INT', 'FLOAT', 'STRING', 'BOOLEAN'].includes(carried) : carried !== type) {
        errors.push({ type: 'return_type_mismatch', message: 'Return type mismatch between linked nodes', details: `${name}, received_type(${carried}) mismatch input_type(${type})` });
      }
      return;
    }
    if (type === 'INT' || type === 'FLOAT') {
      if (typeof value === 'number' ? !Number.isFinite(value) : typeof value !== 'string' || value.trim() === '' || !Number.isFinite(Number(value))) {
        errors.push({ type: 'invalid_input_type', message: `Failed to convert an input value to a ${type} value`, details: `${name}, ${String(value)}` });
      }
    } else if (type === 'STRING' || type === 'COMBO') {
      if (typeof value !== 'string') errors.push({ type: 'invalid_input_type', message: `Failed to convert an input value to a ${type === 'COMBO' ? 'STRING' : type} value`, details: `${name}, ${String(value)}` });
    } else if (type === 'BOOLEAN') {
      if (typeof value !== 'boolean') errors.push({ type: 'invalid_input_type', message: 'Failed to convert an input value to a BOOLEAN value', details: `${name}, ${String(value)}` });
    } else {
      errors.push({ type: 'required_input_missing', message: 'Required input is missing', details: `${name} (a ${type} link)` });
    }
  };
  for (const [name, type] of Object.entries(nodeClass.required)) {
    if (!(name in inputs)) errors.push({ type: 'required_input_missing', message: 'Required input is missing', details: name });
    else check(name, type, inputs[name]);
  }
  for (const [name, type] of Object.entries(nodeClass.optional ?? {})) {
    if (name in inputs) check(name, type, inputs[name]);
  }
  return errors;
}
