// One signed-in officer in this tab: the SDK's HubClient, keys in IndexedDB (one database per
// identity), and what the views show (conversations, their messages kept across reloads,
// receipts, warnings). Views subscribe and re-render on every change.
import {
  type Conversation,
  HubClient,
  type HubClientEvents,
  IndexedDbKeyStore,
  type KeyStore,
  type ReceivedMessage,
  toBase64url,
} from '@ncp-hub/client-sdk';
import { type ConversationId, type MessageId, type OfficerRef, parseOfficerAddress } from '@ncp-hub/protocol';
import { devSignIn } from './dev-api.js';
import type { MessageKey } from './i18n/index.js';
import { type ChatMessage, type KeptConversation, MessageHistory } from './message-history.js';
import { QueryBook } from './queries.js';

export type { ChatMessage } from './message-history.js';

/** Who this tab is signed in as, kept in sessionStorage so that each tab holds its own identity. */
export interface Identity {
  agency: string;
  officer: string;
  /** `dev`: the development sign-in gives fresh tokens; `token`: a pasted token (and attestation). */
  mode: 'dev' | 'token';
  token?: string;
  attestation?: string;
}

/** A conversation with what this tab holds of it. */
export interface ConversationState {
  conversation: Conversation;
  messages: ChatMessage[];
  /** Messages of others not yet shown. */
  unread: MessageId[];
}

/** A warning, in words of the catalogue. */
export interface Warning {
  id: number;
  key: MessageKey;
  params: Record<string, string | number>;
}

export type ConnectionStatus = 'connecting' | 'ready' | 'offline';

const IDENTITY_KEY = 'ncp-console:identity';
/** The id of the identity's device in its key store. */
const DEVICE_KEY = 'console:device';
/** The id of a device whose attestation the hub holds (published here, or imported from where it was). */
const ATTESTED_KEY = 'console:attested';

/**
 * What an officer token says of itself, read without verifying it (the hub verifies): to
 * prefill the sign-in page and to tell an expired token before asking the hub. Never trusted.
 */
export interface TokenClaims {
  /** `iss`: the agency. */
  agency?: string;
  /** `sub`: the officer. */
  officer?: string;
  /** `exp`, seconds since the epoch. */
  expiresAt?: number;
  roles?: string[];
}

/** The claims of a compact JWS, or `undefined` when it is not one (the hub says why on connection). */
export function readTokenClaims(token: string): TokenClaims | undefined {
  const payload = token.trim().split('.')[1];
  if (!payload || !/^[A-Za-z0-9_-]+$/.test(payload)) return undefined;
  try {
    const base64 = payload.replaceAll('-', '+').replaceAll('_', '/');
    const bytes = Uint8Array.from(atob(base64.padEnd(Math.ceil(base64.length / 4) * 4, '=')), (c) => c.charCodeAt(0));
    const claims: unknown = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes));
    if (!claims || typeof claims !== 'object' || Array.isArray(claims)) return undefined;
    const { iss, sub, exp, roles } = claims as Record<string, unknown>;
    const result: TokenClaims = {};
    if (typeof iss === 'string' && iss !== '') result.agency = iss;
    if (typeof sub === 'string' && sub !== '') result.officer = sub;
    if (typeof exp === 'number' && Number.isFinite(exp)) result.expiresAt = exp;
    if (Array.isArray(roles) && roles.every((r) => typeof r === 'string')) result.roles = roles;
    return result;
  } catch {
    return undefined;
  }
}

/** Whether the token's own `exp` has passed on this browser's clock. */
export function tokenExpired(claims: TokenClaims | undefined, now = Date.now()): boolean {
  return claims?.expiresAt !== undefined && claims.expiresAt * 1000 <= now;
}

/**
 * The token an agency's sign-in page handed over in the address's fragment
 * (`https://<hub>/#token=<JWT>`), taken once: the fragment is never sent to a server, and it is
 * removed from the address bar (and the tab's history entry) at once, so that it is not
 * bookmarked, shared or shown. PROTOCOL 8.2.
 */
export function takeHandOffToken(): string | undefined {
  if (!location.hash.startsWith('#token=')) return undefined;
  const token = new URLSearchParams(location.hash.slice(1)).get('token') ?? '';
  history.replaceState(history.state, '', `${location.pathname}${location.search}`);
  return token.trim() || undefined;
}

