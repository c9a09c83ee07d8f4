import type { MessageContent } from '@ncp-hub/crypto';
import type {
  AgencyId,
  ConversationId,
  DeviceRef,
  DirectoryAgency,
  FormalRequestFiling,
  MessageId,
  OfficerRef,
  QueryEvent,
  QueryId,
  QueryListFilter,
  QueryView,
  SessionWelcome,
  TimelineEntry,
} from '@ncp-hub/protocol';
import { type Emit, TypedEmitter } from '../typed-emitter.js';
import { buildClientParts, type ClientParts } from './client-parts.js';
import type { CreateConversationOptions } from './conversations.js';
import type { Conversation, HubClientEvents } from './hub-client-events.js';
import type { HubClientOptions } from './hub-client-options.js';
import { type DevicePublicKeys, LocalDevice } from './local-device.js';
import type { SendOptions, SentMessage } from './outbox.js';
import type { OpenedQuery, OpenQueryOptions } from './queries.js';

/**
 * An officer's device connected to the hub: end-to-end encrypted conversations with signed
 * membership, store-and-forward delivery, and signed receipts. Everything the hub relays is
 * checked here; nothing that fails a check reaches the application as plaintext.
 *
 * On every (re)connection it syncs what it missed by itself before `ready`; it acknowledges every
 * item it processed and sends a signed `delivered` receipt for every message it delivers.
 *
 * A facade over parts with one job each, built in one place (`client-parts.ts`).
 *
 * @example
 * ```ts
 * // Development identities (in production the agency signs both): see @ncp-hub/keys.
 * const me = { keysDir: developmentKeysDir(), agency: 'UA-NPU', officer: 'ua.officer', roles: ['officer' as const] };
 * const token = () => issueDevelopmentOfficerToken(me);
 * const client = await HubClient.create({ url, token, device: 'laptop-1', store: new MemoryKeyStore() });
 * await client.connect();
 * await client.publishDevice(await attestDevelopmentDevice({ ...me, publicKeys: client.publicKeys() }));
 * client.on('message', (m) => console.log(m.from.officer, m.content));
 * const conv = await client.createConversation({ kind: 'direct', members: [{ agency: 'PL-KGP', officer: 'pl.officer' }],
 *   basis: { type: 'formal-request', reference: 'MLA/2026/17', caseReference: '12025000000000123' } });
 * await client.send(conv.id, 'Hello from Kyiv');
 * ```
 */
export class HubClient extends TypedEmitter<HubClientEvents> {
  readonly #parts: ClientParts;

  private constructor(options: HubClientOptions, device: LocalDevice) {
    super((error) => this.emit('error', error));
    const emit: Emit<HubClientEvents> = (event, ...args) => this.emit(event, ...args);
    this.#parts = buildClientParts(options, device, emit);
  }

  /**
   * Opens a client: loads this device's keys from the store, or makes them on first use (on the
   * device, never sent anywhere). Does not connect.
   * @example
   * ```ts
   * const client = await HubClient.create({ url: 'http://127.0.0.1:8080', token, device: 'desk-1', store });
   * ```
   */
  static async create(options: HubClientOptions): Promise<HubClient> {
    return new HubClient(options, await LocalDevice.load(options.store, options.device));
  }

  /**
   * The public keys of this device, for the agency to attest (base64url, 32 bytes each).
   * @example
   * ```ts
   * const { device, encryptionKey, signingKey } = client.publicKeys();
   * ```
   */
  publicKeys(): DevicePublicKeys {
    return this.#parts.device.publicKeys();
  }

  /**
   * This device as a {@link DeviceRef}; known once the hub has welcomed it (`NOT_CONNECTED` before).
   * @example
   * ```ts
   * console.log(client.device.officer);
   * ```
   */
  get device(): DeviceRef {
    return this.#parts.device.ref;
  }

  /**
   * Connects, authenticates and syncs everything missed, then emits `ready` and resolves with the
   * hub's welcome. Rejects, and stops trying, with `HUB_UNREACHABLE` (not reached within
   * {@link HubClientOptions.connectTimeoutMs}), the hub's refusal (an `AuthError`), the token
   * function's error, the first sync's, or `NOT_CONNECTED` when closed first. Later losses: `disconnected`.
   * @example
   * ```ts
   * await client.connect().catch((error) => (error.code === 'HUB_UNREACHABLE' ? showOffline() : Promise.reject(error)));
   * ```
   */
  connect(): Promise<SessionWelcome> {
    return this.#parts.session.connect();
  }

  /**
   * Publishes this device's attestation (its agency's JWS over its public keys) to the hub's
   * directory, so others can encrypt to it; `attestationExpiring` tells when to renew it.
   * @example
   * ```ts
   * await client.publishDevice(attestationJws);
   * ```
   */
  publishDevice(attestation: string): Promise<void> {
    return this.#parts.publication.publish(attestation);
  }

