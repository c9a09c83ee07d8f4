import { hashMembershipRecord } from '@ncp-hub/crypto';
import type { ConversationId, SignedMembershipRecord } from '@ncp-hub/protocol';
import type { KeyStore } from '../store/key-store.js';
import type { Conversation } from './hub-client-events.js';
import { STORE_KEYS } from './store-keys.js';
import { KeyedTaskQueue } from './task-queue.js';

/** The longest membership chain this device has verified in a conversation, as kept in its key store. */
export interface KnownChain {
  /** How many records it has. */
  length: number;
  /** {@link hashMembershipRecord} of its last record. */
  head: string;
  /** The conversation after its last record. */
  conversation: Conversation;
}

/** What {@link KnownChains.accept} says of a verified chain. */
export type ChainVerdict =
  | { ok: true }
  /** Not an extension of the known chain: `index` is that chain's last record (its length − 1), which this one lacks or holds with another hash. */
  | { ok: false; index: number; known: KnownChain };

/**
 * The longest membership chain verified in each conversation: its length and head hash, kept
 * in the key store so that it survives restarts. A chain the hub gives later must extend it:
 * at least as long, with the same record where the known one ends. A shorter chain (cut back
 * to an earlier, validly signed state, e.g. before a member's removal) or another branch is a
 * rollback, and is refused; the known chain stays. Each conversation is checked and advanced
 * in turn, so two chains given at once cannot both pass against the same known one.
 */
export class KnownChains {
  private readonly store: KeyStore;
  readonly #known = new Map<ConversationId, Promise<KnownChain | undefined>>();
  readonly #turns = new KeyedTaskQueue<ConversationId>();

  constructor(store: KeyStore) {
    this.store = store;
  }

  /**
   * Checks a chain that verified (as a whole) against the known one, and keeps it when it is
   * longer: `conversation` is the conversation after its last record.
   */
  accept(
    conv: ConversationId,
    records: readonly SignedMembershipRecord[],
    conversation: Conversation,
  ): Promise<ChainVerdict> {
    return this.#turns.run(conv, async () => {
      const known = await this.#load(conv);
      if (known) {
        const atKnownHead = records[known.length - 1];
        if (!atKnownHead || (await hashMembershipRecord(atKnownHead)) !== known.head) {
          return { ok: false, index: known.length - 1, known };
        }
        if (records.length === known.length) return { ok: true };
      }
      const last = records.at(-1) as SignedMembershipRecord;
      const longer: KnownChain = { length: records.length, head: await hashMembershipRecord(last), conversation };
      await this.store.set(STORE_KEYS.knownChain(conv), longer);
      this.#known.set(conv, Promise.resolve(longer));
      return { ok: true };
    });
  }

  #load(conv: ConversationId): Promise<KnownChain | undefined> {
    let known = this.#known.get(conv);
    if (!known) {
      known = this.store.get<KnownChain>(STORE_KEYS.knownChain(conv));
      this.#known.set(conv, known);
      known.catch(() => this.#known.delete(conv));
    }
    return known;
  }
}
