import type { MediaImportService } from '../services/media-import-service.js';

/**
 * Checks at submit every media link a client hands in for Segue to fetch later (scheme,
 * credentials, the host's addresses), each refusal naming its field. data: URIs are not links:
 * they are read where they are used.
 */
export async function checkMediaUrls(imports: MediaImportService, urls: ReadonlyArray<readonly [url: string, field: string]>): Promise<void> {
  for (const [url, field] of urls) {
    if (!url.startsWith('data:')) await imports.checkUrl(url, field);
  }
}
