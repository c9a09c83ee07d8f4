import {
  type Ack,
  ClientError,
  type ClientEventName,
  type ClientEventResult,
  type ClientToServerEvents,
  type DeviceId,
  EVENTS,
  type HubError,
  hubErrorFromBody,
  type ServerToClientEvents,
  type SessionWelcome,
} from '@ncp-hub/protocol';
import { io, type ManagerOptions, type Socket, type SocketOptions } from 'socket.io-client';
import { TypedEmitter } from '../typed-emitter.js';

type ClientSocket = Socket<ServerToClientEvents, ClientToServerEvents>;

/**
 * The arguments of a client event before its ack callback: socket.io-client's own
 * `AllButLast` (which it does not export), so that {@link Connection.request} passes them to
 * `emitWithAck` exactly as socket.io types them, without a cast.
 */
// biome-ignore lint/suspicious/noExplicitAny: the same definition as socket.io-client's, to be the same type
type AllButLast<T extends any[]> = T extends [...infer H, infer _L] ? H : any[];

/** What a request of event `E` sends: its payload. */
export type RequestArgs<E extends ClientEventName> = AllButLast<Parameters<ClientToServerEvents[E]>>;

/** What the parts of the SDK need of the connection: requests, and whether it is up. */
export interface HubRequester {
  /** Whether the socket is connected now. */
  readonly connected: boolean;
  /**
   * Sends client event `E` and resolves with the hub's answer; rejects with the hub's error
   * (`hubErrorFromBody`), `NOT_CONNECTED` or `REQUEST_TIMEOUT`. A `BUSY` refusal (the hub did
   * nothing for it) is sent again as it was after its `retryAfter`, for `requestTimeoutMs` of
   * waiting at most, before it is the answer. It sends nothing when
   * {@link HubRequester.connected} is false as it is called; a `NOT_CONNECTED` otherwise means
   * the connection was lost and the request may have gone out (or was still waiting its turn).
   */
  request<E extends ClientEventName>(event: E, ...payload: RequestArgs<E>): Promise<ClientEventResult<E>>;
}

/** Options of a {@link Connection}. */
export interface ConnectionOptions {
  url: string;
  token: string | (() => string | Promise<string>);
  device: DeviceId;
  /** How long a request waits for its answer before `REQUEST_TIMEOUT`, in milliseconds. */
  requestTimeoutMs: number;
  /** How many requests may wait for their answer at once; more wait their turn here. */
  maxConcurrentRequests: number;
  /** How long {@link Connection.open} tries to reach the hub before `HUB_UNREACHABLE`, in milliseconds. */
  connectTimeoutMs: number;
  socket?: Partial<ManagerOptions & SocketOptions> | undefined;
}

/**
 * The `disconnected` reason once socket.io has given up reconnecting (its `reconnectionAttempts`
 * used up), with a `HUB_UNREACHABLE` error: nothing is tried any more.
 * @example
 * ```ts
 * client.on('disconnected', (reason) => reason === RECONNECT_FAILED && setTimeout(() => client.connect().catch(report), 60_000));
 * ```
 */
export const RECONNECT_FAILED = 'reconnect failed';

/** Events of a {@link Connection}: the hub's events as they arrive, and the connection's state. */
export type ConnectionEvents = Omit<ServerToClientEvents, 'session:expired'> & {
  /**
   * The connection was lost (`reason` as socket.io gives it); socket.io reconnects by itself.
   * `error` says why when the hub ended the session (the body of its `session:expired`: an
   * `AuthError`), and once socket.io gave up reconnecting (reason {@link RECONNECT_FAILED},
   * `HUB_UNREACHABLE`: nothing is tried any more).
   */
  disconnected: (reason: string, error?: HubError) => void;
  /** After the first welcome: a reconnection the hub refused, or a token that could not be had. */
  error: (error: unknown) => void;
};

/** The `retryAfter` (ms) of a `BUSY` refusal, which asks for the same request again later; undefined for anything else. */
function busyRetryAfter(error: unknown): number | undefined {
  const { code, retryAfter } = error as Partial<HubError>;
  return code === 'BUSY' && typeof retryAfter === 'number' ? retryAfter : undefined;
}

/** socket.io-client's message for an ack that did not come in time (`ackTimeout`). */
const SOCKET_IO_TIMEOUT = 'operation has timed out';

