import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { FastifyReply } from 'fastify';

const contentTypes: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
};

/** One file served as it is shipped. */
export interface StaticAsset {
  readonly body: Buffer;
  readonly contentType: string;
}

/** The repository's root (this file runs as dist/src/http/static-assets.js). */
export const packageRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', '..');

/**
 * The files of a folder shipped in the repository (and its subfolders), read once, by their path
 * relative to it with `/` separators: what a route may serve is exactly this list, so no request
 * path ever reaches the file system.
 */
export function loadAssets(folder: string): ReadonlyMap<string, StaticAsset> {
  const assets = new Map<string, StaticAsset>();
  const visit = (directory: string, prefix: string) => {
    for (const entry of fs.readdirSync(directory, { withFileTypes: true })) {
      const name = `${prefix}${entry.name}`;
      if (entry.isDirectory()) visit(path.join(directory, entry.name), `${name}/`);
      const contentType = contentTypes[path.extname(entry.name)];
      if (entry.isFile() && contentType) assets.set(name, { body: fs.readFileSync(path.join(directory, entry.name)), contentType });
    }
  };
  visit(folder, '');
  return assets;
}

/** Sends a shipped file with headers that let no browser guess its type or frame it. */
export function sendAsset(reply: FastifyReply, asset: StaticAsset, cacheControl = 'no-cache'): FastifyReply {
  return reply
    .type(asset.contentType)
    .header('cache-control', cacheControl)
    .header('x-content-type-options', 'nosniff')
    .header('cross-origin-resource-policy', 'same-origin')
    .send(asset.body);
}
