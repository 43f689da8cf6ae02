import { comfyUiPlugin } from './comfyui/comfyui-plugin.js';
import { falPlugin } from './fal/fal-plugin.js';
import { geminiPlugin } from './gemini/gemini-plugin.js';
import { localPlugin } from './local/local-plugin.js';
import { replicatePlugin } from './replicate/replicate-plugin.js';
import { universalDialectPlugin } from './universal-dialect/universal-dialect-plugin.js';
import { veoDialectPlugin } from './veo-dialect/veo-dialect-plugin.js';
import { vertexPlugin } from './vertex/vertex-plugin.js';

/** Every kind of provider entry Segue can build: the one list (the providers file's schema is made from it). */
export const providerPlugins = [localPlugin, geminiPlugin, vertexPlugin, falPlugin, replicatePlugin, veoDialectPlugin, universalDialectPlugin, comfyUiPlugin] as const;
