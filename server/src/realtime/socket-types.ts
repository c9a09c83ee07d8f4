import type { ClientToServerEvents, ServerToClientEvents } from '@ncp-hub/protocol';
import type { Server, Socket } from 'socket.io';
import type { ConnectionContext } from './connection-context.js';

/** What the hub keeps on each authenticated socket. */
export interface SocketData {
  /** Who this connection is and which device, resolved once at the handshake. */
  connection: ConnectionContext;
  /** The token the connection was accepted with, to check again when the registry changes. Never logged. */
  token: string;
}

/** Hub nodes send nothing to one another but room broadcasts. */
export type InterServerEvents = Record<string, never>;
/** The hub's Socket.IO server, typed by the protocol's event maps. */
export type HubServer = Server<ClientToServerEvents, ServerToClientEvents, InterServerEvents, SocketData>;
/** One authenticated socket of the hub. */
export type HubSocket = Socket<ClientToServerEvents, ServerToClientEvents, InterServerEvents, SocketData>;
