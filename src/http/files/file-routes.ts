import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { isSafeBlobKey } from '../../blobs/blob-keys.js';
import type { UrlSigner } from '../../blobs/signed-urls.js';
import type { BlobStore } from '../../ports/blob-store.js';
import { routeDocs } from '../openapi.js';
import { isNotModified, rangeStillApplies, requestedRange } from './range-requests.js';

export interface FileRouteDependencies {
  readonly signer: UrlSigner;
  /** Any store: the bytes stream through this process, so every API process serves every result. */
  readonly blobs: BlobStore;
}

type FileRequest = FastifyRequest<{ Params: { '*': string }; Querystring: { expires?: string | string[] | undefined; signature?: string | string[] | undefined } }>;

/** A repeated parameter arrives as a list: that is no link Segue signed (403, like any bad link). */
const linkParameter = z.union([z.string(), z.array(z.string())]).optional();
const refused = z.object({ code: z.literal(403), msg: z.string(), data: z.null() });
const file = {
  description: 'The file, or the requested range of it.',
  content: { 'application/octet-stream': { schema: z.string().meta({ format: 'binary' }) } },
};

/**
 * `GET /files/<key>?expires=&signature=`: result media behind Segue's own signed, expiring
 * links, streamed from the blob store with one HTTP range at a time (players seek), ETag,
 * Last-Modified and conditional requests; HEAD answers the same headers without reading the blob.
 */
export async function fileRoutes(app: FastifyInstance, deps: FileRouteDependencies): Promise<void> {
  const serve = async (request: FileRequest, reply: FastifyReply) => {
    const key = request.params['*'];
    // A repeated parameter arrives as a list: that is no link Segue signed.
    const { expires, signature } = request.query;
    if (typeof expires !== 'string' || typeof signature !== 'string' || !isSafeBlobKey(key) || !deps.signer.verify(`/files/${key}`, expires, signature)) {
      return reply.code(403).send({ code: 403, msg: 'This link is invalid or has expired', data: null });
    }
    const rangeHeader = request.headers.range;
    // A plain GET opens the blob at once: one round trip to the store instead of two.
    const whole = request.method === 'GET' && rangeHeader === undefined ? await deps.blobs.openRead(key) : undefined;
    const info = whole ?? (await deps.blobs.stat(key));
    if (!info) return reply.callNotFound();
    reply
      .header('accept-ranges', 'bytes')
      .header('cache-control', 'private, max-age=3600')
      .header('etag', info.etag)
      .header('last-modified', info.lastModified.toUTCString());
    if (isNotModified(request.headers, info)) {
      whole?.body.destroy();
      return reply.code(304).send();
    }
    const range = rangeStillApplies(request.headers, info) ? requestedRange(rangeHeader, info.size) : undefined;
    if (range === 'unsatisfiable') return reply.code(416).header('content-range', `bytes */${info.size}`).send();
    reply.type(info.contentType).header('content-length', range ? range.end - range.start + 1 : info.size);
    if (range) reply.code(206).header('content-range', `bytes ${range.start}-${range.end}/${info.size}`);
    if (request.method === 'HEAD') return reply.send();
    const opened = whole ?? (await deps.blobs.openRead(key, range));
    if (!opened) return reply.callNotFound();
    return reply.send(opened.body);
  };
  // HEAD is declared, not derived from GET: Fastify's derived HEAD would read the whole body to throw it away.
  app.withTypeProvider<ZodTypeProvider>().route({
    method: ['GET', 'HEAD'],
    url: '/files/*',
    schema: {
      ...routeDocs.files,
      summary: 'A result file behind a signed link (HTTP Range supported)',
      params: z.object({ '*': z.string().meta({ description: 'The file key, as the signed link names it.' }) }),
      querystring: z.object({ expires: linkParameter, signature: linkParameter }),
      response: { 200: file, 206: file, 403: refused },
    },
    handler: serve,
  });
}