/** A device opened for a token sign-in, not yet connected. */
export interface PreparedDevice {
  client: HubClient;
  store: KeyStore;
  /** The hub already holds this device's attestation: it connects without a new one. */
  attested: boolean;
}

/** The identity of this tab, if it signed in. */
export function savedIdentity(): Identity | undefined {
  const text = sessionStorage.getItem(IDENTITY_KEY);
  if (!text) return undefined;
  try {
    return JSON.parse(text) as Identity;
  } catch {
    return undefined;
  }
}

/** Forgets the identity of this tab (its token expired): the sign-in page again. */
export function forgetIdentity(): void {
  sessionStorage.removeItem(IDENTITY_KEY);
}

/** Why something failed, in a line: the hub's or SDK's code and message. */
export function describeError(error: unknown): string {
  if (error && typeof error === 'object' && 'message' in error) {
    const code = 'code' in error && typeof error.code === 'string' ? `${error.code}: ` : '';
    return `${code}${String(error.message)}`;
  }
  return String(error);
}

/** The identity's key store: one IndexedDB database per identity. */
function openKeyStore(identity: { agency: string; officer: string }): Promise<IndexedDbKeyStore> {
  return IndexedDbKeyStore.open({ name: `ncp-console:${identity.agency}:${identity.officer}` });
}

/** Opens the identity's key store and its device (made on first use, its id kept in the store). */
async function openDevice(
  identity: { agency: string; officer: string },
  token: () => Promise<string>,
): Promise<PreparedDevice> {
  const store = await openKeyStore(identity);
  let device = await store.get<string>(DEVICE_KEY);
  if (typeof device !== 'string') {
    device = `web-${toBase64url(crypto.getRandomValues(new Uint8Array(6)))}`;
    await store.set(DEVICE_KEY, device);
  }
  const client = await HubClient.create({ url: location.origin, token, device, store });
  return { client, store, attested: (await store.get<string>(ATTESTED_KEY)) === device };
}

/**
 * Imports a device exported with {@link Session.exportDevice} into this browser for the identity:
 * its next sign-in is that device (same id and keys, the attestation the hub holds), so its
 * correspondents see no new device. Rejects with the SDK's `KEY_EXPORT_INVALID` for a wrong
 * passphrase or a damaged file; nothing is written then.
 */
export async function importDevice(
  identity: { agency: string; officer: string },
  exported: string,
  passphrase: string,
): Promise<string> {
  const { importDevice: importExported } = await import('@ncp-hub/client-sdk/device-export');
  const store = await openKeyStore(identity);
  try {
    const device = await importExported(store, exported, passphrase);
    await store.set(DEVICE_KEY, device);
    // It was exported from a signed-in console, whose device the hub had published.
    await store.set(ATTESTED_KEY, device);
    return device;
  } finally {
    await store.close();
  }
}

export class Session {
  readonly identity: Identity;
  readonly client: HubClient;
  /** The identity's key store (the device's keys and the SDK's state). */
  readonly store: KeyStore;
  /**
   * A bearer token of this officer for the hub's HTTP routes (the audit log): in development
   * mode a fresh one from the development sign-in, else the pasted token.
   */
  readonly token: () => Promise<string>;
  status: ConnectionStatus = 'connecting';
  readonly conversations = new Map<ConversationId, ConversationState>();
  /** Receipts of this officer's messages, by message id. */
  readonly receipts = new Map<MessageId, 'delivered' | 'read'>();
  warnings: Warning[] = [];
  /** A token sign-in whose token expired: the session is over (the App returns to the sign-in page). */
  expired = false;
  /** The roles the hub gave this officer at connection (e.g. `officer`, `ncb`). */
  roles: readonly string[] = [];
  /** Operational queries: opened here, listed by the hub, notified. */
  readonly queries: QueryBook;
  /** The conversation on screen: its messages are marked read as they come. */
  #viewing: ConversationId | undefined;
  #warningId = 0;
  readonly #listeners = new Set<() => void>();
  readonly #history: MessageHistory;
  /** What the history kept of conversations not shown yet: taken as each conversation appears. */
  #kept = new Map<ConversationId, KeptConversation>();

