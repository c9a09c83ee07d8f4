// One signed-in officer in this tab: the SDK's HubClient, keys in IndexedDB (one database per
// identity), and what the views show (conversations, messages of this session, receipts,
// warnings). Views subscribe and re-render on every change.
import {
  type Conversation,
  HubClient,
  type HubClientEvents,
  IndexedDbKeyStore,
  type ReceivedMessage,
  toBase64url,
} from '@ncp-hub/client-sdk';
import type { ConversationId, MessageId, OfficerRef } from '@ncp-hub/protocol';
import { devSignIn } from './dev-api.js';
import type { MessageKey } from './i18n/index.js';
import { QueryBook } from './queries.js';

/** Who this tab is signed in as, kept in sessionStorage so that each tab holds its own identity. */
export interface Identity {
  agency: string;
  officer: string;
  /** `dev`: the development sign-in gives fresh tokens; `token`: a pasted token (and attestation). */
  mode: 'dev' | 'token';
  token?: string;
  attestation?: string;
}

/** A message of a conversation, as this tab saw it. */
export interface ChatMessage {
  id: MessageId;
  mine: boolean;
  from: OfficerRef;
  text: string;
  at: number;
  status: 'sending' | 'sent' | 'failed';
  error?: string;
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
const DEVICE_KEY = 'console:device';

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

/** Why something failed, in a line: the hub's or SDK's code and message. */
export function describeError(error: unknown): string {
  if (error && typeof error === 'object' && 'message' in error) {
    const code = 'code' in error && typeof error.code === 'string' ? `${error.code}: ` : '';
    return `${code}${String(error.message)}`;
  }
  return String(error);
}

/** Opens the identity's key store and its device (made on first use, its id kept in the store). */
async function openDevice(
  identity: { agency: string; officer: string },
  token: () => Promise<string>,
): Promise<HubClient> {
  const store = await IndexedDbKeyStore.open({ name: `ncp-console:${identity.agency}:${identity.officer}` });
  let device = await store.get<string>(DEVICE_KEY);
  if (typeof device !== 'string') {
    device = `web-${toBase64url(crypto.getRandomValues(new Uint8Array(6)))}`;
    await store.set(DEVICE_KEY, device);
  }
  return HubClient.create({ url: location.origin, token, device, store });
}

export class Session {
  readonly identity: Identity;
  readonly client: HubClient;
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
  /** The roles the hub gave this officer at connection (e.g. `officer`, `ncb`). */
  roles: readonly string[] = [];
  /** Operational queries: opened here, listed by the hub, notified. */
  readonly queries: QueryBook;
  /** The conversation on screen: its messages are marked read as they come. */
  #viewing: ConversationId | undefined;
  #warningId = 0;
  readonly #listeners = new Set<() => void>();

  private constructor(identity: Identity, client: HubClient, token: () => Promise<string>) {
    this.identity = identity;
    this.client = client;
    this.token = token;
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
    const client = await openDevice(who, async () => {
      if (first !== undefined) {
        const token = first;
        first = undefined;
        return token;
      }
      return (await devSignIn(who)).token;
    });
    const signedIn = await devSignIn(who, client.publicKeys());
    first = signedIn.token;
    const session = new Session({ agency: who.agency, officer: who.officer, mode: 'dev' }, client, async () => {
      return (await devSignIn(who)).token;
    });
    await session.#start(signedIn.attestation ?? undefined);
    return session;
  }

  /** Production: the device for a pasted token, not yet connected (its enrolment request to attest). */
  static async prepareDevice(who: { agency: string; officer: string }, token: string): Promise<HubClient> {
    return openDevice(who, async () => token);
  }

  /** Production: connects the prepared device and publishes the pasted attestation. */
  static async signInWithToken(identity: Identity, client: HubClient): Promise<Session> {
    const token = identity.token ?? '';
    const session = new Session(identity, client, async () => token);
    await session.#start(identity.attestation);
    return session;
  }

  /** Connects; on reconnection `ready` lists the conversations again. */
  async #start(attestation: string | undefined): Promise<void> {
    try {
      this.roles = (await this.client.connect()).identity.roles;
      if (attestation) await this.client.publishDevice(attestation);
      await this.#loadConversations();
      await this.queries.load(this.roles.includes('ncb'));
    } catch (error) {
      await this.client.close().catch(() => {});
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
    const state: ConversationState = { conversation, messages: [], unread: [] };
    this.conversations.set(conversation.id, state);
    return state;
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
    this.#on('deviceRejected', ({ officer, reason }) =>
      this.#warn('warning.deviceRejected', { officer, reasonKey: `warning.deviceRejected.${reason}` }),
    );
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
        messages: [],
        unread: [],
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
    this.client.markRead(state.conversation.id, ids).catch((error) => {
      this.#warn('warning.error', { reason: describeError(error) });
    });
    this.#changed();
  }

  /** Sends a text message; it shows at once, as sending, then sent (or failed). */
  async send(conversation: ConversationId, text: string): Promise<void> {
    const state = this.conversations.get(conversation);
    if (!state) return;
    const id = toBase64url(crypto.getRandomValues(new Uint8Array(16)));
    const message: ChatMessage = {
      id,
      mine: true,
      from: { agency: this.identity.agency, officer: this.identity.officer },
      text,
      at: Date.now(),
      status: 'sending',
    };
    state.messages.push(message);
    this.#changed();
    try {
      await this.client.send(conversation, text, { id });
      message.status = 'sent';
    } catch (error) {
      message.status = 'failed';
      message.error = describeError(error);
    }
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

  /** Closes the connection and forgets the identity of this tab (the device keys stay in IndexedDB). */
  async signOut(): Promise<void> {
    sessionStorage.removeItem(IDENTITY_KEY);
    this.#listeners.clear();
    document.removeEventListener('visibilitychange', this.#onVisibility);
    await this.client.close().catch(() => {});
  }
}

/** The basis of a conversation not listed yet. */
const unknownBasis = { type: 'formal-request', reference: '?', caseReference: '?' } as const;
