import { TrustStore } from '../trust/trust-store.js';
import type { Emit } from '../typed-emitter.js';
import { Connection } from './connection.js';
import { Conversations } from './conversations.js';
import { Directory, type DirectoryLookup } from './directory.js';
import type { HubClientEvents } from './hub-client-events.js';
import {
  DEFAULT_CONNECT_TIMEOUT_MS,
  DEFAULT_DIRECTORY_REFRESH_MS,
  DEFAULT_REQUEST_TIMEOUT_MS,
  type HubClientOptions,
} from './hub-client-options.js';
import { Inbox } from './inbox.js';
import type { LocalDevice } from './local-device.js';
import { Outbox } from './outbox.js';
import { Queries } from './queries.js';
import { ReceiveState } from './receive-state.js';
import { Session } from './session.js';
import { TaskQueue } from './task-queue.js';

/** The parts a {@link HubClient} delegates to, one job each. */
export interface ClientParts {
  /** This device: id, keys, verified identity. */
  device: LocalDevice;
  /** Where what is received is processed, one task at a time. */
  queue: TaskQueue;
  /** The socket and its requests. */
  connection: Connection;
  /** Agency keys and the device-key rules. */
  trust: TrustStore;
  /** Officers' devices. */
  directory: Directory;
  /** Membership chains. */
  conversations: Conversations;
  /** Sending and sequence numbers. */
  outbox: Outbox;
  /** Receiving, receipts, acknowledgements. */
  inbox: Inbox;
  /** Operational queries. */
  queries: Queries;
  /** Connecting, and the sync after every welcome. */
  session: Session;
}

/**
 * Builds the parts of a client, in one place, and routes the hub's events to the part whose
 * job they are. Each part reports through `emit`.
 */
export function buildClientParts(
  options: HubClientOptions,
  device: LocalDevice,
  emit: Emit<HubClientEvents>,
): ClientParts {
  const report = (error: unknown) => emit('error', error);
  const { url, token, store } = options;
  const refreshMs = options.directoryRefreshMs ?? DEFAULT_DIRECTORY_REFRESH_MS;
  const queue = new TaskQueue(report);
  const connection = new Connection(
    {
      url,
      token,
      device: device.id,
      requestTimeoutMs: options.requestTimeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS,
      connectTimeoutMs: options.connectTimeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS,
      socket: options.socket,
    },
    report,
  );
  const hub = connection;
  const fetchAgencies = async () => (await hub.request('directory:agencies', {})).agencies;
  const trust = new TrustStore(store, fetchAgencies, options.pinnedAgencyKeys ?? {}, emit, refreshMs);
  const lookup: DirectoryLookup = async (query) => (await hub.request('directory:devices', query)).devices;
  const directory = new Directory(lookup, trust, refreshMs);
  const signingKeyOf = directory.signingKeyOf.bind(directory);
  const conversations = new Conversations({ hub, device, signingKeyOf, queue, emit });
  const received = new ReceiveState(store);
  const outbox = new Outbox({ hub, device, store, conversations, directory, received });
  const deliveryReceipts = options.deliveryReceipts !== false;
  const inbox = new Inbox({ hub, device, conversations, directory, received, queue, deliveryReceipts, emit });
  const currentToken = async () => (typeof token === 'function' ? token() : token);
  const queries = new Queries({ hub, device, directory, conversations, outbox, url, token: currentToken, emit });
  const session = new Session({ connection, device, inbox, queue, emit });

  connection.on('disconnected', (reason) => {
    directory.invalidateAll();
    emit('disconnected', reason);
  });
  connection.on('error', report);
  connection.on('conversation:item', (item) => queue.add(() => inbox.process(item)));
  connection.on('conversation:updated', ({ conversation }) => queue.add(() => conversations.adopt(conversation)));
  connection.on('directory:updated', ({ officer }) => directory.invalidate([officer]));
  connection.on('query:event', (event) => queries.onEvent(event));
  return { device, queue, connection, trust, directory, conversations, outbox, inbox, queries, session };
}
