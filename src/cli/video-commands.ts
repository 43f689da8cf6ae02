import fs from 'node:fs';
import { parseArgs } from 'node:util';
import type { GenerateOptions } from '../client/index.js';
import { clientFrom, connectionOptions, imageUrl, integerFlag, isLink, reportTask } from './client-flags.js';
import { UsageError } from './cli-support.js';

export const videoUsage = `  generate --prompt TEXT [--model M] [--aspect 16:9|9:16|auto] [--image FILE|URL]... [--seed N] [--wait] [--out FILE]
                                                        make a video (M: veo3_fast (default), veo3, veo3_lite)
  extend (--task ID | --video FILE|URL) --prompt TEXT [--model fast|quality] [--seed N] [--wait] [--out FILE]
                                                        add 7 s to a task's video, a link or a local file
  tasks show ID [--json]                                one of your tasks
  tasks list [--limit N] [--after ID] [--json]          your tasks, newest first
      These print the task id on stdout; --wait shows progress on stderr until the task ends,
      --out FILE also saves the video (and implies --wait). They talk to SEGUE_URL (default
      http://127.0.0.1:8080) with SEGUE_API_KEY, or --base-url URL --key KEY.`;

const waitOptions = {
  prompt: { type: 'string' },
  seed: { type: 'string' },
  wait: { type: 'boolean', default: false },
  out: { type: 'string' },
  ...connectionOptions,
} as const;

const generateModels: Record<string, NonNullable<GenerateOptions['model']>> = {
  veo3: 'veo3',
  veo3_fast: 'veo3_fast',
  veo3_lite: 'veo3_lite',
  quality: 'veo3',
  fast: 'veo3_fast',
  lite: 'veo3_lite',
};

const aspectRatios: Record<string, NonNullable<GenerateOptions['aspectRatio']>> = { '16:9': '16:9', '9:16': '9:16', auto: 'Auto' };

function requirePrompt(prompt: string | undefined, command: string): string {
  if (!prompt?.trim()) throw new UsageError(`${command} needs --prompt TEXT`);
  return prompt;
}

/** `segue generate`: a new video through the Veo dialect. */
export async function generateCommand(argv: string[]): Promise<void> {
  const { values } = parseArgs({
    args: argv,
    options: { ...waitOptions, model: { type: 'string' }, aspect: { type: 'string' }, image: { type: 'string', multiple: true } },
  });
  const prompt = requirePrompt(values.prompt, 'generate');
  const model = values.model === undefined ? undefined : generateModels[values.model];
  if (values.model !== undefined && !model) throw new UsageError(`--model must be one of ${Object.keys(generateModels).join(', ')}`);
  const aspectRatio = values.aspect === undefined ? undefined : aspectRatios[values.aspect.toLowerCase()];
  if (values.aspect !== undefined && !aspectRatio) throw new UsageError('--aspect must be 16:9, 9:16 or auto');
  const imageUrls = (values.image ?? []).map(imageUrl);
  const seed = integerFlag('seed', values.seed);
  const client = clientFrom(values);
  const id = await client.generate({
    prompt,
    ...(model ? { model } : {}),
    ...(aspectRatio ? { aspectRatio } : {}),
    ...(imageUrls.length > 0 ? { imageUrls } : {}),
    ...(seed !== undefined ? { seed } : {}),
  });
  await reportTask(client, id, { wait: values.wait, out: values.out });
}

function extendModel(value: string | undefined): 'fast' | 'quality' | undefined {
  if (value === undefined || value === 'fast' || value === 'quality') return value;
  throw new UsageError('--model must be fast or quality');
}

/** `segue extend`: 7 more seconds of a task (Veo dialect), a link or a file (universal dialect). */
export async function extendCommand(argv: string[]): Promise<void> {
  const { values } = parseArgs({ args: argv, options: { ...waitOptions, task: { type: 'string' }, video: { type: 'string' }, model: { type: 'string' } } });
  const prompt = requirePrompt(values.prompt, 'extend');
  if ((values.task === undefined) === (values.video === undefined)) throw new UsageError('extend needs one of --task ID or --video FILE|URL');
  const model = extendModel(values.model);
  const video = values.video;
  const seed = integerFlag('seed', values.seed);
  if (video !== undefined && !isLink(video) && !fs.existsSync(video)) throw new UsageError(`--video ${video}: no such file`);
  const client = clientFrom(values);
  const options = { prompt, ...(model ? { model } : {}), ...(seed !== undefined ? { seed } : {}) };
  const id =
    values.task !== undefined
      ? await client.extend({ taskId: values.task }, options)
      : await client.extend(isLink(video!) ? { videoUrl: video! } : { file: video! }, options);
  await reportTask(client, id, { wait: values.wait, out: values.out });
}
