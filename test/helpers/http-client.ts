import fs from 'node:fs';
import { waitFor } from './wait-for.js';

export { freePort } from '../../bench/bench-support.js';

/** A Veo-dialect client over real HTTP, as a user's code would call Segue. */
export class VeoClient {
  constructor(
    readonly baseUrl: string,
    readonly key: string,
  ) {}

  async post(path: string, body: unknown): Promise<{ code: number; msg: string; data: any }> {
    const response = await fetch(`${this.baseUrl}${path}`, {
      method: 'POST',
      headers: { authorization: `Bearer ${this.key}`, 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
    return (await response.json()) as { code: number; msg: string; data: any };
  }

  async recordInfo(taskId: string): Promise<{ code: number; msg: string; data: any }> {
    const response = await fetch(`${this.baseUrl}/api/v1/veo/record-info?taskId=${taskId}`, {
      headers: { authorization: `Bearer ${this.key}` },
    });
    return (await response.json()) as { code: number; msg: string; data: any };
  }

  /** Polls record-info until the task leaves successFlag 0; returns the final data. */
  async waitUntilDone(taskId: string, timeoutMs = 120_000): Promise<any> {
    return waitFor(
      `task ${taskId} to finish`,
      async () => {
        const info = await this.recordInfo(taskId);
        return info.code === 200 && info.data.successFlag !== 0 ? info.data : undefined;
      },
      { timeoutMs, intervalMs: 200 },
    );
  }
}

export async function download(url: string, destination: string): Promise<void> {
  const response = await fetch(url);
  if (response.status !== 200) throw new Error(`download of ${url} answered ${response.status}`);
  fs.writeFileSync(destination, Buffer.from(await response.arrayBuffer()));
}
