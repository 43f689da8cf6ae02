import fs from 'node:fs';
import path from 'node:path';
import fastifyStatic from '@fastify/static';
import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { isSafeBlobKey } from '../../blobs/fs-blob-store.js';
import type { UrlSigner } from '../../blobs/signed-urls.js';
import { routeDocs } from '../openapi.js';

export interface FileRouteDependencies {
  readonly signer: UrlSigner;
  readonly blobDirectory: string;
}

/** A repeated parameter arrives as a list: that is no link Segue signed (403, like any bad link). */
const linkParameter = z.union([z.string(), z.array(z.string())]).optional();
const refused = z.object({ code: z.literal(403), msg: z.string(), data: z.null() });
const file = {
  description: 'The file, or the requested range of it.',
  content: { 'application/octet-stream': { schema: z.string().meta({ format: 'binary' }) } },
};

/**
 * `GET /files/<key>?expires=&signature=`: result media behind Segue's own signed, expiring
 * links, with Range support (players seek), ETag and Last-Modified from @fastify/static.
 */
export async function fileRoutes(app: FastifyInstance, deps: FileRouteDependencies): Promise<void> {
  fs.mkdirSync(deps.blobDirectory, { recursive: true });
  await app.register(fastifyStatic, { root: path.resolve(deps.blobDirectory), serve: false, acceptRanges: true, cacheControl: false });

  // Fastify answers HEAD from this GET route too.
  app.withTypeProvider<ZodTypeProvider>().get(
    '/files/*',
    {
      schema: {
        ...routeDocs.files,
        summary: 'A result file behind a signed link',
        params: z.object({ '*': z.string().meta({ description: 'The file key, as the signed link names it.' }) }),
        querystring: z.object({ expires: linkParameter, signature: linkParameter }),
        response: { 200: file, 206: file, 403: refused },
      },
    },
    async (request, reply) => {
      const key = request.params['*'];
      const { expires, signature } = request.query;
      if (typeof expires !== 'string' || typeof signature !== 'string' || !isSafeBlobKey(key) || !deps.signer.verify(`/files/${key}`, expires, signature)) {
        return reply.code(403).send({ code: 403, msg: 'This link is invalid or has expired', data: null });
      }
      return reply.header('cache-control', 'private, max-age=3600').sendFile(key);
    },
  );
}
