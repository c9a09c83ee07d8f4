import { once } from 'node:events';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { ClientToServerEvents, HubErrorBody, ServerToClientEvents, SessionWelcome } from '@ncp-hub/protocol';
import { EVENTS } from '@ncp-hub/protocol';
import { io, type Socket } from 'socket.io-client';

export type ClientSocket = Socket<ServerToClientEvents, ClientToServerEvents>;

const open = new Set<ClientSocket>();

/** A raw Socket.IO client (websocket only, no reconnection), not yet connected. */
export function createSocket(
  url: string,
  auth: Record<string, unknown>,
  extraHeaders?: Record<string, string>,
): ClientSocket {
  const socket: ClientSocket = io(url, {
    auth,
    transports: ['websocket'],
    reconnection: false,
    forceNew: true,
    autoConnect: false,
    ...(extraHeaders ? { extraHeaders } : {}),
  });
  open.add(socket);
  return socket;
}

/** Connects with `token`; resolves with the socket and the hub's welcome, or rejects with `err.data`. */
export function connectOfficer(url: string, token: string): Promise<{ socket: ClientSocket; welcome: SessionWelcome }> {
  const socket = createSocket(url, { token });
  return new Promise((resolve, reject) => {
    socket.once(EVENTS.sessionWelcome, (welcome) => resolve({ socket, welcome }));
    socket.once('connect_error', (error) =>
      reject(Object.assign(new Error(error.message), { data: (error as { data?: unknown }).data })),
    );
    socket.connect();
  });
}

/** Connects with `auth` (and headers) and returns the `connect_error` body; fails if the hub accepts. */
export function refusal(
  url: string,
  auth: Record<string, unknown>,
  extraHeaders?: Record<string, string>,
): Promise<HubErrorBody> {
  const socket = createSocket(url, auth, extraHeaders);
  return new Promise((resolve, reject) => {
    socket.once('connect', () => reject(new Error('the hub accepted a connection it should have refused')));
    socket.once('connect_error', (error) => resolve((error as { data?: HubErrorBody }).data as HubErrorBody));
    socket.connect();
  });
}

/** Closes every socket the helpers opened. */
export function closeAllSockets(): void {
  for (const socket of open) socket.close();
  open.clear();
}

/** A port on 127.0.0.1 that nothing listens on (it was free a moment ago). */
export async function closedPort(): Promise<number> {
  const server = createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}
