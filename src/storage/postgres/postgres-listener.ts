import pg from 'pg';
import type { Logger } from 'pino';

const FIRST_RETRY_MS = 100;
const LAST_RETRY_MS = 5000;

/**
 * One dedicated connection (outside the pool: a pooled one would be handed to queries) that
 * LISTENs on the channels asked for and calls their handlers on every notification. A connection
 * that drops or cannot be made is replaced, with a pause that doubles up to 5 s; after each
 * reconnection every handler is called once, for the notifications sent while it was away.
 */
export class PostgresListener {
  readonly #handlers = new Map<string, Array<() => void>>();
  #client: pg.Client | undefined;
  #connecting: Promise<void> | undefined;
  #retryTimer: NodeJS.Timeout | undefined;
  #retryMs = FIRST_RETRY_MS;
  #closed = false;

  constructor(
    private readonly config: pg.ClientConfig,
    private readonly logger: Logger,
  ) {}

  /** Resolves once listening on `channel`, or once the first attempt to connect failed (it keeps trying). */
  async listen(channel: string, onNotify: () => void): Promise<void> {
    this.#handlers.set(channel, [...(this.#handlers.get(channel) ?? []), onNotify]);
    if (!this.#client && !this.#retryTimer) await (this.#connecting ??= this.#connect(false));
    // LISTEN twice is harmless; a failure is a dropped connection, and reconnecting listens on every channel.
    await this.#client?.query(`listen ${pg.escapeIdentifier(channel)}`).catch(() => {});
  }

  /** Whether the connection is up and listening (notifications sent while it is not are missed). */
  isListening(): boolean {
    return this.#client !== undefined;
  }

  async close(): Promise<void> {
    this.#closed = true;
    clearTimeout(this.#retryTimer);
    await this.#connecting;
    const client = this.#client;
    this.#client = undefined;
    await client?.end();
  }

  async #connect(reconnecting: boolean): Promise<void> {
    const client = new pg.Client(this.config);
    client.on('notification', (message) => this.#notify(message.channel));
    client.on('error', (error) => this.#lost(client, error));
    client.on('end', () => this.#lost(client));
    try {
      await client.connect();
      for (const channel of this.#handlers.keys()) await client.query(`listen ${pg.escapeIdentifier(channel)}`);
    } catch (error) {
      this.logger.warn({ err: error }, 'cannot listen for database notifications; trying again');
      client.end().catch(() => {});
      this.#retryLater();
      return;
    } finally {
      this.#connecting = undefined;
    }
    if (this.#closed) return void (await client.end());
    this.#client = client;
    this.#retryMs = FIRST_RETRY_MS;
    if (reconnecting) for (const channel of this.#handlers.keys()) this.#notify(channel);
  }

  #notify(channel: string): void {
    for (const handler of this.#handlers.get(channel) ?? []) handler();
  }

  #lost(client: pg.Client, error?: Error): void {
    if (client !== this.#client) return;
    this.#client = undefined;
    this.logger.warn({ err: error }, 'the database notification connection dropped; reconnecting');
    client.end().catch(() => {});
    this.#retryLater();
  }

  #retryLater(): void {
    if (this.#closed || this.#retryTimer) return;
    this.#retryTimer = setTimeout(() => {
      this.#retryTimer = undefined;
      this.#connecting = this.#connect(true);
    }, this.#retryMs);
    this.#retryTimer.unref();
    this.#retryMs = Math.min(LAST_RETRY_MS, this.#retryMs * 2);
  }
}
