import { geminiPlugin } from './gemini/gemini-plugin.js';
import { localPlugin } from './local/local-plugin.js';
import { replicatePlugin } from './replicate/replicate-plugin.js';

/** Every kind of provider entry Segue can build: the one list (the providers file's schema is made from it). */
export const providerPlugins = [localPlugin, geminiPlugin, replicatePlugin] as const;
