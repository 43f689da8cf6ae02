import fs from 'node:fs';
import { ContentPolicyError } from '../domain/errors.js';


/** A check run on every prompt before anything is held; throws ContentPolicyError to refuse. */
export interface PromptCheck {
  check(prompt: string, options: { translationRequested: boolean }): void;
}

const englishWords = new Set('the a an and or of to in on at with for from is are was it its this that his her their into over under while as by'.split(' '));
const otherWords = new Set(
  ('el la los las un una y en con del que por para es su ' + // es
    'le les des et dans avec du une est sur pour au aux ' + // fr
    'der die das und ein eine mit im ist auf zu den dem ' + // de
    'il lo gli di che nel della sono ' + // it
    'o os as um uma do da em no na com ' + // pt
    'het een en van met op is de').split(' '), // nl
);

/**
 * Whether a prompt is not English: mostly letters outside plain Latin script, or more function
 * words of other European languages than of English. A heuristic, honest about being one.
 */
export function looksNonEnglish(prompt: string): boolean {
  const letters = prompt.match(/\p{L}/gu) ?? [];
  if (letters.length === 0) return false;
  const plainLatin = letters.filter((letter) => /[A-Za-z]/.test(letter)).length;
  if (plainLatin / letters.length < 0.8) return true;
  const words = prompt.toLowerCase().match(/\p{L}+/gu) ?? [];
  const english = words.filter((word) => englishWords.has(word)).length;
  const other = words.filter((word) => otherWords.has(word) && !englishWords.has(word)).length;
  return other >= 2 && other > english;
}

/**
 * The shipped policy: a blocklist of words and phrases (whole words, any case) and an
 * English-only option. There is no translator, so `enableTranslation` cannot rescue a
 * non-English prompt: it follows the English-only setting.
 */
export class BlocklistPolicy implements PromptCheck {
  private readonly patterns: RegExp[];

  constructor(terms: readonly string[], private readonly englishOnly: boolean) {
    this.patterns = terms
      .map((term) => term.trim())
      .filter((term) => term && !term.startsWith('#'))
      .map((term) => new RegExp(`(?<![\\p{L}\\p{N}])${term.replace(/[.*+?^${}()|[\]\\]/g, '\\$&').replace(/\s+/g, '\\s+')}(?![\\p{L}\\p{N}])`, 'iu'));
  }

  static fromFile(file: string | undefined, englishOnly: boolean): BlocklistPolicy {
    return new BlocklistPolicy(file ? fs.readFileSync(file, 'utf8').split('\n') : [], englishOnly);
  }

  check(prompt: string): void {
    if (this.patterns.some((pattern) => pattern.test(prompt))) throw new ContentPolicyError('the prompt contains a blocked word or phrase', 'blocked');
    if (this.englishOnly && looksNonEnglish(prompt)) throw new ContentPolicyError('only English prompts are accepted here', 'not_english');
  }
}