/**
 * The socket to the hub, and the one place where requests go out: one typed
 * {@link Connection.request} with its timeout, and every failure turned into a hub error.
 * socket.io reconnects by itself after a loss; each accepted (re)connection is announced by
 * the hub's `session:welcome`, re-emitted here. A session that the hub ends (`session:expired`:
 * the token expired, or the registry no longer accepts it) is opened again with a fresh token
 * when the token is a function; a string token cannot be renewed, so the connection then stays down.
 */
export class Connection extends TypedEmitter<ConnectionEvents> implements HubRequester {
  private readonly options: ConnectionOptions;
  #socket: ClientSocket | undefined;
  #abortOpen: ((error: unknown) => void) | undefined;
  /** Requests sent and not yet answered. */
  #inFlight = 0;
  /** Requests waiting for one of those to be answered, first come first served. */
  readonly #waiting: Array<() => void> = [];

  constructor(options: ConnectionOptions, onListenerError: (error: unknown) => void) {
    super(onListenerError);
    this.options = options;
  }

  get connected(): boolean {
    return this.#socket?.connected ?? false;
  }

  /**
   * Connects and resolves with the hub's first welcome. Rejects with `HUB_UNREACHABLE` when
   * the hub cannot be reached within `connectTimeoutMs` (or socket.io gives up before), with
   * the hub's own error (e.g. an `AuthError`) when it refuses (a `BUSY` refusal of an
   * overloaded hub is tried again after its `retryAfter`, and rejects only when
   * `connectTimeoutMs` has passed; on a reconnection it is tried again until it succeeds), with the token function's error
   * when it fails, and with `NOT_CONNECTED` when {@link Connection.close} is called first.
   * Either way nothing is left trying. A connection already open is closed first.
   */
  open(): Promise<SessionWelcome> {
    this.close();
    const { url, token, device, connectTimeoutMs } = this.options;
    return new Promise<SessionWelcome>((resolve, reject) => {
      let settled = false;
      /** Why the hub is ending the session: its `session:expired`, just before it disconnects. */
      let endedBy: HubError | undefined;
      let lastFailure: unknown;
      const fail = (error: unknown) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        this.close();
        reject(error);
      };
      const unreachable = () =>
        fail(
          busyRetryAfter(lastFailure) !== undefined
            ? lastFailure
            : new ClientError('HUB_UNREACHABLE', `the hub could not be reached within ${connectTimeoutMs} ms`, {
                cause: lastFailure,
              }),
        );
      const timer = setTimeout(unreachable, connectTimeoutMs);
      this.#abortOpen = () =>
        fail(new ClientError('NOT_CONNECTED', 'the connection was closed before the hub answered'));

      const socket: ClientSocket = io(url, {
        transports: ['websocket'],
        forceNew: true,
        ...this.options.socket,
        ackTimeout: this.options.requestTimeoutMs,
        auth: (send) => {
          Promise.resolve()
            .then(() => (typeof token === 'function' ? token() : token))
            .then(
              (value) => send({ token: value, device }),
              (error: unknown) => {
                if (!settled) return fail(error);
                this.emit('error', error);
                socket.disconnect();
              },
            );
        },
      });
      this.#socket = socket;

      socket.on(EVENTS.sessionWelcome, (welcome) => {
        endedBy = undefined;
        this.emit(EVENTS.sessionWelcome, welcome);
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        this.#abortOpen = undefined;
        resolve(welcome);
      });
      socket.on('connect_error', (error) => {
        const body = (error as { data?: unknown }).data;
        if (body === undefined) {
          // The hub was not reached (socket.io tries again, with backoff, until the timeout).
          lastFailure = error;
          if (!socket.io.reconnection()) unreachable();
          return;
        }
        const refusal = hubErrorFromBody(body);
        const retryAfter = busyRetryAfter(refusal);
        if (retryAfter !== undefined) {
          // An overloaded hub let nothing in: the handshake is tried again after its retryAfter
          // (socket.io does not retry a refused handshake), until connectTimeoutMs at first
          // (then `open` rejects with this BUSY), for as long as it takes on a reconnection.
          lastFailure = refusal;
          setTimeout(() => {
            if (this.#socket === socket && !socket.connected) socket.connect();
          }, retryAfter);
          return;
        }
        if (!settled) fail(refusal);
        else this.emit('error', refusal);
      });
      socket.io.on('reconnect_failed', () => {
        if (!settled) return unreachable();
        const attempts = socket.io.reconnectionAttempts();
        this.emit(
          'disconnected',
          RECONNECT_FAILED,
          new ClientError('HUB_UNREACHABLE', `the hub could not be reached again in ${attempts} attempts`),
        );
      });
      socket.on(EVENTS.sessionExpired, (body) => {
        endedBy = hubErrorFromBody(body);
      });
      socket.on('disconnect', (reason) => {
        const error = reason === 'io server disconnect' ? endedBy : undefined;
        endedBy = undefined;
        this.emit('disconnected', reason, error);
        // socket.io does not reconnect after the hub ends a session; with a token function a
        // fresh token can open a new one.
        if (error && typeof token === 'function') socket.connect();
      });
      socket.on(EVENTS.conversationItem, (item) => this.emit(EVENTS.conversationItem, item));
      socket.on(EVENTS.conversationUpdated, (update) => this.emit(EVENTS.conversationUpdated, update));
      socket.on(EVENTS.directoryUpdated, (update) => this.emit(EVENTS.directoryUpdated, update));
      socket.on(EVENTS.queryEvent, (event) => this.emit(EVENTS.queryEvent, event));
    });
  }

