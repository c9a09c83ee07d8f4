import { type EnvelopeRecipient, type MessageContent, randomBytes, sealEnvelope } from '@ncp-hub/crypto';
import {
  ClientError,
  ConversationError,
  type ConversationId,
  type Cursor,
  type Envelope,
  type EnvelopeHeader,
  HubError,
  type HubErrorCode,
  type MessageId,
  toBase64url,
} from '@ncp-hub/protocol';
import type { KeyStore } from '../store/key-store.js';
import type { HubRequester } from './connection.js';
import type { Conversations } from './conversations.js';
import type { LocalDevice } from './local-device.js';
import type { ReceiveState } from './receive-state.js';
import { type RecipientSource, sendToCurrentDevices } from './send-to-current-devices.js';
import { STORE_KEYS } from './store-keys.js';
import { KeyedTaskQueue } from './task-queue.js';

/** A message the hub has stored. */
export interface SentMessage {
  id: MessageId;
  cursor: Cursor;
}

/** Options of {@link HubClient.send}. */
export interface SendOptions {
  /**
   * The message's id: 16 random bytes, base64url (`toBase64url(randomBytes(16))`); the SDK
   * makes one when not given. To retry a send that failed with `REQUEST_TIMEOUT`, or with
   * `NOT_CONNECTED` once it had gone out, send the same content with the same id: the hub may
   * have stored it, so it goes again as it was (same id, seq and time), and the hub answers
   * with where it stored it, or stores it now; recipients see it once either way. (A send the
   * hub refused with a code gave its number back: send it anew.)
   *
   * @example
   * ```ts
   * const id = toBase64url(randomBytes(16));
   * const send = () => client.send(conversation.id, 'Vehicle AB1234 crossed at 14:05', { id });
   * await send().catch((error) => (error.code === 'REQUEST_TIMEOUT' ? send() : Promise.reject(error)));
   * ```
   */
  id?: MessageId;
}

/** How many sends that may have been stored are kept, to be sent again by their id. */
const MAX_UNCONFIRMED = 1000;

/** The header of an envelope before sealing (`v` and `to` are added by `sealEnvelope`). */
export type OutgoingHeader = Omit<EnvelopeHeader, 'v' | 'to'>;

/** What the outbox needs. */
export interface OutboxDeps {
  hub: HubRequester;
  device: LocalDevice;
  store: KeyStore;
  conversations: Pick<Conversations, 'verified' | 'refresh'>;
  directory: RecipientSource;
  received: Pick<ReceiveState, 'record'>;
}

/** The text of a message, or its content as given. */
export function contentOf(content: string | MessageContent): MessageContent {
  return typeof content === 'string' ? { v: 1, type: 'text', text: content } : content;
}

/**
 * What this device sends: messages sealed to every current device of the verified members,
 * re-sealed when the hub says the devices changed, and this device's sequence numbers.
 *
 * The sends of one conversation go one at a time, each with the next sequence number, which
 * is given back when the hub did not store the message: after a refusal with the hub's code
 * (`RECIPIENTS_CHANGED` once the resends are used up, `NOT_A_MEMBER`, `DEVICE_NOT_PUBLISHED`,
 * `RATE_LIMITED`, `BUSY` ...), or a failure before it went out. So recipients see no false `gap`.
 * A `BUSY` refusal (the hub overloaded, or its store full) is first sent again by the
 * connection, the same envelope (same id and seq) after the hub's `retryAfter`, for up to
 * `requestTimeoutMs` of waiting: only then is it the send's answer (nothing was stored).
 * A send that may have been stored (`REQUEST_TIMEOUT`, `NOT_CONNECTED` after it went out,
 * the hub's `INTERNAL`) keeps its number and its id: see {@link SendOptions.id}.
 */
export class Outbox {
  private readonly deps: OutboxDeps;
  /** The sends of each conversation, one at a time. */
  readonly #conversations = new KeyedTaskQueue<ConversationId>();
  /** Sends that may have been stored, by message id, oldest first: sent again as they were. */
  readonly #unconfirmed = new Map<MessageId, OutgoingHeader>();

  constructor(deps: OutboxDeps) {
    this.deps = deps;
  }

  /**
   * Seals `content` to every verified device of every member of `conv` (this officer's other
   * devices included) and sends it; resolves once the hub has stored it. `NOT_CONNECTED`
   * before anything is done when the connection is down; `NOT_A_MEMBER` when no device
   * verifies. A refusal with `RECIPIENTS_CHANGED` takes the members again (the conversation
   * as the hub has it now, verified) and re-seals the same message (same id and seq) to
   * their devices looked up again (see {@link sendToCurrentDevices}).
   */
  async send(conv: ConversationId, content: string | MessageContent, options: SendOptions = {}): Promise<SentMessage> {
    if (!this.deps.hub.connected) throw new ClientError('NOT_CONNECTED', 'not connected to the hub');
    return this.#conversations.run(conv, () => this.#send(conv, contentOf(content), options.id));
  }

