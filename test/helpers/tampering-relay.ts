import { once } from 'node:events';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Server } from 'socket.io';
import { io as connectUpstream, type Socket as UpstreamSocket } from 'socket.io-client';

/**
 * Rewrites one event on its way through the relay: return the (possibly changed) arguments,
 * or `null` to drop the event. Acknowledgement callbacks are not part of `args`.
 */
export type Tamper = (event: string, args: unknown[]) => unknown[] | null;

/** Rewrites the hub's answer to a client request. */
export type TamperAck = (event: string, answer: unknown) => unknown;

/**
 * A man in the middle between SDK clients and the hub: a real Socket.IO server that opens a
 * real Socket.IO client to the hub for each connection and forwards every event both ways,
 * letting a test alter, drop, replay or reorder what passes — what a hub taken over could do.
 */
export interface TamperingRelay {
  url: string;
  /** Applied to hub -> client events. */
  toClient: Tamper;
  /** Applied to client -> hub events (requests). */
  toHub: Tamper;
  /** Applied to the hub's acknowledgements of client requests. */
  ackToClient: TamperAck;
  /** Sends an event to every connected client as if the hub had sent it. */
  inject(event: string, ...args: unknown[]): void;
  close(): Promise<void>;
}

export async function startTamperingRelay(hubUrl: string): Promise<TamperingRelay> {
  const http = createServer();
  const server = new Server(http, { serveClient: false });
  const upstreams = new Set<UpstreamSocket>();
  const relay: TamperingRelay = {
    url: '',
    toClient: (_event, args) => args,
    toHub: (_event, args) => args,
    ackToClient: (_event, answer) => answer,
    inject: (event, ...args) => {
      server.emit(event, ...args);
    },
    close: async () => {
      for (const upstream of upstreams) upstream.close();
      await server.close();
    },
  };

  server.use((client, next) => {
    const upstream = connectUpstream(hubUrl, {
      auth: client.handshake.auth,
      transports: ['websocket'],
      reconnection: false,
      forceNew: true,
    });
    upstreams.add(upstream);
    upstream.once('connect', () => {
      (client.data as { upstream?: UpstreamSocket }).upstream = upstream;
      next();
    });
    upstream.once('connect_error', (error) => {
      upstreams.delete(upstream);
      upstream.close();
      next(Object.assign(new Error(error.message), { data: (error as { data?: unknown }).data }));
    });
    // Events that arrive before the relay's client socket is connected are buffered.
    const early: Array<[string, unknown[]]> = [];
    (client.data as { early?: typeof early }).early = early;
    upstream.onAny((event: string, ...args: unknown[]) => {
      const socket = (client.data as { socket?: { emit: (e: string, ...a: unknown[]) => void } }).socket;
      if (socket) forward(socket, event, args);
      else early.push([event, args]);
    });
  });

  const forward = (socket: { emit: (e: string, ...a: unknown[]) => void }, event: string, args: unknown[]) => {
    const changed = relay.toClient(event, args);
    if (changed) socket.emit(event, ...changed);
  };

  server.on('connection', (client) => {
    const data = client.data as { upstream: UpstreamSocket; socket?: unknown; early: Array<[string, unknown[]]> };
    data.socket = client;
    for (const [event, args] of data.early.splice(0)) forward(client, event, args);
    client.onAny((event: string, ...args: unknown[]) => {
      const ack = typeof args.at(-1) === 'function' ? (args.pop() as (answer: unknown) => void) : undefined;
      const changed = relay.toHub(event, args);
      if (!changed) return;
      if (ack) data.upstream.emit(event, ...changed, (answer: unknown) => ack(relay.ackToClient(event, answer)));
      else data.upstream.emit(event, ...changed);
    });
    client.on('disconnect', () => {
      data.upstream.close();
      upstreams.delete(data.upstream);
    });
    data.upstream.on('disconnect', () => client.disconnect(true));
  });

  http.listen(0, '127.0.0.1');
  await once(http, 'listening');
  relay.url = `http://127.0.0.1:${(http.address() as AddressInfo).port}`;
  return relay;
}
