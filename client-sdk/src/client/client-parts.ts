import { TrustStore } from '../trust/trust-store.js';
import type { Emit } from '../typed-emitter.js';
import { Connection } from './connection.js';
import { Conversations } from './conversations.js';
import { DevicePublication } from './device-publication.js';
import { Directory, type DirectoryLookup } from './directory.js';
import type { HubClientEvents } from './hub-client-events.js';
import {
  DEFAULT_ATTESTATION_WARNING_MS,
  DEFAULT_CONNECT_TIMEOUT_MS,
  DEFAULT_DIRECTORY_REFRESH_MS,
  DEFAULT_MAX_CONCURRENT_REQUESTS,
  DEFAULT_REQUEST_TIMEOUT_MS,
  type HubClientOptions,
} from './hub-client-options.js';
import { Inbox } from './inbox.js';
import { KnownChains } from './known-chains.js';
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
  /** This device's attestation: published, its expiry watched. */
  publication: DevicePublication;
  /** Membership chains. */
  conversations: Conversations;
  /** Sending and sequence numbers. */
  outbox: Outbox;
  /** Receiving, receipts, acknowledgements. */
  inbox: Inbox;
  /** Operational queries. */
  queries: Queries;
  /** Connecting, the sync after every welcome, closing. */
  session: Session;
}

/**
 * Builds the parts of a client, in one place, and routes the hub's events to the part whose
 * job they are ({@link routeHubEvents}). Each part reports through `emit`.
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
      maxConcurrentRequests: options.maxConcurrentRequests ?? DEFAULT_MAX_CONCURRENT_REQUESTS,
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
  const warningMs = options.attestationWarningMs ?? DEFAULT_ATTESTATION_WARNING_MS;
  const publication = new DevicePublication({ hub, device, directory, warningMs, emit });
  const signingKeyOf = directory.signingKeyOf.bind(directory);
  const known = new KnownChains(store);
  const conversations = new Conversations({ hub, device, signingKeyOf, known, queue, emit });
  const received = new ReceiveState(store, { recentIds: options.recentMessageIds });
  const outbox = new Outbox({ hub, device, store, conversations, directory, received });
  const deliveryReceipts = options.deliveryReceipts !== false;
  const inbox = new Inbox({ hub, device, conversations, directory, received, queue, deliveryReceipts, emit });
  const currentToken = async () => (typeof token === 'function' ? token() : token);
  const queries = new Queries({ hub, device, directory, conversations, outbox, store, url, token: currentToken, emit });
  const session = new Session({ connection, device, inbox, publication, queue, emit });
  routeHubEvents(connection, { queue, directory, conversations, inbox, queries }, emit);
  return { device, queue, connection, trust, directory, publication, conversations, outbox, inbox, queries, session };
}

/** The parts the hub's events go to. */
export interface HubEventTargets {
  queue: Pick<TaskQueue, 'add'>;
  directory: Pick<Directory, 'invalidate' | 'invalidateAll'>;
  conversations: Pick<Conversations, 'adopt'>;
  inbox: Pick<Inbox, 'process'>;
  queries: Pick<Queries, 'onEvent'>;
}

/**
 * Routes the connection's events to the parts: items and membership updates into the queue,
 * in the order they came; a published device's announcement to the directory, which forgets
 * that officer's devices; a lost connection drops the whole directory cache (announcements
 * may be missed while it is down) and is told to the application with its reason and error.
 */
export function routeHubEvents(
  connection: Pick<Connection, 'on'>,
  { queue, directory, conversations, inbox, queries }: HubEventTargets,
  emit: Emit<Pick<HubClientEvents, 'disconnected' | 'error'>>,
): void {
  connection.on('disconnected', (reason, error) => {
    directory.invalidateAll();
    emit('disconnected', reason, error);
  });
  connection.on('error', (error) => emit('error', error));
  connection.on('conversation:item', (item) => queue.add(() => inbox.process(item)));
  connection.on('conversation:updated', ({ conversation }) => queue.add(() => conversations.adopt(conversation)));
  connection.on('directory:updated', ({ officer }) => directory.invalidate([officer]));
  connection.on('query:event', (event) => queries.onEvent(event));
}
