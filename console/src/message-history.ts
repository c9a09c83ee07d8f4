// The messages and receipts of each conversation, kept in the browser so that a reload (or a
// sign-in later) shows them again: the SDK delivers each message once per device and
// acknowledges it, so the hub never gives them back.
//
// Where: a database of its own per identity, `ncp-console-history:<agency>:<officer>`, not the
// identity's key store. The key store holds what the SDK needs of the device and what
// exportDevice moves; keeping message texts out of it means the device's keys can be moved,
// replaced or imported without touching the history, and the history can be cleared (the
// browser's "site data" of one database) without losing the device. It reuses the SDK's
// IndexedDbKeyStore as a plain JSON key-value store (same contract, one value per conversation).
// Like the keys, it is readable by the page's origin only and not encrypted beyond what the
// browser and the operating system do.
import { IndexedDbKeyStore } from '@ncp-hub/client-sdk';
import type { ConversationId, MessageId, OfficerRef } from '@ncp-hub/protocol';

/** A message of a conversation, as this browser saw it (kept as it is, a JSON value). */
export interface ChatMessage {
  id: MessageId;
  mine: boolean;
  from: OfficerRef;
  text: string;
  at: number;
  status: 'sending' | 'sent' | 'failed';
  error?: string;
  /** Failed because the page went away while it was sending (it may have left: send again). */
  interrupted?: boolean;
}

/** How many messages of a conversation are kept (the latest). */
export const KEPT_MESSAGES = 500;

/** What is kept of one conversation. */
export interface KeptConversation {
  messages: ChatMessage[];
  /** Messages of others not yet read on screen. */
  unread: MessageId[];
  /** Receipts of this officer's messages. */
  receipts: Record<MessageId, 'delivered' | 'read'>;
}

const PREFIX = 'conv:';

/** The message history of one identity in this browser. */
export class MessageHistory {
  readonly #store: Promise<IndexedDbKeyStore>;
  readonly #dirty = new Map<ConversationId, () => KeptConversation>();
  #scheduled = false;
  #writing: Promise<void> = Promise.resolve();

  constructor(identity: { agency: string; officer: string }) {
    this.#store = IndexedDbKeyStore.open({ name: `ncp-console-history:${identity.agency}:${identity.officer}` });
    // A store that cannot open (private browsing) leaves the history empty, never the sign-in broken.
    this.#store.catch(() => {});
  }

  /** Every conversation kept, by id (empty when the database cannot be read). */
  async load(): Promise<Map<ConversationId, KeptConversation>> {
    const kept = new Map<ConversationId, KeptConversation>();
    try {
      const store = await this.#store;
      for (const key of await store.keys(PREFIX)) {
        const value = await store.get<KeptConversation>(key);
        if (value && Array.isArray(value.messages)) {
          kept.set(key.slice(PREFIX.length), {
            messages: value.messages.map(restored),
            unread: Array.isArray(value.unread) ? value.unread : [],
            receipts: value.receipts ?? {},
          });
        }
      }
    } catch {
      // Nothing kept, or not readable: the conversations show without their earlier messages.
    }
    return kept;
  }

  /**
   * Keeps the conversation (`read` is called when it is written, so the latest state is). Written
   * at once, after the changes of the same task: the SDK has acknowledged a delivered message to
   * the hub, so this copy is the only one left, and a reload may come any moment.
   */
  save(conversation: ConversationId, read: () => KeptConversation): void {
    this.#dirty.set(conversation, read);
    if (this.#scheduled) return;
    this.#scheduled = true;
    queueMicrotask(() => {
      this.#scheduled = false;
      void this.#write();
    });
  }

  /** Writes what is waiting now; resolves once all is written. */
  async flush(): Promise<void> {
    await this.#write();
  }

  #write(): Promise<void> {
    const batch = [...this.#dirty];
    this.#dirty.clear();
    this.#writing = this.#writing.then(async () => {
      try {
        const store = await this.#store;
        for (const [conversation, read] of batch) await store.set(`${PREFIX}${conversation}`, bounded(read()));
      } catch {
        // Not kept: the messages are still on screen; a later change writes again.
      }
    });
    return this.#writing;
  }

  async close(): Promise<void> {
    await this.flush();
    await (await this.#store.catch(() => undefined))?.close();
  }
}

/** The latest {@link KEPT_MESSAGES}, with the unread ids and receipts of those only. */
function bounded(value: KeptConversation): KeptConversation {
  const messages = value.messages.slice(-KEPT_MESSAGES);
  const ids = new Set(messages.map((m) => m.id));
  const receipts: Record<MessageId, 'delivered' | 'read'> = {};
  for (const [id, receipt] of Object.entries(value.receipts)) if (ids.has(id)) receipts[id] = receipt;
  return { messages, unread: value.unread.filter((id) => ids.has(id)), receipts };
}

/** A message still sending when the page went away may or may not have left: say so rather than guess. */
function restored(message: ChatMessage): ChatMessage {
  if (message.status !== 'sending') return message;
  return { ...message, status: 'failed', interrupted: true };
}
