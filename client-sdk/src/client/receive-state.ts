import type { ConversationId, DeviceAddress, MessageId } from '@ncp-hub/protocol';
import type { KeyStore } from '../store/key-store.js';
import { STORE_KEYS } from './store-keys.js';

/** How many message ids per conversation are remembered for duplicate detection. */
const SEEN_IDS = 5000;
/** How many missing sequence numbers per sender are remembered. */
const MISSING_SEQS = 1000;

interface SenderState {
  last: number;
  missing: number[];
}

interface ConversationState {
  senders: Record<DeviceAddress, SenderState>;
  seen: MessageId[];
}

/** What the receive state says of a verified message. */
export type ReceiveVerdict =
  | { kind: 'duplicate' }
  | { kind: 'new'; gap?: { expected: number; received: number }; reordered?: { expectedAfter: number } };

/**
 * Per conversation: the ids already delivered (so each message reaches the application once)
 * and, per sender device, the highest sequence number seen and the ones skipped, so that a
 * dropped message shows as a gap and a late one as reordered. Gaps are counted from the first
 * message this device receives from a sender. Kept in the key store, so it survives restarts.
 */
export class ReceiveState {
  private readonly store: KeyStore;
  readonly #cache = new Map<ConversationId, ConversationState>();

  constructor(store: KeyStore) {
    this.store = store;
  }

  async #load(conv: ConversationId): Promise<ConversationState> {
    let state = this.#cache.get(conv);
    if (!state) {
      state = (await this.store.get<ConversationState>(STORE_KEYS.receiveState(conv))) ?? { senders: {}, seen: [] };
      this.#cache.set(conv, state);
    }
    return state;
  }

  /** Whether this id was already delivered. */
  async hasSeen(conv: ConversationId, id: MessageId): Promise<boolean> {
    return (await this.#load(conv)).seen.includes(id);
  }

  /** Records a verified message and says whether it is new, late, or after a gap. */
  async record(conv: ConversationId, sender: DeviceAddress, id: MessageId, seq: number): Promise<ReceiveVerdict> {
    const state = await this.#load(conv);
    if (state.seen.includes(id)) return { kind: 'duplicate' };
    state.seen.push(id);
    if (state.seen.length > SEEN_IDS) state.seen.splice(0, state.seen.length - SEEN_IDS);

    const verdict: ReceiveVerdict = { kind: 'new' };
    const sending = state.senders[sender];
    if (!sending) {
      state.senders[sender] = { last: seq, missing: [] };
    } else if (seq === sending.last + 1) {
      sending.last = seq;
    } else if (seq > sending.last + 1) {
      verdict.gap = { expected: sending.last + 1, received: seq };
      for (let missing = sending.last + 1; missing < seq && sending.missing.length < MISSING_SEQS; missing++) {
        sending.missing.push(missing);
      }
      sending.last = seq;
    } else {
      sending.missing = sending.missing.filter((missing) => missing !== seq);
      verdict.reordered = { expectedAfter: sending.last };
    }
    await this.store.set(STORE_KEYS.receiveState(conv), state);
    return verdict;
  }
}