  private constructor(identity: Identity, device: PreparedDevice, token: () => Promise<string>) {
    this.identity = identity;
    this.client = device.client;
    this.store = device.store;
    this.token = token;
    this.#history = new MessageHistory(identity);
    const client = device.client;
    this.queries = new QueryBook(
      client,
      identity.agency,
      () => this.#changed(),
      (error) => this.#warn('warning.error', { reason: describeError(error) }),
    );
    this.#listen();
  }

  /**
   * Development sign-in: generates (or loads) the device, has the hub issue a token and attest
   * the device, connects with a token function that signs in again, publishes the attestation.
   */
  static async signInDev(who: { agency: string; officer: string }): Promise<Session> {
    let first: string | undefined;
    const device = await openDevice(who, async () => {
      if (first !== undefined) {
        const token = first;
        first = undefined;
        return token;
      }
      return (await devSignIn(who)).token;
    });
    const signedIn = await devSignIn(who, device.client.publicKeys());
    first = signedIn.token;
    const session = new Session({ agency: who.agency, officer: who.officer, mode: 'dev' }, device, async () => {
      return (await devSignIn(who)).token;
    });
    await session.#start(signedIn.attestation ?? undefined);
    return session;
  }

  /** Production: the device for a token, not yet connected (its enrolment request to attest). */
  static async prepareDevice(who: { agency: string; officer: string }, token: string): Promise<PreparedDevice> {
    return openDevice(who, async () => token);
  }

  /**
   * Production: connects the prepared device and publishes the pasted attestation (none needed
   * for a device the hub already holds, `prepared.attested`). The same token serves every
   * reconnection while it is valid; once it expires, the session is over (`expired`).
   */
  static async signInWithToken(identity: Identity, prepared: PreparedDevice): Promise<Session> {
    const token = identity.token ?? '';
    const session = new Session(identity, prepared, async () => token);
    await session.#start(identity.attestation || undefined);
    if (identity.attestation) await prepared.store.set(ATTESTED_KEY, prepared.client.publicKeys().device);
    return session;
  }

  /**
   * This device's keys and state sealed under `passphrase` (Argon2id, then secretbox), a JSON
   * text to save as a file: the SDK's `exportDevice`, loaded only when asked for (it brings
   * libsodium's larger build).
   */
  async exportDevice(passphrase: string): Promise<string> {
    const { exportDevice } = await import('@ncp-hub/client-sdk/device-export');
    return exportDevice(this.store, this.client.publicKeys().device, passphrase);
  }

