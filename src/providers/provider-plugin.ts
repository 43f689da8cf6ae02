import type { z } from 'zod';
import type { ScratchSpace } from '../media/scratch-space.js';
import type { BlobStore } from '../ports/blob-store.js';
import type { ProviderWebhook, VideoProvider } from '../ports/video-provider.js';

/** What every plug-in may use to build its entries (all handed in by the composition root). */
export interface ProviderPluginDependencies {
  /** Where entries read their secrets (named by `…Env` fields, never written in the file). */
  readonly environment: NodeJS.ProcessEnv;
  /** Segue's public base URL (webhook targets, links upstreams fetch). */
  readonly publicUrl: string;
  readonly mediaMaxBytes: number;
  readonly mediaTimeoutMs: number;
  /** Downloads a user's media to a file: SSRF-guarded, size- and time-capped. Throws MediaError. */
  readonly fetchMedia: (url: string, destination: string, limits: { maxBytes: number; signal: AbortSignal }) => Promise<void>;
  readonly scratch: ScratchSpace;
  readonly blobs: BlobStore;
  /** Queues a local render job for a task. */
  readonly requestRender: (taskId: string) => Promise<void>;
  /** The time, from Segue's clock (upstream copies' ages, webhook windows). */
  readonly now: () => number;
  /**
   * SEGUE_ALLOW_PRIVATE_NETWORKS: whether files an upstream points at (its output links) may be
   * fetched from loopback/private addresses. False when absent.
   */
  readonly allowPrivateNetworks?: boolean;
}

/** One built entry: its provider, its webhook verifier if it takes webhooks, and what to close. */
export interface ProviderInstance {
  readonly provider: VideoProvider;
  readonly webhook?: ProviderWebhook;
  close?(): Promise<void>;
}

/**
 * One kind of upstream (or the local engine): the schema of its entries in the providers file
 * and how to build one. `provider-kinds.ts` lists them all; nothing else names a kind.
 */
export interface ProviderPlugin<Schema extends EntrySchema> {
  readonly kind: z.infer<Schema>['kind'];
  readonly entrySchema: Schema;
  create(name: string, entry: z.infer<Schema>, deps: ProviderPluginDependencies): ProviderInstance;
}

/** An entry's schema: an object whose `kind` names its plug-in. */
export type EntrySchema = z.ZodObject<{ kind: z.ZodLiteral<string> } & z.ZodRawShape>;

/** The secret an entry names by environment variable; a missing one stops start-up. */
export function secretFromEnvironment(variable: string, entryName: string, environment: NodeJS.ProcessEnv): string {
  const value = environment[variable];
  if (!value) throw new EntryConfigError(`provider ${entryName} reads its secret from ${variable}, which is not set`);
  return value;
}

/** A providers-file entry that cannot be built (a missing secret, a bad value): start-up stops. */
export class EntryConfigError extends Error {
  override readonly name = 'EntryConfigError';
}
