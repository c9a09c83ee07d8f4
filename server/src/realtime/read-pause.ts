import type { HubSocket } from './socket-types.js';

/** What pausing a socket's reads needs of its transport: `ws`'s WebSocket (Engine.IO's `websocket` transport). */
interface PausableTransport {
  socket?: { pause?: () => void; resume?: () => void };
}

/**
 * Stops reading a connection for a while, and reads it again after: what it sends meanwhile
 * waits in the kernel's buffers (then in the client's), costing the hub nothing, so that a
 * client that sends again at once instead of waiting its `retryAfter` is slowed down by TCP
 * itself rather than answered frame after frame. Only the `websocket` transport can pause (a
 * long-polling connection is left as it is); a pause already running is not extended.
 */
export class ReadPause {
  private readonly socket: HubSocket;
  #timer: NodeJS.Timeout | undefined;
  /** Reads the connection again (while paused). */
  #resume: (() => void) | undefined;

  constructor(socket: HubSocket) {
    this.socket = socket;
    socket.once('disconnect', () => this.#end());
  }

  /** Stops reading the connection for `ms` (unless it is paused already). */
  pause(ms: number): void {
    if (this.#timer !== undefined || !this.socket.connected) return;
    const ws = (this.socket.conn.transport as unknown as PausableTransport).socket;
    if (typeof ws?.pause !== 'function' || typeof ws.resume !== 'function') return;
    ws.pause();
    this.#resume = () => ws.resume?.();
    this.#timer = setTimeout(() => this.#end(), ms);
    this.#timer.unref();
  }

  #end(): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
    const resume = this.#resume;
    this.#resume = undefined;
    resume?.();
  }
}