  /**
   * Sends client event `E` and resolves with the hub's answer (the fields next to `ok: true`).
   * Rejects with the hub's error as its class (`hubErrorFromBody`); with `NOT_CONNECTED` when
   * the socket is not connected (nothing is sent, nothing is queued) or the connection is
   * lost before the answer; with `REQUEST_TIMEOUT` when no answer comes within
   * `requestTimeoutMs` (the hub may still have acted on it). At most `maxConcurrentRequests`
   * wait for an answer at once, so that the hub's bound on requests in flight per socket is not
   * reached; the others wait their turn here (and are `NOT_CONNECTED` if the connection is gone
   * by then). A request the hub refuses with `BUSY` and a `retryAfter` (overloaded, or its store
   * full: it did nothing for it) is sent again, the same, once `retryAfter` has passed, keeping
   * its place meanwhile (so that a busy hub slows this client down); it rejects with that
   * `BUSY` only when waiting once more would take the time waited past `requestTimeoutMs`.
   * The ids in the payload make a request sent again count once (a message is stored once).
   */
  async request<E extends ClientEventName>(event: E, ...payload: RequestArgs<E>): Promise<ClientEventResult<E>> {
    if (!this.#socket?.connected) throw new ClientError('NOT_CONNECTED', 'not connected to the hub');
    if (this.#inFlight >= this.options.maxConcurrentRequests) {
      await new Promise<void>((resolve) => this.#waiting.push(resolve));
    } else {
      this.#inFlight += 1;
    }
    try {
      for (let waited = 0; ; ) {
        try {
          return await this.#send(event, payload);
        } catch (error) {
          const retryAfter = busyRetryAfter(error);
          if (retryAfter === undefined || waited + retryAfter > this.options.requestTimeoutMs) throw error;
          waited += retryAfter;
          await new Promise((resolve) => setTimeout(resolve, retryAfter));
        }
      }
    } finally {
      const next = this.#waiting.shift();
      if (next) next();
      else this.#inFlight -= 1;
    }
  }

  async #send<E extends ClientEventName>(event: E, payload: RequestArgs<E>): Promise<ClientEventResult<E>> {
    const socket = this.#socket;
    if (!socket?.connected)
      throw new ClientError('NOT_CONNECTED', 'the connection was lost before the request was sent');
    let answer: Ack<ClientEventResult<E>>;
    try {
      answer = await socket.emitWithAck(event, ...payload);
    } catch (error) {
      if (error instanceof Error && error.message === SOCKET_IO_TIMEOUT) {
        throw new ClientError('REQUEST_TIMEOUT', `no answer to ${event} within ${this.options.requestTimeoutMs} ms`);
      }
      throw new ClientError('NOT_CONNECTED', `the connection was lost before the answer to ${event}`, { cause: error });
    }
    if (!answer.ok) throw hubErrorFromBody(answer.error);
    return answer;
  }

  /** Closes the socket (socket.io stops reconnecting); a pending {@link Connection.open} rejects. */
  close(): void {
    const abort = this.#abortOpen;
    this.#abortOpen = undefined;
    const socket = this.#socket;
    this.#socket = undefined;
    socket?.close();
    abort?.(undefined);
  }
}
