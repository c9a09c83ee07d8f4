import type { MessageContent } from '@ncp-hub/crypto';
import {
  type DeviceKeys,
  deviceFingerprint,
  exportDeviceKeys,
  generateDeviceKeys,
  hashMembershipRecord,
  importDeviceKeys,
  openEnvelope,
  randomBytes,
  type StoredDeviceKeys,
  safetyNumber,
  sealEnvelope,
  signMembershipRecord,
  signReceipt,
  verifyMembershipChain,
  verifyReceipt,
} from '@ncp-hub/crypto';
import { decodeDeviceAttestation } from '@ncp-hub/keys/attestation';
import {
  type AgencyId,
  type AuditReceipt,
  type ClientToServerEvents,
  type ConversationBasis,
  type ConversationId,
  type ConversationInfo,
  type ConversationItem,
  type ConversationKind,
  UndecryptableError as CryptoCheckError,
  type Cursor,
  type DeviceAddress,
  type DeviceId,
  type DeviceRef,
  type DirectoryAgency,
  deviceAddress,
  EVENTS,
  envelopeSchema,
  type FormalRequestFiling,
  fromBase64url,
  GROUNDS,
  type Ground,
  HubError,
  type HubErrorBody,
  type Identity,
  type MembershipRecord,
  type MessageId,
  type OfficerAddress,
  type OfficerRef,
  officerAddress,
  parseOfficerAddress,
  type QueryEvent,
  type QueryId,
  type QueryListFilter,
  type QueryView,
  type ServerToClientEvents,
  type SessionWelcome,
  signedReceiptSchema,
  type TimelineEntry,
  toBase64url,
} from '@ncp-hub/protocol';
import { io, type ManagerOptions, type Socket, type SocketOptions } from 'socket.io-client';
import type { KeyStore } from '../store/key-store.js';
import { type AgencyKeySet, TrustStore } from '../trust/trust-store.js';
import { TypedEmitter } from '../typed-emitter.js';
import type { Conversation, HubClientEvents, ReceivedMessage } from './hub-client-events.js';
import { ReceiveState } from './receive-state.js';

type ClientSocket = Socket<ServerToClientEvents, ClientToServerEvents>;

/** Options of {@link HubClient.create}. */
export interface HubClientOptions {
  /** The hub, e.g. `https://hub.example` or `http://127.0.0.1:8080`. */
  url: string;
  /** The officer token, or a function giving a fresh one at every (re)connection. */
  token: string | (() => string | Promise<string>);
  /** This device's id, unique among the officer's devices. */
  device: DeviceId;
  /** Where the device keeps its keys and state (MemoryKeyStore, FileKeyStore, IndexedDbKeyStore). */
  store: KeyStore;
  /**
   * Agency keys the application pins (agency id -> JWKS). Attestations of these agencies are
   * verified against these keys only; other agencies are trusted on first use.
   * @defaultValue `{}`
   */
  pinnedAgencyKeys?: Record<AgencyId, AgencyKeySet>;
  /**
   * Send a signed delivery receipt for every message received.
   * @defaultValue true
   */
  deliveryReceipts?: boolean;
  /**
   * How long to wait for the hub's answer to a request, in milliseconds.
   * @defaultValue 10000
   */
  requestTimeoutMs?: number;
  /**
   * How long answers of the hub's directory (officers' devices, agencies' keys) are reused
   * before asking again, in milliseconds.
   * @defaultValue 30000
   */
  directoryRefreshMs?: number;
  /** Extra Socket.IO client options (transports, reconnection delays ...). */
  socket?: Partial<ManagerOptions & SocketOptions>;
}

const DEFAULT_DIRECTORY_REFRESH_MS = 30_000;
const SYNC_PAGE = 200;

/** The verified recipients of a conversation, cached for a short while. */
interface Recipients {
  devices: Array<{ address: DeviceAddress; encryptionKey: Uint8Array }>;
  fetchedAt: number;
}

/**
 * An officer's device connected to the hub: end-to-end encrypted conversations with signed
 * membership, store-and-forward delivery, and signed receipts. Everything the hub relays is
 * checked here; nothing that fails a check reaches the application as plaintext.
 *
 * @example
 * ```ts
 * const client = await HubClient.create({ url, token, device: 'laptop-1', store: new MemoryKeyStore() });
 * const attestation = await myAgency.attest(client.publicKeys()); // signed by the agency
 * await client.connect();
 * await client.publishDevice(attestation);
 * client.on('message', (m) => console.log(m.from.officer, m.content));
 * const conv = await client.createConversation({ kind: 'direct', members: [{ agency: 'PL-KGP', officer: 'pl.officer' }],
 *   basis: { type: 'formal-request', reference: 'MLA/2026/17', caseReference: '12025000000000123' } });
 * await client.send(conv.id, 'Hello from Kyiv');
 * ```
 */
