import fs from 'node:fs';
import path from 'node:path';
import fastifyStatic from '@fastify/static';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { isSafeBlobKey } from '../../blobs/fs-blob-store.js';
import type { UrlSigner } from '../../blobs/signed-urls.js';

export interface FileRouteDependencies {
  readonly signer: UrlSigner;
  readonly blobDirectory: string;
}

/**
 * `GET /files/<key>?expires=&signature=`: result media behind Segue's own signed, expiring
 * links, with Range support (players seek), ETag and Last-Modified from @fastify/static.
 */
export async function fileRoutes(app: FastifyInstance, deps: FileRouteDependencies): Promise<void> {
  fs.mkdirSync(deps.blobDirectory, { recursive: true });
  await app.register(fastifyStatic, { root: path.resolve(deps.blobDirectory), serve: false, acceptRanges: true, cacheControl: false });

  const serve = async (request: FastifyRequest<{ Params: { '*': string }; Querystring: { expires?: unknown; signature?: unknown } }>, reply: any) => {
    const key = request.params['*'];
    // A repeated parameter arrives as a list: that is no link Segue signed.
    const { expires, signature } = request.query;
    if (typeof expires !== 'string' || typeof signature !== 'string' || !isSafeBlobKey(key) || !deps.signer.verify(`/files/${key}`, expires, signature)) {
      return reply.code(403).send({ code: 403, msg: 'This link is invalid or has expired', data: null });
    }
    return reply.header('cache-control', 'private, max-age=3600').sendFile(key);
  };
  // Fastify answers HEAD from this GET route too.
  app.get('/files/*', serve);
}
