import { type EnvelopeRecipient, type MessageContent, randomBytes, sealEnvelope } from '@ncp-hub/crypto';
import {
  ClientError,
  ConversationError,
  type ConversationId,
  type Cursor,
  type Envelope,
  type EnvelopeHeader,
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
import { TaskQueue } from './task-queue.js';

/** A message the hub has stored. */
export interface SentMessage {
  id: MessageId;
  cursor: Cursor;
}

/** The header of an envelope before sealing (`v` and `to` are added by `sealEnvelope`). */
export type OutgoingHeader = Omit<EnvelopeHeader, 'v' | 'to'>;

/** What the outbox needs. */
export interface OutboxDeps {
  hub: HubRequester;
  device: LocalDevice;
  store: KeyStore;
  conversations: Pick<Conversations, 'verified'>;
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
 */
export class Outbox {
  private readonly deps: OutboxDeps;
  /** Sequence numbers are allocated one at a time. */
  readonly #sequence = new TaskQueue(() => {});

  constructor(deps: OutboxDeps) {
    this.deps = deps;
  }

  /**
   * Seals `content` to every verified device of every member of `conv` (this officer's other
   * devices included) and sends it; resolves once the hub has stored it. `NOT_CONNECTED`
   * before anything is done when the connection is down; `NOT_A_MEMBER` when no device
   * verifies. A refusal with `RECIPIENTS_CHANGED` re-seals the same message (same id and
   * seq) to the devices looked up again (see {@link sendToCurrentDevices}).
   */
  async send(conv: ConversationId, content: string | MessageContent): Promise<SentMessage> {
    const { hub, device, conversations, directory, received } = this.deps;
    if (!hub.connected) throw new ClientError('NOT_CONNECTED', 'not connected to the hub');
    const conversation = await conversations.verified(conv);
    const self = device.ref;
    let header: OutgoingHeader | undefined;
    return sendToCurrentDevices({
      members: conversation.members,
      exclude: device.address,
      directory,
      attempt: async (recipients) => {
        if (recipients.length === 0) throw new ConversationError('NOT_A_MEMBER', 'no verified device to send to');
        if (!header) {
          const seq = await this.nextSeq(conv);
          header = { id: toBase64url(randomBytes(16)), conv, from: self, ts: Date.now(), seq, kind: 'chat' };
          await received.record(conv, device.address, header.id, seq);
        }
        const envelope = await this.seal(header, contentOf(content), recipients);
        const { cursor } = await hub.request('message:send', { envelope });
        return { id: header.id, cursor };
      },
    });
  }

  /** Seals and signs one envelope with this device's keys. */
  seal(header: OutgoingHeader, content: MessageContent, recipients: readonly EnvelopeRecipient[]): Promise<Envelope> {
    return sealEnvelope({ header, content, recipients, signingSecretKey: this.deps.device.keys.signing.secretKey });
  }

  /** Notes the first message (seq 1) of a conversation this device opens itself, e.g. a query's question. */
  async claimFirstMessage(conv: ConversationId, id: MessageId): Promise<void> {
    const { store, device, received } = this.deps;
    await this.#sequence.run(() => store.set(STORE_KEYS.sendSequence(conv), 1));
    await received.record(conv, device.address, id, 1);
  }

  /** The next sequence number of this device in a conversation, allocated one at a time. */
  nextSeq(conv: ConversationId): Promise<number> {
    const { store } = this.deps;
    return this.#sequence.run(async () => {
      const seq = ((await store.get<number>(STORE_KEYS.sendSequence(conv))) ?? 0) + 1;
      await store.set(STORE_KEYS.sendSequence(conv), seq);
      return seq;
    });
  }
}
