import type { SessionWelcome } from '@ncp-hub/protocol';
import type { Emit } from '../typed-emitter.js';
import type { Connection } from './connection.js';
import type { HubClientEvents } from './hub-client-events.js';
import type { Inbox } from './inbox.js';
import type { LocalDevice } from './local-device.js';
import type { TaskQueue } from './task-queue.js';

/** What the session needs. */
export interface SessionDeps {
  connection: Pick<Connection, 'open' | 'close' | 'on'>;
  device: LocalDevice;
  inbox: Pick<Inbox, 'syncAll'>;
  queue: TaskQueue;
  emit: Emit<Pick<HubClientEvents, 'ready' | 'error'>>;
}

/**
 * The life of a session: every welcome of the hub (the first and each reconnection's) sets
 * the device's identity and queues a sync of everything missed, after which `ready` is
 * emitted. The first sync's outcome is {@link Session.connect}'s; a later one's failure is
 * reported as an `error`.
 */
export class Session {
  private readonly deps: SessionDeps;
  /** The sync that follows the latest welcome. */
  #sync: Promise<void> = Promise.resolve();
  /** Set while {@link Session.connect} waits for its welcome. */
  #connecting = false;

  constructor(deps: SessionDeps) {
    this.deps = deps;
    deps.connection.on('session:welcome', (welcome) => this.#welcomed(welcome));
  }

  /** Opens the connection and resolves after the first sync; on any failure nothing is left open. */
  async connect(): Promise<SessionWelcome> {
    const { connection } = this.deps;
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
    return welcome;
  }

  /** Queues the sync in the same tick as the welcome, before any item pushed after it. */
  #welcomed(welcome: SessionWelcome): void {
    const { device, queue, inbox, emit } = this.deps;
    device.identity = welcome.identity;
    this.#sync = queue.run(() => inbox.syncAll()).then(() => emit('ready', welcome));
    if (!this.#connecting) this.#sync.catch((error: unknown) => emit('error', error));
  }
}