  /**
   * Creates a conversation with a signed membership record. The caller is always a member.
   * @example
   * ```ts
   * const conversation = await client.createConversation({ kind: 'group', members: [plOfficer, uaNcbDesk],
   *   basis: { type: 'formal-request', reference: 'JIT/2026/3', caseReference: '12025000000000123' } });
   * ```
   */
  createConversation(options: CreateConversationOptions): Promise<Conversation> {
    return this.#parts.conversations.create(options);
  }

  /**
   * Adds a member to a group conversation, with a record signed by this device.
   * @example
   * ```ts
   * await client.addMember(conversation.id, { agency: 'NCB-PL', officer: 'pl.ncb.desk' });
   * ```
   */
  addMember(conv: ConversationId, member: OfficerRef): Promise<Conversation> {
    return this.#parts.conversations.change(conv, 'add', member);
  }

  /**
   * Removes a member (or this officer) from a group conversation.
   * @example
   * ```ts
   * await client.removeMember(conversation.id, { agency: 'NCB-PL', officer: 'pl.ncb.desk' });
   * ```
   */
  removeMember(conv: ConversationId, member: OfficerRef): Promise<Conversation> {
    return this.#parts.conversations.change(conv, 'remove', member);
  }

  /**
   * The conversations of this officer whose membership chain verifies.
   * @example
   * ```ts
   * for (const c of await client.conversations()) console.log(c.id, c.members);
   * ```
   */
  conversations(): Promise<Conversation[]> {
    return this.#parts.conversations.list();
  }

  /**
   * Encrypts and sends a message to every current device of every verified member (this officer's
   * other devices too); resolves once the hub has stored it. A device published or a member added
   * since makes the hub refuse (`RECIPIENTS_CHANGED`): the same message is sealed again to the
   * current ones and re-sent (at most twice). `NOT_CONNECTED` while disconnected. For a retry after
   * `REQUEST_TIMEOUT` (the hub may have stored it), see {@link SendOptions.id}.
   * @example
   * ```ts
   * const { id } = await client.send(conversation.id, 'Vehicle AB1234 crossed at 14:05');
   * ```
   */
  send(conv: ConversationId, content: string | MessageContent, options?: SendOptions): Promise<SentMessage> {
    return this.#parts.outbox.send(conv, content, options);
  }

  /**
   * Opens an operational query to an officer of another state, on one of the three grounds: the
   * statement of the grounds is sealed to the NCB desks (of both states) and the counterpart, the
   * question to the counterpart. `receipt` (the audit chain's record of the opening) proves the ground.
   * @example
   * ```ts
   * const { query } = await client.openQuery({ counterpart: { agency: 'PL-KGP', officer: 'k.nowak' },
   *   caseReference: '12026100000000042', ground: 'ABSCONDING_RISK',
   *   statement: 'The suspect bought a one-way ticket Warsaw-Dubai for tonight.',
   *   question: 'Is Ivan Horbenko registered at a hotel in Warsaw?' });
   * ```
   */
  openQuery(options: OpenQueryOptions): Promise<OpenedQuery> {
    return this.#parts.queries.open(options);
  }

  /**
   * Decrypts a query's statement of the specific grounds (NCB desks, counterpart), after checking
   * that the requesting officer's attested device signed it.
   * @example
   * ```ts
   * client.on('query', async (e) => e.type === 'notification' && show(await client.readStatement(e.query)));
   * ```
   */
  readStatement(query: QueryView): Promise<MessageContent> {
    return this.#parts.queries.readStatement(query);
  }

  /**
   * Acknowledges a query's notification (an NCB desk of the requesting state).
   * @example
   * ```ts
   * await ncbDesk.acknowledgeQuery(event.query.id);
   * ```
   */
  acknowledgeQuery(query: QueryId): Promise<QueryView> {
    return this.#parts.queries.acknowledge(query);
  }

  /**
   * Registers the formal request that followed the query (the requesting officer): pending reminders stop.
   * @example
   * ```ts
   * await client.registerFormalRequest(query.id, {
   *   reference: 'MLA/2026/0042', instrument: 'MLA_REQUEST', centralAuthority: 'UA-PGO', date: '2026-11-30' });
   * ```
   */
  registerFormalRequest(query: QueryId, filing: FormalRequestFiling): Promise<QueryView> {
    return this.#parts.queries.file(query, filing);
  }

  /**
   * Confirms receipt of a formal request (a user of the central authority it went through).
   * @example
   * ```ts
   * await centralAuthority.confirmFormalRequest(query.id);
   * ```
   */
  confirmFormalRequest(query: QueryId): Promise<QueryView> {
    return this.#parts.queries.confirm(query);
  }

