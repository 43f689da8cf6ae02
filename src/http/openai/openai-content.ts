import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { InvalidStateError, NotFoundError } from '../../domain/errors.js';
import type { BlobStore } from '../../ports/blob-store.js';
import type { TaskService } from '../../services/task-service.js';
import { POLLED_ROUTE, requireOwnedTask } from '../auth.js';
import { rangeStillApplies, requestedRange } from '../files/range-requests.js';
import { routeDocs } from '../openapi.js';
import { contentQuery, videoParams } from './openai-requests.js';
import { openAiResponses } from './openai-responses.js';

/**
 * `GET /v1/videos/{video_id}/content?variant=video|thumbnail`: the bytes of a completed video (or
 * its thumbnail), streamed from the blob store with one HTTP range at a time, authenticated by the
 * key that owns it (no signed link needed). HEAD answers the same headers without reading the blob.
 */
export function contentRoute(app: FastifyInstance, deps: { readonly tasks: TaskService; readonly blobs: BlobStore }): void {
  type ContentRequest = FastifyRequest<{ Params: { video_id: string }; Querystring: { variant: 'video' | 'thumbnail' } }>;
  const serve = async (request: ContentRequest, reply: FastifyReply) => {
    const task = await requireOwnedTask(deps.tasks, request, request.params.video_id);
    if (task.state === 'failed') throw new NotFoundError('the video failed and has no content');
    if (task.state !== 'succeeded' || !task.result) throw new InvalidStateError('The video is not ready yet: download it once its status is completed.');
    const key = request.query.variant === 'thumbnail' ? task.result.posterKey : task.result.videoKey;
    const info = await deps.blobs.stat(key);
    if (!info) throw new NotFoundError('the video content is gone');
    reply.header('accept-ranges', 'bytes').header('etag', info.etag).header('last-modified', info.lastModified.toUTCString());
    const range = rangeStillApplies(request.headers, info) ? requestedRange(request.headers.range, info.size) : undefined;
    if (range === 'unsatisfiable') return reply.code(416).header('content-range', `bytes */${info.size}`).send();
    reply.type(info.contentType).header('content-length', range ? range.end - range.start + 1 : info.size);
    if (range) reply.code(206).header('content-range', `bytes ${range.start}-${range.end}/${info.size}`);
    if (request.method === 'HEAD') return reply.send();
    const opened = await deps.blobs.openRead(key, range);
    if (!opened) throw new NotFoundError('the video content is gone');
    return reply.send(opened.body);
  };
  // HEAD is declared, not derived from GET: Fastify's derived HEAD would read the whole body to throw it away.
  app.withTypeProvider<ZodTypeProvider>().route({
    method: ['GET', 'HEAD'],
    url: '/videos/:video_id/content',
    ...POLLED_ROUTE,
    schema: {
      ...routeDocs.openai,
      summary: 'Download a video or its thumbnail (HTTP Range supported)',
      params: videoParams,
      querystring: contentQuery,
      response: openAiResponses.content,
    },
    handler: serve,
  });
}
