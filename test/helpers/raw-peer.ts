import net from 'node:net';

/** The first line of a request a raw peer received. */
export interface RequestLine {
  readonly method: string;
  readonly path: string;
}

/** What a raw peer does with a connection once a request head has arrived on it. */
export type PeerBehaviour = (socket: net.Socket, request: RequestLine) => void;

/** A real TCP server on 127.0.0.1 that answers with hand-written bytes, one request per connection. */
export interface RawPeer {
  readonly url: string;
  /** Changes what every later connection gets. */
  behave(behaviour: PeerBehaviour): void;
  /** Ends every open connection (a drip still running, a body the client left unread). */
  dropConnections(): void;
  close(): Promise<void>;
}

export async function startRawPeer(initial: PeerBehaviour): Promise<RawPeer> {
  let behaviour = initial;
  const sockets = new Set<net.Socket>();
  const server = net.createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    // The client hangs up on misbehaviour; writes after that fail here, harmlessly.
    socket.on('error', () => undefined);
    let head = '';
    const onData = (chunk: Buffer) => {
      head += chunk.toString('latin1');
      if (!head.includes('\r\n\r\n')) return;
      socket.off('data', onData);
      const [method = '', path = ''] = head.split('\r\n')[0]!.split(' ');
      behaviour(socket, { method, path });
    };
    socket.on('data', onData);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const dropConnections = () => {
    for (const socket of sockets) socket.destroy();
  };
  return {
    url: `http://127.0.0.1:${(server.address() as net.AddressInfo).port}`,
    behave: (next) => (behaviour = next),
    dropConnections,
    close: async () => {
      dropConnections();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}

/** A response head: `status` is the whole status line after the version, e.g. `200 OK`. */
export function responseHead(status: string, headers: Record<string, string | number>, version = 'HTTP/1.1'): string {
  const lines = Object.entries({ connection: 'close', ...headers }).map(([name, value]) => `${name}: ${value}\r\n`);
  return `${version} ${status}\r\n${lines.join('')}\r\n`;
}

/** Writes `text` one byte every `everyMs`, until it is written or the connection ends. */
export function drip(socket: net.Socket, text: string, everyMs: number): void {
  let index = 0;
  const timer = setInterval(() => {
    if (index >= text.length || socket.destroyed) return void clearInterval(timer);
    socket.write(text[index++]!);
  }, everyMs);
  socket.once('close', () => clearInterval(timer));
}
