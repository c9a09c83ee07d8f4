import { ClientError, type SessionWelcome } from '@ncp-hub/protocol';
import type { Emit } from '../typed-emitter.js';
import type { Connection } from './connection.js';
import type { DevicePublication } from './device-publication.js';
import type { HubClientEvents } from './hub-client-events.js';
import type { Inbox } from './inbox.js';
import type { LocalDevice } from './local-device.js';
import type { TaskQueue } from './task-queue.js';

/** What the session needs. */
export interface SessionDeps {
  connection: Pick<Connection, 'open' | 'close' | 'on'>;
  device: LocalDevice;
  inbox: Pick<Inbox, 'syncAll' | 'flush' | 'stop'>;
  publication: Pick<DevicePublication, 'stop'>;
  queue: TaskQueue;
  emit: Emit<Pick<HubClientEvents, 'ready' | 'error'>>;
}

/**
 * The life of a session: every welcome of the hub (the first and each reconnection's) sets
 * the device's identity and queues a sync of everything missed, after which `ready` is
 * emitted. The first sync's outcome is {@link Session.connect}'s; a later one's failure is
 * reported as an `error`. {@link Session.close} ends it.
 */
export class Session {
  private readonly deps: SessionDeps;
  /** The sync that follows the latest welcome. */
  #sync: Promise<void> = Promise.resolve();
  /** Set while {@link Session.connect} waits for its welcome. */
  #connecting = false;
  /** Counts the calls of {@link Session.close}: what started before one does not go on as if connected. */
  #closes = 0;

  constructor(deps: SessionDeps) {
    this.deps = deps;
    deps.connection.on('session:welcome', (welcome) => this.#welcomed(welcome));
  }

  /**
   * Opens the connection and resolves after the first sync; on any failure nothing is left
   * open. `NOT_CONNECTED` when {@link Session.close} is called before the first sync ended.
   */
  async connect(): Promise<SessionWelcome> {
    const { connection } = this.deps;
    const closes = this.#closes;
    this.#connecting = true;
    let welcome: SessionWelcome;
    try {
      welcome = await connection.open();
    } finally {
      this.#connecting = false;
    }
    try {
      await this.#sync;
    } catch (error) {
      connection.close();
      throw error;
    }
    if (this.#closes !== closes) {
      throw new ClientError('NOT_CONNECTED', 'the client was closed before the first sync ended');
    }
    return welcome;
  }

  /** Fetches and processes everything missed in every conversation, in the queue. */
  sync(): Promise<void> {
    const { queue, inbox } = this.deps;
    return queue.run(() => inbox.syncAll());
  }

  /**
   * Lets what is being processed finish, sends the pending receipts and acknowledgements,
   * then disconnects; a pending {@link Session.connect} rejects with `NOT_CONNECTED`.
   */
  async close(): Promise<void> {
    const { queue, inbox, publication, connection } = this.deps;
    this.#closes += 1;
    publication.stop();
    inbox.stop();
    await queue.idle();
    await inbox.flush().catch(() => {});
    inbox.stop(); // again: a retry that ran meanwhile may have scheduled another
    connection.close();
  }

  /** Queues the sync in the same tick as the welcome, before any item pushed after it. */
  #welcomed(welcome: SessionWelcome): void {
    const { device, queue, inbox, emit } = this.deps;
    const closes = this.#closes;
    device.identity = welcome.identity;
    this.#sync = queue
      .run(() => inbox.syncAll())
      .then(() => {
        if (this.#closes === closes) emit('ready', welcome);
      });
    if (!this.#connecting) this.#sync.catch((error: unknown) => emit('error', error));
  }
}