  /**
   * Withdraws a query, with a reason, before the counterpart has answered.
   * @example
   * ```ts
   * await client.withdrawQuery(query.id, 'Suspect arrested in Ukraine');
   * ```
   */
  withdrawQuery(query: QueryId, reason: string): Promise<QueryView> {
    return this.#parts.queries.withdraw(query, reason);
  }

  /**
   * One query with its timeline (`QUERY_NOT_FOUND` when the caller may not see it).
   * @example
   * ```ts
   * const { query, timeline } = await client.getQuery(id);
   * ```
   */
  getQuery(query: QueryId): Promise<{ query: QueryView; timeline: TimelineEntry[] }> {
    return this.#parts.queries.get(query);
  }

  /**
   * The queries this user may see (own agency's; an NCB desk its state's; a central authority those
   * filed through it), newest first, over the hub's HTTP API.
   * @example
   * ```ts
   * const overdue = await supervisor.listQueries({ status: 'OPEN', overdue: true });
   * ```
   */
  listQueries(filter: QueryListFilter = {}): Promise<QueryView[]> {
    return this.#parts.queries.list(filter);
  }

  /**
   * What this connection would be pushed on connecting (also `query` events on every connection, each
   * delivered once per device): the notifications an NCB desk has not acknowledged yet, then the
   * reminders and escalations still standing that this officer hears (PROTOCOL §6.7).
   * Unlike the `query` events, the list is not deduplicated: it is what stands now.
   * @example
   * ```ts
   * const waiting = await ncbDesk.pendingQueries();
   * ```
   */
  pendingQueries(): Promise<QueryEvent[]> {
    return this.#parts.queries.pending();
  }

  /**
   * Sends a read receipt, signed by this device (the SDK sends `delivered` receipts by itself).
   * @example
   * ```ts
   * await client.markRead(message.conversation, [message.id]);
   * ```
   */
  markRead(conv: ConversationId, ids: MessageId[]): Promise<void> {
    return this.#parts.inbox.sendReceipt(conv, 'read', ids);
  }

  /**
   * Trusts the keys the hub now gives for an agency whose keys changed (`agencyKeysChanged`), once confirmed out of band.
   * @example
   * ```ts
   * client.on('agencyKeysChanged', async ({ agency }) => (await confirmByPhone(agency)) && client.trustAgencyKeys(agency));
   * ```
   */
  trustAgencyKeys(agency: AgencyId): Promise<string[]> {
    return this.#parts.trust.acceptAgencyKeys(agency);
  }

  /**
   * Fetches and processes everything missed in every conversation (done by itself on every connection).
   * @example
   * ```ts
   * await client.sync();
   * ```
   */
  sync(): Promise<void> {
    return this.#parts.session.sync();
  }

  /**
   * The agencies of the hub's trust registry: id, name, country and kind (and their public keys,
   * which this client checks devices against; see {@link HubClient.trustAgencyKeys}).
   * @example
   * ```ts
   * const police = (await client.agencies()).filter((a) => a.kind === 'police');
   * ```
   */
  async agencies(): Promise<DirectoryAgency[]> {
    return (await this.#parts.connection.request('directory:agencies', {})).agencies;
  }

  /**
   * The officers of an agency who have a published device whose attestation verifies here: the
   * directory to find a correspondent in. Devices that do not verify are reported
   * (`deviceRejected`) and their officers left out.
   * @example
   * ```ts
   * const officers = await client.officersOf('PL-KGP'); // [{ agency: 'PL-KGP', officer: 'pl.officer' }, ...]
   * ```
   */
  officersOf(agency: AgencyId): Promise<OfficerRef[]> {
    return this.#parts.directory.officersOfAgency(agency);
  }

  /**
   * This device's fingerprint: 60 digits to read out by phone.
   * @example
   * ```ts
   * console.log(await client.fingerprint());
   * ```
   */
  fingerprint(): Promise<string> {
    return this.#parts.device.fingerprint();
  }

  /**
   * The safety number of this officer and another, to compare by phone: the same 60 digits unless keys were substituted.
   * @example
   * ```ts
   * const number = await client.safetyNumber({ agency: 'PL-KGP', officer: 'pl.officer' });
   * ```
   */
  safetyNumber(other: OfficerRef): Promise<string> {
    return this.#parts.directory.safetyNumber(this.#parts.device.ref, other);
  }

  /**
   * Sends pending receipts and acknowledgements, then disconnects (a pending connect rejects with `NOT_CONNECTED`).
   * @example
   * ```ts
   * await client.close();
   * ```
   */
  close(): Promise<void> {
    return this.#parts.session.close();
  }
}
