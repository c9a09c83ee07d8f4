import { once } from 'node:events';
import { connect, createServer, type Server, type Socket } from 'node:net';

/** A TCP load balancer in front of several hub nodes (see {@link startTcpBalancer}). */
export interface TcpBalancer {
  /** `http://127.0.0.1:<port>`, for the clients. */
  url: string;
  port: number;
  /** Per backend port, the connections forwarded to it so far (each with the time it was made, ms since the epoch). */
  readonly forwarded: ReadonlyMap<number, readonly number[]>;
  /** Stops listening and destroys every connection. */
  close(): Promise<void>;
}

/**
 * Starts a TCP proxy on 127.0.0.1 (port 0) that forwards each new connection to the first of
 * `backends` (ports on 127.0.0.1) that accepts it, as nginx or HAProxy with a primary and
 * backups does: while the first node lives every client is on it; once it is gone, a refused
 * connect moves on to the next. A connection is never moved: when its backend goes away it is
 * closed, and the client must connect again (the SDK's own reconnect). Real sockets, no HTTP
 * parsing, so a WebSocket passes as it is.
 */
export async function startTcpBalancer(backends: number[]): Promise<TcpBalancer> {
  const forwarded = new Map<number, number[]>(backends.map((port) => [port, []]));
  const sockets = new Set<Socket>();
  const server: Server = createServer({ pauseOnConnect: true }, (client) => {
    sockets.add(client);
    client.once('close', () => sockets.delete(client));
    client.on('error', () => client.destroy());
    const tryBackend = (index: number) => {
      const port = backends[index];
      if (port === undefined || client.destroyed) {
        client.destroy();
        return;
      }
      const upstream = connect({ host: '127.0.0.1', port });
      sockets.add(upstream);
      upstream.once('close', () => sockets.delete(upstream));
      const refused = () => {
        upstream.destroy();
        tryBackend(index + 1);
      };
      upstream.once('error', refused);
      upstream.once('connect', () => {
        upstream.off('error', refused);
        forwarded.get(port)?.push(Date.now());
        // Either side gone (a node killed, a client closed): the other goes too, as a proxy does.
        upstream.on('error', () => client.destroy());
        upstream.once('close', () => client.destroy());
        client.once('close', () => upstream.destroy());
        client.pipe(upstream);
        upstream.pipe(client);
        client.resume();
      });
    };
    tryBackend(0);
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('the balancer has no TCP address');
  return {
    url: `http://127.0.0.1:${address.port}`,
    port: address.port,
    forwarded,
    async close() {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      for (const socket of sockets) socket.destroy();
      await closed;
    },
  };
}