  /** Seals and signs one envelope with this device's keys. */
  seal(header: OutgoingHeader, content: MessageContent, recipients: readonly EnvelopeRecipient[]): Promise<Envelope> {
    return sealEnvelope({ header, content, recipients, signingSecretKey: this.deps.device.keys.signing.secretKey });
  }

  /** Notes the first message (seq 1) of a conversation this device opens itself, e.g. a query's question. */
  async claimFirstMessage(conv: ConversationId, id: MessageId): Promise<void> {
    const { store, device, received } = this.deps;
    await this.#conversations.run(conv, () => store.set(STORE_KEYS.sendSequence(conv), 1));
    await received.record(conv, device.address, id, 1);
  }

  /** One send, in its conversation's turn. */
  async #send(conv: ConversationId, content: MessageContent, id: MessageId | undefined): Promise<SentMessage> {
    const { hub, device, conversations, directory, received } = this.deps;
    const again = id === undefined ? undefined : this.#unconfirmed.get(id);
    const header = again?.conv === conv ? again : undefined;
    // A send again keeps its number whatever happens: an earlier try may have been stored.
    const send = { header, allocated: false, mayBeStored: header !== undefined };
    try {
      const conversation = await conversations.verified(conv);
      const sent = await sendToCurrentDevices({
        members: conversation.members,
        currentMembers: async () => (await conversations.refresh(conv)).members,
        exclude: device.address,
        directory,
        attempt: async (recipients) => {
          if (recipients.length === 0) throw new ConversationError('NOT_A_MEMBER', 'no verified device to send to');
          if (!send.header) {
            const seq = await this.#nextSeq(conv);
            send.header = {
              id: id ?? toBase64url(randomBytes(16)),
              conv,
              from: device.ref,
              ts: Date.now(),
              seq,
              kind: 'chat',
            };
            send.allocated = true;
          }
          const envelope = await this.seal(send.header, content, recipients);
          // A request sends nothing (NOT_CONNECTED) exactly when the connection is down as it is made.
          const goesOut = hub.connected;
          try {
            const { cursor, duplicate } = await hub.request('message:send', { envelope });
            return { id: send.header.id, cursor, seq: send.header.seq, duplicate };
          } catch (error) {
            if (goesOut && mayHaveBeenStored(error)) send.mayBeStored = true;
            throw error;
          }
        },
      });
      this.#unconfirmed.delete(sent.id);
      // Stored before, by a send this device no longer remembers: the number just taken is not used.
      if (sent.duplicate && send.allocated) await this.#giveBackSeq(conv, sent.seq);
      else await received.record(conv, device.address, sent.id, sent.seq);
      return { id: sent.id, cursor: sent.cursor };
    } catch (error) {
      const tried = send.header;
      if (tried && send.mayBeStored) this.#keepUnconfirmed(tried);
      else if (tried) {
        this.#unconfirmed.delete(tried.id);
        if (send.allocated) await this.#giveBackSeq(conv, tried.seq);
      }
      throw error;
    }
  }

  /** The next sequence number of this device in a conversation (in its conversation's turn). */
  async #nextSeq(conv: ConversationId): Promise<number> {
    const { store } = this.deps;
    const seq = ((await store.get<number>(STORE_KEYS.sendSequence(conv))) ?? 0) + 1;
    await store.set(STORE_KEYS.sendSequence(conv), seq);
    return seq;
  }

  /** Gives back the last sequence number, of a message the hub did not store. */
  async #giveBackSeq(conv: ConversationId, seq: number): Promise<void> {
    const { store } = this.deps;
    if ((await store.get<number>(STORE_KEYS.sendSequence(conv))) === seq) {
      await store.set(STORE_KEYS.sendSequence(conv), seq - 1);
    }
  }

  #keepUnconfirmed(header: OutgoingHeader): void {
    this.#unconfirmed.delete(header.id);
    this.#unconfirmed.set(header.id, header);
    for (const oldest of this.#unconfirmed.keys()) {
      if (this.#unconfirmed.size <= MAX_UNCONFIRMED) break;
      this.#unconfirmed.delete(oldest);
    }
  }
}

/**
 * Whether the hub may have stored a message whose request failed so, after it went out: no
 * answer in time, the connection lost before the answer, the hub's own fault, or a write its
 * replicas did not confirm in time (stored on the primary, maybe not kept by a failover). Any
 * other code is a refusal: the hub stored nothing.
 */
function mayHaveBeenStored(error: unknown): boolean {
  return error instanceof HubError && MAY_HAVE_BEEN_STORED.has(error.code);
}

const MAY_HAVE_BEEN_STORED: ReadonlySet<HubErrorCode> = new Set([
  'REQUEST_TIMEOUT',
  'NOT_CONNECTED',
  'INTERNAL',
  'REPLICATION_TIMEOUT',
]);
