import { createHash } from 'node:crypto';

/**
 * How a task records the credential it ran on without the secret: a short, stable fingerprint
 * of an API key — enough to tell two keys apart, useless to anyone who reads it.
 */
export function secretFingerprint(secret: string): string {
  return `sha256:${createHash('sha256').update(secret).digest('hex').slice(0, 12)}`;
}
