import { type MessageContent, openEnvelope, signReceipt, verifyReceipt } from '@ncp-hub/crypto';
import {
  type ConversationId,
  type ConversationInfo,
  type ConversationItem,
  type Cursor,
  deviceAddress,
  envelopeSchema,
  HubError,
  MAX_RECEIPT_IDS,
  type MessageId,
  type MessageItem,
  officerAddress,
  type ReceiptItem,
  type ReceiptType,
  signedReceiptSchema,
  UndecryptableError,
  type UndecryptableReason,
} from '@ncp-hub/protocol';
import type { Emit } from '../typed-emitter.js';
import type { HubRequester } from './connection.js';
import type { Conversations } from './conversations.js';
import type { Directory } from './directory.js';
import type { Conversation, HubClientEvents } from './hub-client-events.js';
import type { LocalDevice } from './local-device.js';
import type { ReceiveState } from './receive-state.js';
import type { TaskQueue } from './task-queue.js';

/** Items asked for per `conversation:sync` page. */
export const SYNC_PAGE = 200;

/**
 * How long a stalled conversation waits before it is synced again, in milliseconds: `firstMs`,
 * doubled after each try that stalls again, at most `maxMs`.
 */
export const STALL_RETRY_DELAYS = { firstMs: 1000, maxMs: 30_000 } as const;

/** Errors of the conversation itself: final for a message of it, not a passing failure. */
const FINAL_CONVERSATION_ERRORS: ReadonlySet<string> = new Set([
  'NOT_A_MEMBER',
  'CONVERSATION_NOT_FOUND',
  'MEMBERSHIP_INVALID',
]);

/** What the inbox needs. */
export interface InboxDeps {
  hub: HubRequester;
  device: LocalDevice;
  conversations: Pick<Conversations, 'adopt' | 'verified'>;
  directory: Pick<Directory, 'senderKey'>;
  received: Pick<ReceiveState, 'record'>;
  /** Where the gathered receipts and acknowledgements are sent from, in order with processing. */
  queue: TaskQueue;
  /** Send a `delivered` receipt for every message delivered to the application. */
  deliveryReceipts: boolean;
  /** @defaultValue {@link STALL_RETRY_DELAYS} */
  retryDelays?: { firstMs: number; maxMs: number };
  emit: Emit<
    Pick<
      HubClientEvents,
      'message' | 'undecryptable' | 'duplicate' | 'gap' | 'reordered' | 'receipt' | 'receiptRejected' | 'error'
    >
  >;
}

/**
 * What this device receives: every item of its conversations (pushed live, or fetched by
 * {@link Inbox.syncAll} from the last acknowledged position) is verified, deduplicated and
 * delivered at most once; then acknowledged, and each message confirmed by a signed
 * `delivered` receipt. An item is acknowledged only once it has a final verdict: after a
 * passing failure (a request that timed out, the hub unreachable) nothing more of that
 * conversation is processed or acknowledged until it is synced again: by itself, while
 * connected, after {@link STALL_RETRY_DELAYS} (growing), or by the sync of the next connection.
 */
export class Inbox {
  private readonly deps: InboxDeps;
  readonly #pendingReceipts = new Map<ConversationId, MessageId[]>();
  readonly #pendingAcks = new Map<ConversationId, Cursor>();
  /** Conversations whose processing hit a passing failure: not acknowledged until synced again. */
  readonly #stalled = new Set<ConversationId>();
  /** The next retry of each stalled conversation: its delay, and its timer once scheduled. */
  readonly #retries = new Map<ConversationId, { delayMs: number; timer?: ReturnType<typeof setTimeout> }>();
  #flushScheduled = false;

  constructor(deps: InboxDeps) {
    this.deps = deps;
  }

  /** Fetches and processes everything after each conversation's acknowledged position, then flushes. */
  async syncAll(): Promise<void> {
    this.stop();
    this.#stalled.clear();
    const { conversations: infos } = await this.deps.hub.request('conversation:list', {});
    for (const info of infos) await this.#sync(info);
    await this.flush();
  }

