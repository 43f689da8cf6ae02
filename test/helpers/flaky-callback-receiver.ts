import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { SeededRandom } from './seeded-random.js';

/** What the receiver does to one request of a delivery. */
export type ReceiverFault = 'answer-500' | 'drop-connection';

/** One request the receiver got, and what it did with it. */
export interface ReceiverRequest {
  readonly webhookId: string;
  /** 1-based count of requests seen with this webhook-id (interrupted ones included). */
  readonly attempt: number;
  readonly taskId: string | undefined;
  readonly body: any;
  readonly outcome: ReceiverFault | 'accepted';
  readonly receivedAt: number;
}

/**
 * A callback receiver that misbehaves on purpose, the way real receivers do: the first attempt(s)
 * of some deliveries answer 500 or lose the connection; later attempts are accepted (200). Which
 * deliveries fail, and how, is drawn from `random` when a webhook-id is first seen, so a run
 * replays from its seed. Like a well-behaved receiver it dedupes by `webhook-id`: `accepted`
 * holds the first accepted body of each delivery; `duplicateAccepts` counts re-deliveries of a
 * delivery it had already accepted (allowed: delivery is at least once).
 *
 * `holdNext()` lets a test catch the next request in flight: the receiver keeps it unanswered
 * until the returned `release` is called, then accepts it (if the connection still stands).
 */
export async function startFlakyCallbackReceiver(random: SeededRandom) {
  const requests: ReceiverRequest[] = [];
  const faultPlans = new Map<string, ReceiverFault[]>();
  const attempts = new Map<string, number>();
  const accepted = new Map<string, { taskId: string | undefined; body: any }>();
  let duplicateAccepts = 0;
  let holder: ((release: () => void) => void) | undefined;

  const planFor = (webhookId: string): ReceiverFault[] => {
    let plan = faultPlans.get(webhookId);
    if (!plan) {
      const draw = random.next();
      plan = draw < 0.45 ? [] : draw < 0.7 ? ['answer-500'] : draw < 0.9 ? ['drop-connection'] : ['answer-500', 'drop-connection'];
      faultPlans.set(webhookId, plan);
    }
    return plan;
  };

  const server = http.createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      const rawBody = Buffer.concat(chunks).toString('utf8');
      let body: any;
      try {
        body = JSON.parse(rawBody);
      } catch {
        body = rawBody;
      }
      const webhookId = String(request.headers['webhook-id'] ?? '');
      const attempt = (attempts.get(webhookId) ?? 0) + 1;
      attempts.set(webhookId, attempt);
      const taskId: string | undefined = body?.data?.taskId ?? body?.data?.task_id;
      const fault = planFor(webhookId)[attempt - 1];
      const record = (outcome: ReceiverRequest['outcome']) =>
        requests.push({ webhookId, attempt, taskId, body, outcome, receivedAt: Date.now() });

      const accept = () => {
        if (accepted.has(webhookId)) duplicateAccepts++;
        else accepted.set(webhookId, { taskId, body });
        record('accepted');
        if (!response.destroyed) response.writeHead(200, { 'content-type': 'application/json' }).end('{"code":200,"msg":"success"}');
      };
      if (fault === 'answer-500') {
        record(fault);
        response.writeHead(500, { 'content-type': 'application/json' }).end('{"error":"try again"}');
      } else if (fault === 'drop-connection') {
        record(fault);
        request.socket.destroy();
      } else if (holder) {
        const hold = holder;
        holder = undefined;
        let answered = false;
        const release = () => {
          if (answered) return;
          answered = true;
          pendingReleases.delete(release);
          accept();
        };
        pendingReleases.add(release);
        hold(release);
      } else {
        accept();
      }
    });
  });
  const pendingReleases = new Set<() => void>();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;

  return {
    port,
    url: `http://127.0.0.1:${port}/callback`,
    requests,
    /** Accepted deliveries by webhook-id (each counted once). */
    accepted,
    get duplicateAccepts() {
      return duplicateAccepts;
    },
    /**
     * Resolves when the next request that would be accepted arrives (it is held unanswered), with a
     * function that lets the receiver answer it; undefined if none arrives within `timeoutMs`.
     */
    holdNext(timeoutMs: number): Promise<{ release: () => void } | undefined> {
      return new Promise((resolve) => {
        const timer = setTimeout(() => {
          holder = undefined;
          resolve(undefined);
        }, timeoutMs);
        holder = (release) => {
          clearTimeout(timer);
          resolve({ release });
        };
      });
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const release of [...pendingReleases]) release();
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
