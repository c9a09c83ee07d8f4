/**
 * The bound on what the hub holds for one socket that does not read (a slow consumer).
 *
 * Socket.IO never refuses an emit: what the client does not take piles up in the hub's memory,
 * first in the `ws` WebSocket's buffer and its `net.Socket`'s writable buffer (once the
 * kernel's are full), then in the Engine.IO socket's `writeBuffer` (the frames waiting while the
 * transport is still writing the last batch). A client that completes the handshake and stops
 * reading (answering the heartbeat or not) makes these grow without end. Past the bound the hub
 * closes the connection at once: it resets the TCP connection (so the kernel's buffers are freed
 * too, not only the process's) and closes the Engine.IO socket discarding its queue. Nothing can
 * be said to such a client (a frame would wait behind the others): it sees its connection end,
 * reconnects and syncs from its cursor (docs/PROTOCOL.md §5.2).
 */
import type { HubSocket } from './socket-types.js';

/** The bound of one socket. */
export interface OutboundBound {
  /** Bytes of frames held for the socket (the frames' characters; they are JSON, nearly all ASCII). */
  maxBytes: number;
  /** Frames held for the socket, the heartbeat's included. */
  maxFrames: number;
}

/** What the hub held for the socket when it passed its bound, and which limit it passed. */
export interface OutboundHeld {
  bytes: number;
  frames: number;
  limit: 'bytes' | 'frames';
}

/** An Engine.IO packet as its `packetCreate` event gives it. */
interface EnginePacket {
  data?: string | Buffer | ArrayBuffer;
}

/** The `ws` WebSocket of Engine.IO's websocket transport (ws 8). */
interface WebSocketView {
  /** Bytes in ws's own queue and its net.Socket's writable buffer. */
  readonly bufferedAmount: number;
  /** The TCP connection (private in ws's typings). */
  readonly _socket?: { resetAndDestroy?(): unknown };
  terminate(): void;
}

/**
 * The part of the Engine.IO socket (engine.io 6) read here; `writeBuffer` and the transport's
 * `socket` are private in its typings.
 */
interface EngineConnectionView {
  readonly writeBuffer: readonly EnginePacket[];
  readonly transport: { readonly name: string; readonly writable: boolean; readonly socket?: WebSocketView };
  on(event: 'packetCreate', listener: (packet: EnginePacket) => void): unknown;
  on(event: 'flush', listener: (batch: readonly EnginePacket[]) => void): unknown;
  close(discard?: boolean): unknown;
}

function sizeOf(packet: EnginePacket): number {
  const { data } = packet;
  if (data === undefined) return 0;
  return typeof data === 'string' ? data.length : data.byteLength;
}

/**
 * Watches every frame the hub queues for `socket`; once what it holds for it (Engine.IO's queue,
 * the batch its transport is writing, and on a WebSocket ws's and the TCP socket's buffers)
 * passes `bound`, calls `onDropped` once and closes the connection (see the module's comment).
 */
export function boundOutbound(socket: HubSocket, bound: OutboundBound, onDropped: (held: OutboundHeld) => void): void {
  const conn = socket.conn as unknown as EngineConnectionView;
  /** Bytes of the frames in `writeBuffer` (it is emptied at each flush). */
  let queuedBytes = 0;
  /** Frames of the batch last handed to the transport, held until it is writable again. */
  let batchFrames = 0;
  let dropped = false;

  conn.on('flush', (batch) => {
    queuedBytes = 0;
    batchFrames = batch.length;
  });
  // Emitted for each frame before it joins writeBuffer.
  conn.on('packetCreate', (packet) => {
    if (dropped) return;
    queuedBytes += sizeOf(packet);
    const { transport } = conn;
    const frames = conn.writeBuffer.length + 1 + (transport.writable ? 0 : batchFrames);
    const bytes = queuedBytes + (transport.name === 'websocket' ? (transport.socket?.bufferedAmount ?? 0) : 0);
    const limit = bytes > bound.maxBytes ? 'bytes' : frames > bound.maxFrames ? 'frames' : undefined;
    if (limit === undefined) return;
    dropped = true;
    onDropped({ bytes, frames, limit });
    if (transport.name === 'websocket') {
      const ws = transport.socket;
      // A reset, not a FIN: the kernel would otherwise keep the unread data for a peer that never takes it.
      if (ws?._socket?.resetAndDestroy) ws._socket.resetAndDestroy();
      else ws?.terminate();
    }
    // Outside the emit that is queuing this frame (a room broadcast may be walking its sockets).
    process.nextTick(() => conn.close(true));
  });
}