  /** Verifies one item and delivers it (or reports why not); its acknowledgement follows shortly. */
  async process(item: ConversationItem): Promise<void> {
    if (this.#stalled.has(item.conv)) return;
    try {
      if (item.type === 'message') await this.#processMessage(item);
      else await this.#processReceipt(item);
    } catch (error) {
      this.#stall(item.conv);
      this.deps.emit('error', error);
      return;
    }
    this.#pendingAcks.set(item.conv, item.cursor);
    this.#scheduleFlush();
  }

  /** Cancels the scheduled syncs of stalled conversations (the client is closing). */
  stop(): void {
    for (const retry of this.#retries.values()) clearTimeout(retry.timer);
    this.#retries.clear();
  }

  /** Processes everything of one conversation after this device's acknowledged position. */
  async #sync(info: ConversationInfo): Promise<void> {
    const { hub, conversations } = this.deps;
    const conversation = await conversations.adopt(info);
    if (!conversation || info.last === null || info.last === info.acked) return;
    let after = info.acked;
    for (;;) {
      const { items, more } = await hub.request('conversation:sync', { conv: info.id, after, limit: SYNC_PAGE });
      for (const item of items) await this.process(item);
      after = items.at(-1)?.cursor ?? after;
      if (!more || this.#stalled.has(info.id)) break;
    }
  }

  /** Stops processing a conversation after a passing failure, and schedules its next sync. */
  #stall(conv: ConversationId): void {
    this.#stalled.add(conv);
    const { firstMs, maxMs } = this.deps.retryDelays ?? STALL_RETRY_DELAYS;
    const retry = this.#retries.get(conv) ?? { delayMs: firstMs };
    this.#retries.set(conv, retry);
    if (retry.timer !== undefined) return;
    retry.timer = setTimeout(() => {
      retry.timer = undefined;
      // While disconnected, the sync of the next connection takes it.
      if (this.deps.hub.connected) this.deps.queue.add(() => this.#retry(conv));
    }, retry.delayMs);
    retry.delayMs = Math.min(retry.delayMs * 2, maxMs);
  }

  /** Syncs a stalled conversation again (in the queue); a try that stalls again schedules the next. */
  async #retry(conv: ConversationId): Promise<void> {
    // Synced meanwhile; or disconnected (closed), and the next connection's sync takes it.
    if (!this.#stalled.has(conv) || !this.deps.hub.connected) return;
    this.#stalled.delete(conv);
    try {
      await this.flush(); // what was processed before the failure is not fetched again
      const { conversation } = await this.deps.hub.request('conversation:get', { conv });
      await this.#sync(conversation);
    } catch (error) {
      if (error instanceof HubError && FINAL_CONVERSATION_ERRORS.has(error.code)) {
        this.#retries.delete(conv); // no longer one of this officer's: nothing to sync
        return;
      }
      this.#stall(conv);
      throw error;
    }
    if (!this.#stalled.has(conv)) this.#retries.delete(conv);
  }

  /** Sends a receipt signed by this device, in parts of at most {@link MAX_RECEIPT_IDS} ids. */
  async sendReceipt(conv: ConversationId, type: ReceiptType, ids: readonly MessageId[]): Promise<void> {
    const { hub, device } = this.deps;
    for (let i = 0; i < ids.length; i += MAX_RECEIPT_IDS) {
      const receipt = await signReceipt(
        { v: 1, conv, type, ids: ids.slice(i, i + MAX_RECEIPT_IDS), by: device.ref, ts: Date.now() },
        device.keys.signing.secretKey,
      );
      await hub.request('receipt:send', { receipt });
    }
  }

  /**
   * Sends the delivery receipts and acknowledgements gathered so far, kept for later while
   * disconnected. When a request fails, what was not sent yet is kept for the next flush, and
   * the failure is thrown.
   */
  async flush(): Promise<void> {
    if (!this.deps.hub.connected) return;
    const receipts = [...this.#pendingReceipts];
    this.#pendingReceipts.clear();
    const acks = [...this.#pendingAcks];
    this.#pendingAcks.clear();
    try {
      for (let next = receipts[0]; next; next = receipts[0]) {
        const [conv, ids] = next;
        await this.sendReceipt(conv, 'delivered', ids.slice(0, MAX_RECEIPT_IDS));
        ids.splice(0, MAX_RECEIPT_IDS);
        if (ids.length === 0) receipts.shift();
      }
      for (let next = acks[0]; next; next = acks[0]) {
        await this.deps.hub.request('conversation:ack', { conv: next[0], cursor: next[1] });
        acks.shift();
      }
    } catch (error) {
      // Back in front of what was gathered meanwhile; an acknowledgement gathered meanwhile is further on.
      for (const [conv, ids] of receipts)
        this.#pendingReceipts.set(conv, [...ids, ...(this.#pendingReceipts.get(conv) ?? [])]);
      for (const [conv, cursor] of acks) if (!this.#pendingAcks.has(conv)) this.#pendingAcks.set(conv, cursor);
      throw error;
    }
  }

  #scheduleFlush(): void {
    if (this.#flushScheduled) return;
    this.#flushScheduled = true;
    setTimeout(() => {
      this.#flushScheduled = false;
      this.deps.queue.add(() => this.flush());
    }, 0);
  }

  async #processMessage(item: MessageItem): Promise<void> {
    const { device, directory, received, emit } = this.deps;
    const envelope = item.envelope;
    const header = envelopeSchema.safeParse(envelope).success ? envelope.header : undefined;
    const fail = (reason: UndecryptableReason) =>
      emit('undecryptable', {
        conversation: item.conv,
        cursor: item.cursor,
        reason,
        ...(header?.id ? { messageId: header.id } : {}),
        ...(header?.from ? { from: header.from } : {}),
      });
    if (!header) return fail('MALFORMED');
    if (deviceAddress(header.from) === device.address) return; // this device's own message
    if (header.conv !== item.conv) return fail('CONVERSATION_MISMATCH');
    const conversation = await this.#conversationOf(item.conv);
    if (!conversation?.members.some((m) => officerAddress(m) === officerAddress(header.from))) {
      return fail('NOT_A_MEMBER');
    }
    const sender = await directory.senderKey(header.from);
    if (!('key' in sender)) return fail(sender.reason);
    let content: MessageContent;
    try {
      content = await openEnvelope({
        envelope,
        recipient: { address: device.address, encryption: device.keys.encryption },
        senderSigningKey: sender.key,
      });
    } catch (error) {
      if (error instanceof UndecryptableError) return fail(error.reason);
      throw error;
    }
    const from = header.from;
    const verdict = await received.record(item.conv, deviceAddress(from), header.id, header.seq);
    if (verdict.kind === 'duplicate') {
      emit('duplicate', { conversation: item.conv, messageId: header.id });
      return;
    }
    if (verdict.gap) emit('gap', { conversation: item.conv, from, ...verdict.gap });
    if (verdict.reordered) emit('reordered', { conversation: item.conv, from, seq: header.seq, ...verdict.reordered });
    emit('message', {
      id: header.id,
      conversation: item.conv,
      from,
      seq: header.seq,
      sentAt: header.ts,
      receivedAt: item.receivedAt,
      cursor: item.cursor,
      content,
    });
    if (this.deps.deliveryReceipts) {
      const pending = this.#pendingReceipts.get(item.conv) ?? [];
      pending.push(header.id);
      this.#pendingReceipts.set(item.conv, pending);
    }
  }

  /** The verified conversation, or undefined when it is finally not one this device may read. */
  async #conversationOf(conv: ConversationId): Promise<Conversation | undefined> {
    try {
      return await this.deps.conversations.verified(conv);
    } catch (error) {
      if (error instanceof HubError && FINAL_CONVERSATION_ERRORS.has(error.code)) return undefined;
      throw error;
    }
  }

  async #processReceipt(item: ReceiptItem): Promise<void> {
    const { device, directory, emit } = this.deps;
    const reject = (reason: UndecryptableReason) =>
      emit('receiptRejected', { conversation: item.conv, cursor: item.cursor, reason });
    if (!signedReceiptSchema.safeParse(item.receipt).success) return reject('MALFORMED');
    const { receipt, sig } = item.receipt;
    if (deviceAddress(receipt.by) === device.address) return;
    if (receipt.conv !== item.conv) return reject('CONVERSATION_MISMATCH');
    const sender = await directory.senderKey(receipt.by);
    if (!('key' in sender)) return reject(sender.reason);
    if (!(await verifyReceipt({ receipt, sig }, sender.key))) return reject('SIGNATURE_INVALID');
    emit('receipt', {
      conversation: item.conv,
      type: receipt.type,
      messageIds: receipt.ids,
      by: receipt.by,
      at: receipt.ts,
    });
  }
}
