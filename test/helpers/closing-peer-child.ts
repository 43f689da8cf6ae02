/**
 * Run as a child process by `peer-misbehaviour.test.ts`: downloads, several times and through
 * every downloading client, a few megabytes from an HTTP/1.0 server that writes the whole body
 * and closes at once, while the file writes hold the client back. A client that crashes on the
 * close takes this process down; a sound one prints one line per download and exits 0.
 */
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { SafeHttpClient } from '../../src/net/safe-http.js';
import { GeminiClient } from '../../src/providers/gemini/gemini-client.js';

const size = 8 * 1024 * 1024;
const rounds = 5;

const server = net.createServer((socket) => {
  socket.on('error', () => undefined);
  socket.once('data', () => {
    socket.write(`HTTP/1.0 200 OK\r\nContent-Type: video/mp4\r\nContent-Length: ${size}\r\n\r\n`);
    socket.end(Buffer.alloc(size, 7));
  });
});
await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
const base = `http://127.0.0.1:${(server.address() as net.AddressInfo).port}`;
const directory = fs.mkdtempSync(path.join(os.tmpdir(), 'segue-closing-peer-'));
const media = new SafeHttpClient({ allowPrivateNetworks: true });
const gemini = new GeminiClient({ baseUrl: base, apiKey: 'AIza-closing-peer', timeoutMs: 10_000, maxDownloadBytes: 2 * size });
try {
  for (let round = 0; round < rounds; round++) {
    const file = path.join(directory, `media-${round}`);
    const { bytes } = await media.download(`${base}/clip.mp4`, file, { maxBytes: 2 * size, timeoutMs: 10_000 });
    console.log(`media ${bytes} ${fs.statSync(file).size}`);
  }
  for (let round = 0; round < rounds; round++) {
    const file = path.join(directory, `gemini-${round}`);
    await gemini.download(`${base}/v1beta/files/clip:download?alt=media`, file, AbortSignal.timeout(10_000));
    console.log(`gemini ${fs.statSync(file).size}`);
  }
} finally {
  await Promise.all([media.close(), gemini.close()]);
  server.close();
  fs.rmSync(directory, { recursive: true, force: true });
}
