import type { BlobInfo, ByteRange } from '../../ports/blob-store.js';

/**
 * The part of a `size`-byte file a `Range` header asks for (RFC 9110 §14): one range, or
 * `unsatisfiable` (answer 416), or undefined when the header is to be ignored and the whole
 * file sent (absent, malformed, another unit, or several ranges, which Segue does not split).
 */
export function requestedRange(header: string | undefined, size: number): ByteRange | 'unsatisfiable' | undefined {
  const match = header === undefined ? null : /^\s*bytes\s*=\s*(\d*)\s*-\s*(\d*)\s*$/i.exec(header);
  if (!match || (match[1] === '' && match[2] === '')) return undefined;
  if (match[1] === '') {
    const suffix = Number(match[2]);
    return suffix === 0 || size === 0 ? 'unsatisfiable' : { start: Math.max(0, size - suffix), end: size - 1 };
  }
  const start = Number(match[1]);
  const end = match[2] === '' ? Infinity : Number(match[2]);
  if (end < start) return undefined;
  return start >= size ? 'unsatisfiable' : { start, end: Math.min(end, size - 1) };
}

type Headers = Readonly<Record<string, string | string[] | undefined>>;

/** Whether a conditional GET (If-None-Match, else If-Modified-Since) may be answered 304. */
export function isNotModified(headers: Headers, info: BlobInfo): boolean {
  const noneMatch = headers['if-none-match'];
  if (typeof noneMatch === 'string') {
    return noneMatch.trim() === '*' || noneMatch.split(',').some((tag) => weakTag(tag) === weakTag(info.etag));
  }
  const modifiedSince = headers['if-modified-since'];
  return typeof modifiedSince === 'string' && seconds(info.lastModified) <= Date.parse(modifiedSince);
}

/** Whether a Range applies under `If-Range` (absent, or naming exactly this version, strongly). */
export function rangeStillApplies(headers: Headers, info: BlobInfo): boolean {
  const ifRange = headers['if-range'];
  if (typeof ifRange !== 'string') return true;
  const value = ifRange.trim();
  if (value.startsWith('"') || value.startsWith('W/')) return value === info.etag && !value.startsWith('W/');
  return seconds(info.lastModified) === Date.parse(value);
}

function weakTag(tag: string): string {
  return tag.trim().replace(/^W\//, '');
}

/** HTTP dates have whole seconds. */
function seconds(date: Date): number {
  return Math.floor(date.getTime() / 1000) * 1000;
}