  /** Connects; on reconnection `ready` lists the conversations again. */
  async #start(attestation: string | undefined): Promise<void> {
    try {
      // Before connecting: the messages the connection's sync delivers go after the kept ones.
      this.#kept = await this.#history.load();
      for (const kept of this.#kept.values()) {
        for (const [id, receipt] of Object.entries(kept.receipts)) this.receipts.set(id, receipt);
      }
      this.roles = (await this.client.connect()).identity.roles;
      if (attestation) await this.client.publishDevice(attestation);
      await this.#loadConversations();
      await this.queries.load(this.roles.includes('ncb'));
    } catch (error) {
      await this.client.close().catch(() => {});
      await this.#history.close().catch(() => {});
      throw error;
    }
    sessionStorage.setItem(IDENTITY_KEY, JSON.stringify(this.identity));
  }

  /** Calls `listener` after every change; returns the unsubscription. */
  subscribe(listener: () => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  #changed(): void {
    for (const listener of this.#listeners) listener();
  }

  #warn(key: MessageKey, params: Record<string, string | number> = {}): void {
    this.warnings = [...this.warnings, { id: ++this.#warningId, key, params }].slice(-20);
    this.#changed();
  }

  dismissWarnings(): void {
    this.warnings = [];
    this.#changed();
  }

  /** The members other than this officer. */
  others(members: readonly OfficerRef[]): OfficerRef[] {
    return members.filter((m) => !(m.agency === this.identity.agency && m.officer === this.identity.officer));
  }

  async #loadConversations(): Promise<void> {
    for (const conversation of await this.client.conversations()) this.#upsert(conversation);
    this.#changed();
  }

  #upsert(conversation: Conversation): ConversationState {
    const known = this.conversations.get(conversation.id);
    if (known) {
      known.conversation = conversation;
      return known;
    }
    const state: ConversationState = { conversation, ...this.#takeKept(conversation.id) };
    this.conversations.set(conversation.id, state);
    return state;
  }

  /** The messages kept of a conversation appearing now (once; later ones come live). */
  #takeKept(id: ConversationId): { messages: ChatMessage[]; unread: MessageId[] } {
    const kept = this.#kept.get(id);
    this.#kept.delete(id);
    return { messages: kept?.messages ?? [], unread: kept?.unread ?? [] };
  }

  /** Keeps the conversation's messages, unread ids and receipts in the browser (soon, gathered). */
  #keep(id: ConversationId): void {
    this.#history.save(id, () => {
      const state = this.conversations.get(id);
      const receipts: Record<MessageId, 'delivered' | 'read'> = {};
      for (const message of state?.messages ?? []) {
        const receipt = message.mine ? this.receipts.get(message.id) : undefined;
        if (receipt) receipts[message.id] = receipt;
      }
      return { messages: state?.messages ?? [], unread: state?.unread ?? [], receipts };
    });
  }

  #on<E extends keyof HubClientEvents>(event: E, listener: HubClientEvents[E]): void {
    this.client.on(event, listener);
  }

  #listen(): void {
    this.#on('ready', () => {
      this.status = 'ready';
      this.queries.load(this.roles.includes('ncb')).catch(() => {});
      this.#loadConversations().catch((error) => this.#warn('warning.error', { reason: describeError(error) }));
    });
    this.#on('disconnected', (_reason, error) => {
      this.status = 'offline';
      if (this.identity.mode === 'token' && error?.code === 'AUTH_TOKEN_EXPIRED') {
        // The same token cannot renew itself: the officer signs in again with a new one.
        this.expired = true;
        this.#changed();
        return;
      }
      // An expired token is renewed by the token function of the development sign-in: not worth a warning.
      const renewed = this.identity.mode === 'dev' && error?.code === 'AUTH_TOKEN_EXPIRED';
      if (error && !renewed) this.#warn('warning.disconnected', { reason: describeError(error) });
      else this.#changed();
    });
    this.#on('membership', (conversation) => {
      this.#upsert(conversation);
      this.#changed();
    });
    this.#on('message', (message) => this.#received(message));
    this.#on('receipt', (receipt) => {
      for (const id of receipt.messageIds) {
        if (receipt.type === 'read' || this.receipts.get(id) !== 'read') this.receipts.set(id, receipt.type);
      }
      this.#keep(receipt.conversation);
      this.#changed();
    });
    // The reason in words (the catalogue's `undecryptable.<REASON>`), not the SDK's code.
    this.#on('undecryptable', ({ reason }) =>
      this.#warn('warning.undecryptable', { reasonKey: `undecryptable.${reason}` }),
    );
    this.#on('receiptRejected', ({ reason }) =>
      this.#warn('warning.receiptRejected', { reasonKey: `undecryptable.${reason}` }),
    );
    this.#on('membershipInvalid', ({ reason }) => this.#warn('warning.membershipInvalid', { reason }));
    this.#on('membershipMismatch', () => this.#warn('warning.membershipMismatch'));
    this.#on('gap', ({ from, expected, received }) =>
      this.#warn('warning.gap', { officer: from.officer, expected, received }),
    );
    this.#on('deviceAdded', (device) =>
      this.#warn('warning.deviceAdded', { officer: device.officer, agency: device.agency, device: device.device }),
    );
    this.#on('deviceRejected', ({ officer, reason }) => {
      const who = parseOfficerAddress(officer);
      this.#warn('warning.deviceRejected', {
        officer: `${who.officer} (${who.agency})`,
        reasonKey: `warning.deviceRejected.${reason}`,
      });
    });
    this.#on('agencyKeysChanged', ({ agency }) => this.#warn('warning.agencyKeysChanged', { agency }));
    this.#on('attestationExpiring', () => this.#warn('warning.attestationExpiring'));
    this.#on('error', (error) => this.#warn('warning.error', { reason: describeError(error) }));
    document.addEventListener('visibilitychange', this.#onVisibility);
  }

  readonly #onVisibility = (): void => this.#markViewedRead();

  #received(message: ReceivedMessage): void {
    let state = this.conversations.get(message.conversation);
    if (!state) {
      // Not listed yet (its membership comes with the next listing): keep the message meanwhile.
      state = {
        conversation: { id: message.conversation, kind: 'direct', basis: unknownBasis, members: [] },
        ...this.#takeKept(message.conversation),
      };
      this.conversations.set(message.conversation, state);
      this.#loadConversations().catch(() => {});
    }
    const text = message.content.type === 'text' ? message.content.text : JSON.stringify(message.content);
    state.messages.push({
      id: message.id,
      mine: false,
      from: { agency: message.from.agency, officer: message.from.officer },
      text,
      at: message.sentAt,
      status: 'sent',
    });
    state.unread.push(message.id);
    this.#markViewedRead();
    this.#keep(message.conversation);
    this.#changed();
  }

  /** Shows a conversation (or none): its unread messages get a read receipt. */
  view(conversation: ConversationId | undefined): void {
    this.#viewing = conversation;
    this.#markViewedRead();
    this.#changed();
  }

  #markViewedRead(): void {
    if (this.#viewing === undefined || document.visibilityState === 'hidden') return;
    const state = this.conversations.get(this.#viewing);
    if (!state || state.unread.length === 0) return;
    const ids = state.unread;
    state.unread = [];
    this.#keep(state.conversation.id);
    this.client.markRead(state.conversation.id, ids).catch((error) => {
      this.#warn('warning.error', { reason: describeError(error) });
    });
    this.#changed();
  }

  /** Sends a text message; it shows at once, as sending, then sent (or failed). */
  async send(conversation: ConversationId, text: string): Promise<void> {
    const state = this.conversations.get(conversation);
    if (!state) return;
    const message: ChatMessage = {
      id: toBase64url(crypto.getRandomValues(new Uint8Array(16))),
      mine: true,
      from: { agency: this.identity.agency, officer: this.identity.officer },
      text,
      at: Date.now(),
      status: 'sending',
    };
    state.messages.push(message);
    await this.#deliver(conversation, message);
  }

  /**
   * Sends a message that failed (or was interrupted by a reload) again, with the same id: the hub
   * stores a message id once, so one that did leave the first time is not stored twice.
   */
  async resend(conversation: ConversationId, id: MessageId): Promise<void> {
    const message = this.conversations.get(conversation)?.messages.find((m) => m.id === id && m.mine);
    if (message?.status !== 'failed') return;
    message.status = 'sending';
    delete message.error;
    delete message.interrupted;
    await this.#deliver(conversation, message);
  }

  async #deliver(conversation: ConversationId, message: ChatMessage): Promise<void> {
    this.#keep(conversation);
    this.#changed();
    try {
      await this.client.send(conversation, message.text, { id: message.id });
      message.status = 'sent';
    } catch (error) {
      message.status = 'failed';
      message.error = describeError(error);
    }
    this.#keep(conversation);
    this.#changed();
  }

  /** Creates a direct conversation with a formal-request basis. */
  async createConversation(
    member: OfficerRef,
    basis: { reference: string; caseReference: string },
  ): Promise<ConversationId> {
    const conversation = await this.client.createConversation({
      kind: 'direct',
      members: [member],
      basis: { type: 'formal-request', ...basis },
    });
    this.#upsert(conversation);
    this.#changed();
    return conversation.id;
  }

  /**
   * Closes the connection and forgets the identity of this tab. The device keys and the kept
   * messages stay in IndexedDB: signing in again is the same device, with its history.
   */
  async signOut(): Promise<void> {
    sessionStorage.removeItem(IDENTITY_KEY);
    this.#listeners.clear();
    document.removeEventListener('visibilitychange', this.#onVisibility);
    await this.#history.close().catch(() => {});
    await this.client.close().catch(() => {});
  }
}

/** The basis of a conversation not listed yet. */
const unknownBasis = { type: 'formal-request', reference: '?', caseReference: '?' } as const;
