import { falPlugin } from './fal/fal-plugin.js';
import { geminiPlugin } from './gemini/gemini-plugin.js';
import { localPlugin } from './local/local-plugin.js';
import { universalDialectPlugin } from './universal-dialect/universal-dialect-plugin.js';
import { veoDialectPlugin } from './veo-dialect/veo-dialect-plugin.js';

/** Every kind of provider entry Segue can build: the one list (the providers file's schema is made from it). */
export const providerPlugins = [localPlugin, geminiPlugin, falPlugin, veoDialectPlugin, universalDialectPlugin] as const;
