import type { ConversationId, DeviceAddress, MessageId } from '@ncp-hub/protocol';
import type { KeyStore } from '../store/key-store.js';
import { STORE_KEYS } from './store-keys.js';

/** How many message ids per conversation are remembered, the most recent ones. */
export const RECENT_MESSAGE_IDS = 5000;
/**
 * How many runs of missing sequence numbers are remembered per sender device and
 * conversation. Past it the lowest run is forgotten: a message of it that comes later is
 * dropped as a duplicate (its gap was reported when it went missing).
 */
export const MAX_GAP_RUNS = 1000;

/** Options of {@link ReceiveState}. */
export interface ReceiveStateOptions {
  /** @defaultValue {@link RECENT_MESSAGE_IDS} */
  recentIds?: number;
  /** @defaultValue {@link MAX_GAP_RUNS} */
  maxGapRuns?: number;
}

/** A run of missing sequence numbers, `[first, last]`, both included. */
type GapRun = [number, number];

/** What this device received from one sender device in one conversation. */
interface SenderState {
  /** The highest sequence number delivered. */
  high: number;
  /** The numbers below `high` not delivered (yet), as runs, lowest first, disjoint. */
  gaps: GapRun[];
}

/** The form version 0.1 stored: the last sequence number seen and up to 1,000 missing ones. */
interface LegacySenderState {
  last: number;
  missing: number[];
}

interface ConversationState {
  senders: Record<DeviceAddress, SenderState>;
  /** The most recent ids delivered, oldest first. */
  seen: MessageId[];
}

/** What the receive state says of a verified message. */
export type ReceiveVerdict =
  | { kind: 'duplicate' }
  | { kind: 'new'; gap?: { expected: number; received: number }; reordered?: { expectedAfter: number } };

/**
 * Per conversation and sender device: the highest sequence number delivered and the numbers
 * below it not delivered yet (the gaps), so that each message reaches the application once,
 * however long after it comes again. A message is new when its number is above the highest
 * (a jump reports a `gap`) or in a gap (it is late: `reordered`, and leaves the gap); any other
 * is a duplicate, whatever its id. The numbers below the first one received from a sender are
 * a gap too (not reported: gaps are counted from the first message), as that sender's earlier
 * messages may still come. The recent ids are remembered too ({@link RECENT_MESSAGE_IDS}), so
 * that a message sent again under the same id with a new number is dropped as well.
 *
 * The gaps are bounded ({@link MAX_GAP_RUNS} runs per sender device): past it the lowest run
 * is forgotten, and its messages, if they ever come, are dropped as duplicates. Kept in the key
 * store, so it survives restarts.
 */
export class ReceiveState {
  private readonly store: KeyStore;
  private readonly recentIds: number;
  private readonly maxGapRuns: number;
  readonly #cache = new Map<ConversationId, Promise<{ state: ConversationState; seen: Set<MessageId> }>>();

  constructor(store: KeyStore, options: ReceiveStateOptions = {}) {
    this.store = store;
    this.recentIds = options.recentIds ?? RECENT_MESSAGE_IDS;
    this.maxGapRuns = options.maxGapRuns ?? MAX_GAP_RUNS;
  }

  #load(conv: ConversationId): Promise<{ state: ConversationState; seen: Set<MessageId> }> {
    let loaded = this.#cache.get(conv);
    if (!loaded) {
      loaded = this.store.get<ConversationState>(STORE_KEYS.receiveState(conv)).then((stored) => {
        const state = upgrade(stored);
        return { state, seen: new Set(state.seen) };
      });
      this.#cache.set(conv, loaded);
      loaded.catch(() => this.#cache.delete(conv));
    }
    return loaded;
  }

  /** Records a verified message and says whether it is new (after a gap, or late) or a duplicate. */
  async record(conv: ConversationId, sender: DeviceAddress, id: MessageId, seq: number): Promise<ReceiveVerdict> {
    const { state, seen } = await this.#load(conv);
    if (seen.has(id)) return { kind: 'duplicate' };
    const verdict: ReceiveVerdict = { kind: 'new' };
    const sending = state.senders[sender];
    if (!sending) {
      state.senders[sender] = { high: seq, gaps: seq > 1 ? [[1, seq - 1]] : [] };
    } else if (seq > sending.high) {
      if (seq > sending.high + 1) {
        verdict.gap = { expected: sending.high + 1, received: seq };
        sending.gaps.push([sending.high + 1, seq - 1]);
        if (sending.gaps.length > this.maxGapRuns) sending.gaps.splice(0, sending.gaps.length - this.maxGapRuns);
      }
      sending.high = seq;
    } else {
      if (!fillGap(sending.gaps, seq, this.maxGapRuns)) return { kind: 'duplicate' };
      verdict.reordered = { expectedAfter: sending.high };
    }
    seen.add(id);
    state.seen.push(id);
    if (state.seen.length > this.recentIds) {
      for (const old of state.seen.splice(0, state.seen.length - this.recentIds)) seen.delete(old);
    }
    await this.store.set(STORE_KEYS.receiveState(conv), state);
    return verdict;
  }
}

/**
 * Takes `seq` out of the run that holds it (splitting it in two when `seq` is inside, the
 * lowest run forgotten if that makes one too many); false when no run holds it.
 */
function fillGap(gaps: GapRun[], seq: number, maxRuns: number): boolean {
  const index = gaps.findIndex(([first, last]) => first <= seq && seq <= last);
  const run = gaps[index];
  if (!run) return false;
  const [first, last] = run;
  const rest: GapRun[] = [];
  if (first < seq) rest.push([first, seq - 1]);
  if (seq < last) rest.push([seq + 1, last]);
  gaps.splice(index, 1, ...rest);
  if (gaps.length > maxRuns) gaps.shift();
  return true;
}

/** The stored state, the form version 0.1 wrote (`last`, `missing`) read as the highest and its gaps. */
function upgrade(stored: ConversationState | undefined): ConversationState {
  if (!stored) return { senders: {}, seen: [] };
  const senders: Record<DeviceAddress, SenderState> = {};
  for (const [address, sender] of Object.entries(stored.senders) as Array<
    [DeviceAddress, SenderState | LegacySenderState]
  >) {
    senders[address] = 'high' in sender ? sender : { high: sender.last, gaps: runsOf(sender.missing) };
  }
  return { senders, seen: stored.seen };
}

/** Ascending runs of the numbers in `numbers`. */
function runsOf(numbers: readonly number[]): GapRun[] {
  const runs: GapRun[] = [];
  for (const n of [...new Set(numbers)].sort((a, b) => a - b)) {
    const last = runs.at(-1);
    if (last && last[1] + 1 === n) last[1] = n;
    else runs.push([n, n]);
  }
  return runs;
}
