import { ValidationError } from './errors.js';

export const WATERMARK_MAX_LENGTH = 100;

/** Scripts the shipped watermark font (DejaVu Sans) draws, right-to-left ones included. */
const drawable = /^[\p{Script=Latin}\p{Script=Greek}\p{Script=Cyrillic}\p{Script=Arabic}\p{Script=Hebrew}\p{Script=Armenian}\p{Script=Georgian}\p{Script=Common}\p{Script=Inherited}]*$/u;

/**
 * Checks watermark text before anything is accepted: one line of at most 100 characters that
 * the font can draw. Anything else is refused with a message saying why, never drawn wrong.
 * (Drawing never puts the text in a filter string: it is read from a file, expansion off.)
 */
export function checkWatermark(text: string): string {
  const characters = [...text];
  if (characters.length > WATERMARK_MAX_LENGTH) {
    throw new ValidationError(`watermark must be at most ${WATERMARK_MAX_LENGTH} characters`, 'watermark');
  }
  if (/[\p{Cc}\p{Zl}\p{Zp}]/u.test(text)) throw new ValidationError('watermark must be a single line of text (no control characters)', 'watermark');
  if (/\p{Extended_Pictographic}/u.test(text)) throw new ValidationError('watermark cannot contain emoji: the watermark font has none', 'watermark');
  if (!drawable.test(text)) {
    throw new ValidationError('watermark contains characters the watermark font cannot draw (Latin, Greek, Cyrillic, Arabic, Hebrew are supported)', 'watermark');
  }
  if (text.trim() === '') throw new ValidationError('watermark must not be blank', 'watermark');
  return text;
}
