import fs from 'node:fs/promises';
import { MediaError, ValidationError } from '../domain/errors.js';
import { newRowId } from '../domain/ids.js';
import { checkExtendableSource, sourceFacts } from '../domain/source-video-rules.js';
import type { MediaTools } from '../media/media-tools.js';
import type { ScratchSpace } from '../media/scratch-space.js';
import { type AddressPolicy, checkUrlBeforeUse } from '../net/address-guard.js';
import type { SafeHttpClient } from '../net/safe-http.js';
import type { BlobStore } from '../ports/blob-store.js';

/**
 * Media that clients hand in by reference. What can be known at submit is checked at submit:
 * a URL's scheme and address; a data: URI's whole content (size, readable video, length,
 * aspect ratio). A URL's content is fetched and checked when the task runs.
 */
export class MediaImportService {
  constructor(
    private readonly http: SafeHttpClient,
    private readonly media: MediaTools,
    private readonly blobs: BlobStore,
    private readonly addressPolicy: AddressPolicy,
    private readonly scratch: ScratchSpace,
    private readonly limits: { readonly maxBytes: number },
  ) {}

  /** Refuses a URL Segue would not fetch (scheme, credentials, non-public address). */
  async checkUrl(url: string, field: string): Promise<void> {
    try {
      await checkUrlBeforeUse(url, this.addressPolicy);
    } catch (error) {
      throw new ValidationError(`${field} ${(error as Error).message}`, field);
    }
  }

  /** Forgets a stored import whose task was not created after all (refused for credits, limits…). */
  async discard(key: string): Promise<void> {
    await this.blobs.delete(key);
  }

  /** Stores a video given as a data: URI after checking it; returns its blob key. */
  async storeDataUriVideo(dataUri: string, field: string): Promise<string> {
    const staging = await this.scratch.pathForRequest('import');
    try {
      await this.http.download(dataUri, staging, { maxBytes: this.limits.maxBytes, timeoutMs: 60_000 });
      let info;
      try {
        info = await this.media.probe(staging);
      } catch {
        throw new MediaError('is not a readable video');
      }
      checkExtendableSource(sourceFacts(info.video));
      const key = `imports/${newRowId().toLowerCase().replace(/[^a-z0-9]/g, '')}/source.mp4`;
      await this.blobs.putFile(key, staging);
      return key;
    } catch (error) {
      if (error instanceof MediaError) throw new ValidationError(`${field}: ${error.message}`, field);
      throw error;
    } finally {
      await fs.rm(staging, { force: true });
    }
  }
}