export class HubClient extends TypedEmitter<HubClientEvents> {
  readonly #options: HubClientOptions;
  readonly #keys: DeviceKeys;
  readonly #trust: TrustStore;
  readonly #received: ReceiveState;
  #socket: ClientSocket | undefined;
  #identity: Identity | undefined;
  readonly #seenQueryEvents = new Set<string>();
  #queue: Promise<unknown> = Promise.resolve();
  readonly #conversations = new Map<ConversationId, { conversation: Conversation; recordCount: number }>();
  readonly #recipients = new Map<ConversationId, Recipients>();
  readonly #directory = new Map<OfficerAddress, { attestations: string[]; fetchedAt: number }>();
  readonly #pendingReceipts = new Map<ConversationId, MessageId[]>();
  readonly #pendingAcks = new Map<ConversationId, Cursor>();
  /** Conversations whose processing hit a transient failure: not acknowledged until resynced. */
  readonly #stalled = new Set<ConversationId>();
  #flushScheduled = false;

  get #directoryRefreshMs(): number {
    return this.#options.directoryRefreshMs ?? DEFAULT_DIRECTORY_REFRESH_MS;
  }

  private constructor(options: HubClientOptions, keys: DeviceKeys) {
    super((error) => this.emit('error', error));
    this.#options = options;
    this.#keys = keys;
    this.#received = new ReceiveState(options.store);
    this.#trust = new TrustStore(
      options.store,
      async () => (await this.#request(EVENTS.directoryAgencies, {})).agencies,
      options.pinnedAgencyKeys ?? {},
      (event, ...args) => this.emit(event, ...args),
      options.directoryRefreshMs ?? DEFAULT_DIRECTORY_REFRESH_MS,
    );
  }

  /**
   * Opens a client: loads this device's keys from the store, or makes them (on the device,
   * never sent anywhere) on first use.
   *
   * @example
   * ```ts
   * const client = await HubClient.create({ url: 'http://127.0.0.1:8080', token, device: 'desk-1', store });
   * ```
   */
  static async create(options: HubClientOptions): Promise<HubClient> {
    const stored = await options.store.get<StoredDeviceKeys>(`device:${options.device}`);
    let keys: DeviceKeys;
    if (stored) {
      keys = importDeviceKeys(stored);
    } else {
      keys = await generateDeviceKeys();
      await options.store.set(`device:${options.device}`, exportDeviceKeys(keys));
    }
    return new HubClient(options, keys);
  }

  /**
   * The public keys of this device, for the agency to attest (base64url, 32 bytes each).
   *
   * @example
   * ```ts
   * const { encryptionKey, signingKey } = client.publicKeys();
   * ```
   */
  publicKeys(): { device: DeviceId; encryptionKey: string; signingKey: string } {
    return {
      device: this.#options.device,
      encryptionKey: toBase64url(this.#keys.encryption.publicKey),
      signingKey: toBase64url(this.#keys.signing.publicKey),
    };
  }

  /** This device as a {@link DeviceRef}; known after {@link HubClient.connect}. */
  get device(): DeviceRef {
    if (!this.#identity) throw new HubError('DEVICE_REQUIRED', 'connect first');
    return { agency: this.#identity.agency, officer: this.#identity.officer, device: this.#options.device };
  }

  /**
   * Connects, authenticates and syncs everything missed. Resolves with the hub's welcome;
   * rejects with a {@link HubError} (e.g. `AUTH_TOKEN_EXPIRED`) when the hub refuses.
   * Reconnections after that are automatic and sync again.
   *
   * @example
   * ```ts
   * const welcome = await client.connect();
   * console.log(welcome.identity.agency);
   * ```
   */
  connect(): Promise<SessionWelcome> {
    const { token } = this.#options;
    const socket: ClientSocket = io(this.#options.url, {
      transports: ['websocket'],
      ...this.#options.socket,
      auth: (cb) => {
        Promise.resolve(typeof token === 'function' ? token() : token).then(
          (value) => cb({ token: value, device: this.#options.device }),
          (error: unknown) => this.emit('error', error),
        );
      },
    });
    this.#socket = socket;
    socket.on(EVENTS.conversationItem, (item) => this.#enqueue(() => this.#processItem(item)));
    socket.on(EVENTS.conversationUpdated, ({ conversation }) =>
      this.#enqueue(() => this.#adoptConversation(conversation)),
    );
    socket.on(EVENTS.queryEvent, (event) => this.#onQueryEvent(event));
    socket.on('disconnect', (reason) => this.emit('disconnected', reason));
    return new Promise((resolve, reject) => {
      let first = true;
      socket.on(EVENTS.sessionWelcome, (welcome) => {
        this.#identity = welcome.identity;
        this.#enqueue(async () => {
          await this.#syncAll();
          this.emit('ready', welcome);
          if (first) {
            first = false;
            resolve(welcome);
          }
        });
      });
      socket.on('connect_error', (error) => {
        const data = (error as { data?: HubErrorBody }).data;
        if (first && data) {
          first = false;
          socket.close();
          reject(new HubError(data.code, data.message));
        }
      });
    });
  }

  /**
   * Publishes this device's attestation (a JWS from the officer's agency over
   * {@link HubClient.publicKeys}) to the hub's directory, so others can encrypt to it.
   *
   * @example
   * ```ts
   * await client.publishDevice(attestationJws);
   * ```
   */
  async publishDevice(attestation: string): Promise<void> {
    await this.#request(EVENTS.directoryPublish, { attestation });
  }

  /**
   * Creates a conversation with a signed membership record. The caller is always a member.
   *
   * @example
   * ```ts
   * const conversation = await client.createConversation({
   *   kind: 'group',
   *   members: [{ agency: 'PL-KGP', officer: 'pl.officer' }, { agency: 'NCB-UA', officer: 'ua.ncb.desk' }],
   *   basis: { type: 'formal-request', reference: 'JIT/2026/3', caseReference: '12025000000000123' },
   * });
   * ```
   */
  async createConversation(options: {
    kind: ConversationKind;
    members: OfficerRef[];
    basis: ConversationBasis;
  }): Promise<Conversation> {
    const self = this.device;
    const members = uniqueOfficers([{ agency: self.agency, officer: self.officer }, ...options.members]);
    const record: MembershipRecord = {
      v: 1,
      conv: toBase64url(randomBytes(16)),
      seq: 1,
      prev: null,
      op: 'create',
      kind: options.kind,
      basis: options.basis,
      members,
      by: self,
      ts: Date.now(),
    };
    const signed = await signMembershipRecord(record, this.#keys.signing.secretKey);
    const { conversation } = await this.#request(EVENTS.conversationCreate, { record: signed });
    return this.#enqueue(() => this.#adoptConversation(conversation)).then((verified) => {
      if (!verified)
        throw new HubError('MEMBERSHIP_INVALID', 'the hub answered with a conversation that does not verify');
      return verified;
    });
  }

  /**
   * Adds a member to a group conversation, with a record signed by this device.
   *
   * @example
   * ```ts
   * await client.addMember(conversation.id, { agency: 'NCB-PL', officer: 'pl.ncb.desk' });
   * ```
   */
  addMember(conv: ConversationId, member: OfficerRef): Promise<Conversation> {
    return this.#changeMembership(conv, 'add', member);
  }

  /**
   * Removes a member (or this officer) from a group conversation.
   *
   * @example
   * ```ts
   * await client.removeMember(conversation.id, { agency: 'NCB-PL', officer: 'pl.ncb.desk' });
   * ```
   */
  removeMember(conv: ConversationId, member: OfficerRef): Promise<Conversation> {
    return this.#changeMembership(conv, 'remove', member);
  }

  async #changeMembership(conv: ConversationId, op: 'add' | 'remove', member: OfficerRef): Promise<Conversation> {
    const { conversation: info } = await this.#request(EVENTS.conversationGet, { conv });
    const last = info.records.at(-1);
    if (!last) throw new HubError('CONVERSATION_NOT_FOUND', 'no such conversation');
    const record: MembershipRecord = {
      v: 1,
      conv,
      seq: info.records.length + 1,
      prev: await hashMembershipRecord(last),
      op,
      member: { agency: member.agency, officer: member.officer },
      by: this.device,
      ts: Date.now(),
    };
    const signed = await signMembershipRecord(record, this.#keys.signing.secretKey);
    const { conversation } = await this.#request(EVENTS.conversationChange, { record: signed });
    const verified = await this.#enqueue(() => this.#adoptConversation(conversation));
    if (!verified)
      throw new HubError('MEMBERSHIP_INVALID', 'the hub answered with a conversation that does not verify');
    return verified;
  }

  /**
   * The conversations of this officer whose membership chain verifies.
   *
   * @example
   * ```ts
   * for (const c of await client.conversations()) console.log(c.id, c.members);
   * ```
   */
  async conversations(): Promise<Conversation[]> {
    const { conversations } = await this.#request(EVENTS.conversationList, {});
    const verified = await this.#enqueue(() => Promise.all(conversations.map((c) => this.#adoptConversation(c))));
    return verified.filter((c): c is Conversation => c !== undefined);
  }

  /**
   * Encrypts and sends a message to every current device of every verified member (this
   * officer's other devices included). Resolves once the hub has stored it.
   *
   * @example
   * ```ts
   * const { id } = await client.send(conversation.id, 'Vehicle AB1234 crossed at 14:05');
   * ```
   */
  async send(conv: ConversationId, content: string | MessageContent): Promise<{ id: MessageId; cursor: Cursor }> {
    const conversation = await this.#verifiedConversation(conv);
    const recipients = await this.#recipientsOf(conversation);
    if (recipients.length === 0) throw new HubError('NOT_A_MEMBER', 'no verified device to send to');
    const seq = await this.#nextSeq(conv);
    const envelope = await sealEnvelope({
      header: { id: toBase64url(randomBytes(16)), conv, from: this.device, ts: Date.now(), seq, kind: 'chat' },
      content: typeof content === 'string' ? { v: 1, type: 'text', text: content } : content,
      recipients,
      signingSecretKey: this.#keys.signing.secretKey,
    });
    await this.#received.record(conv, deviceAddress(this.device), envelope.header.id, seq);
    const { cursor } = await this.#request(EVENTS.messageSend, { envelope });
    return { id: envelope.header.id, cursor };
  }

  /**
   * Opens an operational query to an officer of another state, on one of the three grounds.
   * The statement of the specific grounds is encrypted to the NCB desks (of both states) and
   * to the counterpart; the question, the conversation's first message, to the counterpart.
   * The hub tells the NCB and tracks the formal request that must follow. The answer's
   * `receipt` (sequence number and hash of the opening in the hub's audit chain) lets the
   * officer prove later that the ground was recorded.
   *
   * @example
   * ```ts
   * const { query } = await client.openQuery({
   *   counterpart: { agency: 'PL-KGP', officer: 'k.nowak' },
   *   caseReference: '12026100000000042',
   *   ground: 'ABSCONDING_RISK',
   *   statement: 'The suspect bought a one-way ticket Warsaw-Dubai for tonight.',
   *   question: 'Is Ivan Horbenko registered at a hotel in Warsaw?',
   * });
   * ```
   */
  async openQuery(options: {
    counterpart: OfficerRef;
    caseReference: string;
    ground: Ground;
    statement: string;
    question: string | MessageContent;
  }): Promise<{ query: QueryView; conversation: Conversation; receipt: AuditReceipt | null }> {
    if (!GROUNDS.includes(options.ground)) {
      throw new HubError('QUERY_GROUND_INVALID', `the ground must be one of ${GROUNDS.join(', ')}`);
    }
    if (options.statement.trim() === '') {
      throw new HubError('QUERY_STATEMENT_REQUIRED', 'the statement of the specific grounds is empty');
    }
    const self = this.device;
    const counterpart = { agency: options.counterpart.agency, officer: options.counterpart.officer };
    const conv = toBase64url(randomBytes(16));
    const record: MembershipRecord = {
      v: 1,
      conv,
      seq: 1,
      prev: null,
      op: 'create',
      kind: 'direct',
      basis: {
        type: 'operational-query',
        query: toBase64url(randomBytes(16)),
        ground: options.ground,
        caseReference: options.caseReference,
      },
      members: [{ agency: self.agency, officer: self.officer }, counterpart],
      by: self,
      ts: Date.now(),
    };
    const conversation: Conversation = {
      id: conv,
      kind: 'direct',
      basis: record.basis,
      members: record.members,
    };
    const { agencies } = await this.#request(EVENTS.directoryAgencies, {});
    const counterpartAgency = agencies.find((agency) => agency.id === counterpart.agency);
    if (!counterpartAgency) throw new HubError('AGENCY_UNKNOWN', `not in the trust registry: ${counterpart.agency}`);
    if (counterpartAgency.country === this.#identity?.country) {
      throw new HubError('QUERY_SAME_STATE', 'a direct query goes to an agency of another state');
    }
    const questionRecipients = await this.#recipientsOf(conversation);
    if (!questionRecipients.some((recipient) => recipient.address.startsWith(`${officerAddress(counterpart)}/`))) {
      throw new HubError('DEVICE_NOT_PUBLISHED', 'the counterpart has no attested device to encrypt the question to');
    }
    const statementRecipients = [
      ...questionRecipients,
      ...(await this.#ncbDevicesOf(agencies, counterpartAgency.country)),
    ];
    const seal = (
      kind: 'query-question' | 'query-statement',
      content: MessageContent,
      recipients: typeof questionRecipients,
    ) =>
      sealEnvelope({
        header: { id: toBase64url(randomBytes(16)), conv, from: self, ts: Date.now(), seq: 1, kind },
        content,
        recipients: uniqueRecipients(recipients),
        signingSecretKey: this.#keys.signing.secretKey,
      });
    const question = await seal(
      'query-question',
      typeof options.question === 'string' ? { v: 1, type: 'text', text: options.question } : options.question,
      questionRecipients,
    );
    const statement = await seal(
      'query-statement',
      { v: 1, type: 'text', text: options.statement },
      statementRecipients,
    );
    await this.#options.store.set(`seq:${conv}`, 1);
    await this.#received.record(conv, deviceAddress(self), question.header.id, 1);
    const answer = await this.#request(EVENTS.queryOpen, {
      conversation: await signMembershipRecord(record, this.#keys.signing.secretKey),
      statement,
      question,
    });
    const verified = await this.#enqueue(() => this.#adoptConversation(answer.conversation));
    if (!verified)
      throw new HubError('MEMBERSHIP_INVALID', 'the hub answered with a conversation that does not verify');
    return { query: answer.query, conversation: verified, receipt: answer.receipt };
  }

  /**
   * Decrypts a query's statement of the specific grounds (for the NCB desks and the
   * counterpart), after checking that the requesting officer's attested device signed it.
   *
   * @example
   * ```ts
   * client.on('query', async (event) => {
   *   if (event.type === 'notification') console.log(await client.readStatement(event.query));
   * });
   * ```
   */
  async readStatement(query: QueryView): Promise<MessageContent> {
    const { header } = query.statement;
    if (
      header.kind !== 'query-statement' ||
      header.conv !== query.conversation ||
      officerAddress(header.from) !== officerAddress(query.requester)
    ) {
      throw new CryptoCheckError('SENDER_UNKNOWN');
    }
    const sender = await this.#senderKey(header.from);
    if (!('key' in sender)) throw new CryptoCheckError(sender.reason);
    return openEnvelope({
      envelope: query.statement,
      recipient: { address: deviceAddress(this.device), encryption: this.#keys.encryption },
      senderSigningKey: sender.key,
    });
  }

  /**
   * Acknowledges a query's notification (an NCB desk of the requesting state).
   *
   * @example
   * ```ts
   * await ncbDesk.acknowledgeQuery(event.query.id);
   * ```
   */
  async acknowledgeQuery(query: QueryId): Promise<QueryView> {
    return (await this.#request(EVENTS.queryAcknowledge, { query })).query;
  }

  /**
   * Registers the formal request that followed the query (the requesting officer): pending
   * reminders stop.
   *
   * @example
   * ```ts
   * await client.registerFormalRequest(query.id, {
   *   reference: 'MLA/2026/0042', instrument: 'MLA_REQUEST', centralAuthority: 'UA-PGO', date: '2026-11-30',
   * });
   * ```
   */
  async registerFormalRequest(query: QueryId, filing: FormalRequestFiling): Promise<QueryView> {
    return (await this.#request(EVENTS.queryFile, { query, filing })).query;
  }

  /**
   * Confirms receipt of a formal request (a user of the central authority it went through).
   *
   * @example
   * ```ts
   * await centralAuthority.confirmFormalRequest(query.id);
   * ```
   */
  async confirmFormalRequest(query: QueryId): Promise<QueryView> {
    return (await this.#request(EVENTS.queryConfirm, { query })).query;
  }

  /**
   * Withdraws a query, with a reason, before the counterpart has answered.
   *
   * @example
   * ```ts
   * await client.withdrawQuery(query.id, 'Suspect arrested in Ukraine');
   * ```
   */
  async withdrawQuery(query: QueryId, reason: string): Promise<QueryView> {
    return (await this.#request(EVENTS.queryWithdraw, { query, reason })).query;
  }

  /**
   * One query with its timeline (`QUERY_NOT_FOUND` when the caller may not see it).
   *
   * @example
   * ```ts
   * const { query, timeline } = await client.getQuery(id);
   * ```
   */
  getQuery(query: QueryId): Promise<{ query: QueryView; timeline: TimelineEntry[] }> {
    return this.#request(EVENTS.queryGet, { query });
  }

  /**
   * The queries this user may see (own agency's; an NCB desk also its state's; a central
   * authority those filed through it), newest first, over the hub's HTTP API.
   *
   * @example
   * ```ts
   * const overdue = await supervisor.listQueries({ status: 'OPEN', overdue: true });
   * ```
   */
  async listQueries(filter: QueryListFilter = {}): Promise<QueryView[]> {
    const params = new URLSearchParams();
    if (filter.status) params.set('status', filter.status);
    if (filter.overdue !== undefined) params.set('overdue', String(filter.overdue));
    const { token } = this.#options;
    const response = await fetch(`${this.#options.url.replace(/\/$/, '')}/v1/queries?${params}`, {
      headers: { authorization: `Bearer ${typeof token === 'function' ? await token() : token}` },
    });
    const body = (await response.json()) as { queries?: QueryView[]; error?: HubErrorBody };
    if (!response.ok || !body.queries) {
      throw new HubError(body.error?.code ?? 'INTERNAL', body.error?.message ?? `HTTP ${response.status}`);
    }
    return body.queries;
  }

  /**
   * The notifications an NCB desk has not acknowledged yet (also delivered as `query` events
   * on every connection).
   *
   * @example
   * ```ts
   * const waiting = await ncbDesk.pendingQueries();
   * ```
   */
  async pendingQueries(): Promise<QueryEvent[]> {
    return (await this.#request(EVENTS.queryPending, {})).events;
  }

  #onQueryEvent(event: QueryEvent): void {
    if (this.#seenQueryEvents.has(event.id)) return;
    this.#seenQueryEvents.add(event.id);
    if (this.#seenQueryEvents.size > 10_000) this.#seenQueryEvents.clear();
    this.emit('query', event);
  }

  /** The devices of the NCB desks of this officer's state and of the counterpart's. */
  async #ncbDevicesOf(
    agencies: DirectoryAgency[],
    counterpartCountry: string,
  ): Promise<Array<{ address: DeviceAddress; encryptionKey: Uint8Array }>> {
    const countries = new Set([this.#identity?.country, counterpartCountry]);
    const ncbs = agencies.filter((agency) => agency.kind === 'ncb' && countries.has(agency.country));
    const devices: Array<{ address: DeviceAddress; encryptionKey: Uint8Array }> = [];
    for (const ncb of ncbs) {
      const { devices: byOfficer } = await this.#request(EVENTS.directoryDevices, { agency: ncb.id });
      for (const [officer, attestations] of Object.entries(byOfficer)) {
        const ref = parseOfficerAddress(officer as OfficerAddress);
        for (const jws of attestations) {
          const attested = await this.#trust.verifyDevice(jws, ref).catch(() => undefined);
          if (attested)
            devices.push({ address: deviceAddress(attested), encryptionKey: fromBase64url(attested.encryptionKey) });
        }
      }
    }
    return devices;
  }

  /**
   * Sends a read receipt, signed by this device, for messages of a conversation.
   *
   * @example
   * ```ts
   * await client.markRead(message.conversation, [message.id]);
   * ```
   */
  async markRead(conv: ConversationId, ids: MessageId[]): Promise<void> {
    await this.#sendReceipt(conv, 'read', ids);
  }

  /**
   * Trusts the keys the hub now gives for an agency whose keys changed since first use (see
   * the `agencyKeysChanged` event) — only after confirming them with the agency out of band.
   *
   * @example
   * ```ts
   * client.on('agencyKeysChanged', async ({ agency }) => {
   *   if (await confirmWithAgencyByPhone(agency)) await client.trustAgencyKeys(agency);
   * });
   * ```
   */
  trustAgencyKeys(agency: AgencyId): Promise<string[]> {
    return this.#trust.acceptAgencyKeys(agency);
  }

  /**
   * Fetches and processes everything missed in every conversation (done on each connection).
   *
   * @example
   * ```ts
   * await client.sync();
   * ```
   */
  sync(): Promise<void> {
    return this.#enqueue(() => this.#syncAll());
  }

  /**
   * This device's fingerprint: 60 digits to read out by phone.
   *
   * @example
   * ```ts
   * console.log(await client.fingerprint());
   * ```
   */
  fingerprint(): Promise<string> {
    return deviceFingerprint(this.#keys.signing.publicKey);
  }

  /**
   * The safety number of this officer and another: the same 60 digits on both sides while
   * nobody's keys were substituted. Compare it by phone.
   *
   * @example
   * ```ts
   * const number = await client.safetyNumber({ agency: 'PL-KGP', officer: 'pl.officer' });
   * ```
   */
  async safetyNumber(other: OfficerRef): Promise<string> {
    const self = this.device;
    const [mine, theirs] = await Promise.all([this.#verifiedDevicesOf(self), this.#verifiedDevicesOf(other)]);
    return safetyNumber(
      { officer: officerAddress(self), signingKeys: mine.map((d) => fromBase64url(d.signingKey)) },
      { officer: officerAddress(other), signingKeys: theirs.map((d) => fromBase64url(d.signingKey)) },
    );
  }

  /**
   * Sends pending receipts and acknowledgements, then disconnects.
   *
   * @example
   * ```ts
   * await client.close();
   * ```
   */
  async close(): Promise<void> {
    await this.#queue.catch(() => {});
    await this.#flush().catch(() => {});
    this.#socket?.close();
    this.#socket = undefined;
  }

  // ---------------------------------------------------------------------------------------
  // Requests

  async #request<E extends keyof ClientToServerEvents>(
    event: E,
    payload: Parameters<ClientToServerEvents[E]>[0],
  ): Promise<Extract<Parameters<Parameters<ClientToServerEvents[E]>[1]>[0], { ok: true }>> {
    const socket = this.#socket;
    if (!socket) throw new HubError('DEVICE_REQUIRED', 'connect first');
    const timed = socket.timeout(this.#options.requestTimeoutMs ?? 10_000) as unknown as {
      emitWithAck(event: string, payload: unknown): Promise<{ ok: boolean; error?: HubErrorBody }>;
    };
    const answer = await timed.emitWithAck(event, payload);
    if (!answer.ok) {
      const error = answer.error as HubErrorBody;
      throw new HubError(
        error.code,
        error.message,
        error.retryAfter === undefined ? {} : { retryAfter: error.retryAfter },
      );
    }
    return answer as never;
  }

  #seqLock: Promise<unknown> = Promise.resolve();

  /** The next sequence number of this device in a conversation, allocated one at a time. */
  #nextSeq(conv: ConversationId): Promise<number> {
    const next = this.#seqLock.then(async () => {
      const seq = ((await this.#options.store.get<number>(`seq:${conv}`)) ?? 0) + 1;
      await this.#options.store.set(`seq:${conv}`, seq);
      return seq;
    });
    this.#seqLock = next.catch(() => undefined);
    return next;
  }

  #enqueue<T>(task: () => Promise<T>): Promise<T> {
    const run = this.#queue.then(task);
    this.#queue = run.catch((error: unknown) => this.emit('error', error));
    return run;
  }

  // ---------------------------------------------------------------------------------------
  // Conversations and trust

  /** Verifies a conversation's chain and caches it; reports a chain that fails or a hub that lies. */
  async #adoptConversation(info: ConversationInfo): Promise<Conversation | undefined> {
    const cached = this.#conversations.get(info.id);
    const verdict = await verifyMembershipChain(info.records, (by) => this.#signingKeyOf(by));
    if (!verdict.ok) {
      this.#conversations.delete(info.id);
      this.emit('membershipInvalid', { conversation: info.id, reason: verdict.reason, index: verdict.index });
      return undefined;
    }
    const conversation: Conversation = {
      id: info.id,
      kind: verdict.kind,
      basis: verdict.basis,
      members: verdict.members,
    };
    const verifiedMembers = new Set(verdict.members.map(officerAddress));
    const claimed = new Set(info.members);
    const ghosts = [...claimed].filter((m) => !verifiedMembers.has(m));
    const missing = [...verifiedMembers].filter((m) => !claimed.has(m));
    if (ghosts.length > 0 || missing.length > 0) {
      this.emit('membershipMismatch', { conversation: info.id, ghosts, missing });
    }
    this.#conversations.set(info.id, { conversation, recordCount: info.records.length });
    if (!cached || cached.recordCount !== info.records.length) {
      this.#recipients.delete(info.id);
      this.emit('membership', conversation);
    }
    return conversation;
  }

  async #verifiedConversation(conv: ConversationId): Promise<Conversation> {
    const cached = this.#conversations.get(conv);
    if (cached) return cached.conversation;
    const { conversation } = await this.#request(EVENTS.conversationGet, { conv });
    const verified = await this.#adoptConversation(conversation);
    if (!verified) throw new HubError('MEMBERSHIP_INVALID', 'the membership of this conversation does not verify');
    return verified;
  }

  async #attestationsOf(officers: OfficerRef[], fresh = false): Promise<Map<OfficerAddress, string[]>> {
    const now = Date.now();
    const wanted = uniqueOfficers(officers);
    const stale = wanted.filter((o) => {
      const cached = this.#directory.get(officerAddress(o));
      return fresh || !cached || now - cached.fetchedAt >= this.#directoryRefreshMs;
    });
    if (stale.length > 0) {
      const { devices } = await this.#request(EVENTS.directoryDevices, { officers: stale });
      for (const officer of stale) {
        const address = officerAddress(officer);
        this.#directory.set(address, { attestations: devices[address] ?? [], fetchedAt: now });
      }
    }
    return new Map(wanted.map((o) => [officerAddress(o), this.#directory.get(officerAddress(o))?.attestations ?? []]));
  }

  /** The devices of an officer whose attestations verify; the others are reported and skipped. */
  async #verifiedDevicesOf(officer: OfficerRef, fresh = false) {
    const attestations = (await this.#attestationsOf([officer], fresh)).get(officerAddress(officer)) ?? [];
    const verified = [];
    for (const jws of attestations) {
      try {
        verified.push(await this.#trust.verifyDevice(jws, officer));
      } catch {
        // reported by the trust store as deviceRejected
      }
    }
    return verified;
  }

  /**
   * The signing key of the device that signed a membership record: its current attestation,
   * or else the key this client verified for it before (records stay verifiable after the
   * device's attestation has expired).
   */
  async #signingKeyOf(by: DeviceRef): Promise<Uint8Array | undefined> {
    const key = await this.#senderKey(by);
    if ('key' in key) return key.key;
    const known = await this.#trust.knownDevice(by);
    return known ? fromBase64url(known.signingKey) : undefined;
  }

  /**
   * The attested signing key of a device, or why there is none: no attestation for it in the
   * directory (SENDER_UNKNOWN), or one that does not verify (ATTESTATION_INVALID).
   */
  async #senderKey(by: DeviceRef): Promise<{ key: Uint8Array } | { reason: 'SENDER_UNKNOWN' | 'ATTESTATION_INVALID' }> {
    let devices = await this.#verifiedDevicesOf(by);
    if (!devices.some((d) => d.device === by.device)) devices = await this.#verifiedDevicesOf(by, true);
    const device = devices.find((d) => d.device === by.device);
    if (device) return { key: fromBase64url(device.signingKey) };
    const attestations = this.#directory.get(officerAddress(by))?.attestations ?? [];
    const claimed = attestations.some((jws) => {
      try {
        return decodeDeviceAttestation(jws).device === by.device;
      } catch {
        return false;
      }
    });
    return { reason: claimed ? 'ATTESTATION_INVALID' : 'SENDER_UNKNOWN' };
  }

  async #recipientsOf(conversation: Conversation): Promise<Recipients['devices']> {
    const cached = this.#recipients.get(conversation.id);
    if (cached && Date.now() - cached.fetchedAt < this.#directoryRefreshMs) return cached.devices;
    const self = deviceAddress(this.device);
    const devices: Recipients['devices'] = [];
    for (const member of conversation.members) {
      for (const device of await this.#verifiedDevicesOf(member)) {
        const address = deviceAddress(device);
        if (address !== self) devices.push({ address, encryptionKey: fromBase64url(device.encryptionKey) });
      }
    }
    this.#recipients.set(conversation.id, { devices, fetchedAt: Date.now() });
    return devices;
  }

  // ---------------------------------------------------------------------------------------
  // Receiving

  async #syncAll(): Promise<void> {
    this.#stalled.clear();
    const { conversations } = await this.#request(EVENTS.conversationList, {});
    for (const info of conversations) {
      const conversation = await this.#adoptConversation(info);
      if (!conversation || info.last === null || info.last === info.acked) continue;
      let after = info.acked;
      for (;;) {
        const { items, more } = await this.#request(EVENTS.conversationSync, {
          conv: info.id,
          after,
          limit: SYNC_PAGE,
        });
        for (const item of items) await this.#processItem(item);
        after = items.at(-1)?.cursor ?? after;
        if (!more) break;
      }
    }
    await this.#flush();
  }

  async #processItem(item: ConversationItem): Promise<void> {
    // After a transient failure (a request that timed out, the hub unreachable), nothing more
    // of that conversation is acknowledged until the next sync fetches it again from the
    // last acknowledged position: an item is acknowledged only once it has a final verdict.
    if (this.#stalled.has(item.conv)) return;
    try {
      if (item.type === 'message') await this.#processMessage(item);
      else await this.#processReceipt(item);
    } catch (error) {
      this.#stalled.add(item.conv);
      this.emit('error', error);
      return;
    }
    this.#pendingAcks.set(item.conv, item.cursor);
    this.#scheduleFlush();
  }

  async #processMessage(item: Extract<ConversationItem, { type: 'message' }>): Promise<void> {
    const envelope = item.envelope;
    const header = envelopeSchema.safeParse(envelope).success ? envelope.header : undefined;
    const fail = (reason: CryptoCheckError['reason']) =>
      this.emit('undecryptable', {
        conversation: item.conv,
        cursor: item.cursor,
        reason,
        ...(header?.id ? { messageId: header.id } : {}),
        ...(header?.from ? { from: header.from } : {}),
      });
    if (!header) return fail('MALFORMED');
    if (deviceAddress(header.from) === deviceAddress(this.device)) return; // our own message
    if (header.conv !== item.conv) return fail('CONVERSATION_MISMATCH');
    let conversation: Conversation;
    try {
      conversation = await this.#verifiedConversation(item.conv);
    } catch (error) {
      const final =
        error instanceof HubError &&
        ['NOT_A_MEMBER', 'CONVERSATION_NOT_FOUND', 'MEMBERSHIP_INVALID'].includes(error.code);
      if (!final) throw error;
      return fail('NOT_A_MEMBER');
    }
    if (!conversation.members.some((m) => officerAddress(m) === officerAddress(header.from))) {
      return fail('NOT_A_MEMBER');
    }
    const sender = await this.#senderKey(header.from);
    if (!('key' in sender)) return fail(sender.reason);
    const senderKey = sender.key;
    let content: MessageContent;
    try {
      content = await openEnvelope({
        envelope,
        recipient: { address: deviceAddress(this.device), encryption: this.#keys.encryption },
        senderSigningKey: senderKey,
      });
    } catch (error) {
      if (error instanceof CryptoCheckError) return fail(error.reason);
      throw error;
    }
    const from = header.from;
    const verdict = await this.#received.record(item.conv, deviceAddress(from), header.id, header.seq);
    if (verdict.kind === 'duplicate') {
      this.emit('duplicate', { conversation: item.conv, messageId: header.id });
      return;
    }
    if (verdict.gap) this.emit('gap', { conversation: item.conv, from, ...verdict.gap });
    if (verdict.reordered) {
      this.emit('reordered', { conversation: item.conv, from, seq: header.seq, ...verdict.reordered });
    }
    const message: ReceivedMessage = {
      id: header.id,
      conversation: item.conv,
      from,
      seq: header.seq,
      sentAt: header.ts,
      receivedAt: item.receivedAt,
      cursor: item.cursor,
      content,
    };
    this.emit('message', message);
    if (this.#options.deliveryReceipts !== false) {
      const pending = this.#pendingReceipts.get(item.conv) ?? [];
      pending.push(header.id);
      this.#pendingReceipts.set(item.conv, pending);
    }
  }

  async #processReceipt(item: Extract<ConversationItem, { type: 'receipt' }>): Promise<void> {
    const reject = (reason: CryptoCheckError['reason']) =>
      this.emit('receiptRejected', { conversation: item.conv, cursor: item.cursor, reason });
    if (!signedReceiptSchema.safeParse(item.receipt).success) return reject('MALFORMED');
    const { receipt, sig } = item.receipt;
    if (deviceAddress(receipt.by) === deviceAddress(this.device)) return;
    if (receipt.conv !== item.conv) return reject('CONVERSATION_MISMATCH');
    const sender = await this.#senderKey(receipt.by);
    if (!('key' in sender)) return reject(sender.reason);
    const key = sender.key;
    if (!(await verifyReceipt({ receipt, sig }, key))) return reject('SIGNATURE_INVALID');
    this.emit('receipt', {
      conversation: item.conv,
      type: receipt.type,
      messageIds: receipt.ids,
      by: receipt.by,
      at: receipt.ts,
    });
  }

  async #sendReceipt(conv: ConversationId, type: 'delivered' | 'read', ids: MessageId[]): Promise<void> {
    for (let i = 0; i < ids.length; i += 100) {
      const receipt = await signReceipt(
        { v: 1, conv, type, ids: ids.slice(i, i + 100), by: this.device, ts: Date.now() },
        this.#keys.signing.secretKey,
      );
      await this.#request(EVENTS.receiptSend, { receipt });
    }
  }

  #scheduleFlush(): void {
    if (this.#flushScheduled) return;
    this.#flushScheduled = true;
    setTimeout(() => {
      this.#flushScheduled = false;
      this.#enqueue(() => this.#flush()).catch(() => {});
    }, 0);
  }

  /** Sends the delivery receipts and acknowledgements gathered since the last flush. */
  async #flush(): Promise<void> {
    const receipts = [...this.#pendingReceipts];
    this.#pendingReceipts.clear();
    const acks = [...this.#pendingAcks];
    this.#pendingAcks.clear();
    if (!this.#socket?.connected) {
      for (const [conv, ids] of receipts) this.#pendingReceipts.set(conv, ids);
      for (const [conv, cursor] of acks) this.#pendingAcks.set(conv, cursor);
      return;
    }
    for (const [conv, ids] of receipts) await this.#sendReceipt(conv, 'delivered', ids);
    for (const [conv, cursor] of acks) await this.#request(EVENTS.conversationAck, { conv, cursor });
  }
}

function uniqueRecipients<T extends { address: DeviceAddress }>(recipients: T[]): T[] {
  return [...new Map(recipients.map((recipient) => [recipient.address, recipient])).values()];
}

function uniqueOfficers(officers: OfficerRef[]): OfficerRef[] {
  const seen = new Map<OfficerAddress, OfficerRef>();
  for (const o of officers) seen.set(officerAddress(o), { agency: o.agency, officer: o.officer });
  return [...seen.values()];
}
