import { randomBytes } from 'node:crypto';

/** A task id: 32 lowercase hex characters, like the ids real Veo-dialect services hand out. */
export function newTaskId(): string {
  return randomBytes(16).toString('hex');
}

/** An opaque id for rows that are never shown to clients (jobs, ledger entries, keys). */
export function newRowId(): string {
  return randomBytes(12).toString('base64url');
}

/** A Veo-dialect seed: an integer from 10000 to 99999. */
export function randomSeed(): number {
  return 10000 + (randomBytes(4).readUInt32BE(0) % 90000);
}

/** A callback delivery id, sent as `webhook-id` on every attempt (Standard Webhooks style). */
export function newDeliveryId(): string {
  return `msg_${randomBytes(16).toString('base64url')}`;
}
