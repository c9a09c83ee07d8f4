import type { ConversationId, DeviceAddress, MessageId } from '@ncp-hub/protocol';
import { describe, expect, it } from 'vitest';
import { MAX_GAP_RUNS, RECENT_MESSAGE_IDS, ReceiveState } from '../../src/client/receive-state.js';
import { STORE_KEYS } from '../../src/client/store-keys.js';
import { MemoryKeyStore } from '../../src/store/index.js';

const conv = 'AAAAAAAAAAAAAAAAAAAAAA' as ConversationId;
const sender = 'UA-NPU/a/a1' as DeviceAddress;
const other = 'UA-NPU/a/a2' as DeviceAddress;

let ids = 0;
const newId = (): MessageId => `id-${++ids}`;

/** Records messages `seqs` from `from`, each with a new id; gives their verdicts' kinds and the ids. */
async function receive(state: ReceiveState, seqs: number[], from = sender) {
  const verdicts = [];
  for (const seq of seqs) verdicts.push(await state.record(conv, from, newId(), seq));
  return verdicts;
}

describe('ReceiveState', () => {
  it('remembers 5,000 ids per conversation and 1,000 runs of gaps per sender by default', () => {
    expect([RECENT_MESSAGE_IDS, MAX_GAP_RUNS]).toEqual([5000, 1000]);
  });

  it('drops a replay however many messages came after it, past the window of recent ids', async () => {
    const state = new ReceiveState(new MemoryKeyStore(), { recentIds: 3 });
    const early = newId();
    expect(await state.record(conv, sender, early, 1)).toEqual({ kind: 'new' });
    await receive(state, [2, 3, 4, 5, 6]);
    expect(await state.record(conv, sender, early, 1)).toEqual({ kind: 'duplicate' });
  });

  it('drops a message whose number was delivered, whatever its id', async () => {
    const state = new ReceiveState(new MemoryKeyStore());
    await receive(state, [1, 2]);
    expect(await receive(state, [1, 2])).toEqual([{ kind: 'duplicate' }, { kind: 'duplicate' }]);
    expect(await receive(state, [1], other)).toEqual([{ kind: 'new' }]); // another sender device: its own numbers
  });

  it('drops a message sent again under the same id with another number, while its id is recent', async () => {
    const state = new ReceiveState(new MemoryKeyStore());
    const id = newId();
    await state.record(conv, sender, id, 1);
    expect(await state.record(conv, sender, id, 2)).toEqual({ kind: 'duplicate' });
    expect(await receive(state, [2])).toEqual([{ kind: 'new' }]); // the number was not taken
  });

  it('reports a jump as a gap, delivers each late one once as reordered, and then drops it', async () => {
    const state = new ReceiveState(new MemoryKeyStore());
    expect(await receive(state, [1, 5])).toEqual([{ kind: 'new' }, { kind: 'new', gap: { expected: 2, received: 5 } }]);
    expect(await receive(state, [3, 3, 2, 4, 4, 5, 6])).toEqual([
      { kind: 'new', reordered: { expectedAfter: 5 } },
      { kind: 'duplicate' },
      { kind: 'new', reordered: { expectedAfter: 5 } },
      { kind: 'new', reordered: { expectedAfter: 5 } },
      { kind: 'duplicate' },
      { kind: 'duplicate' },
      { kind: 'new' },
    ]);
  });

  it('takes the numbers below the first one received as a gap, not reported', async () => {
    const state = new ReceiveState(new MemoryKeyStore());
    expect(await receive(state, [7, 3, 3, 8])).toEqual([
      { kind: 'new' },
      { kind: 'new', reordered: { expectedAfter: 7 } },
      { kind: 'duplicate' },
      { kind: 'new' },
    ]);
  });

  it('keeps what it delivered across restarts (a new receive state on the same store)', async () => {
    const store = new MemoryKeyStore();
    await receive(new ReceiveState(store), [1, 2, 4]);
    const restarted = new ReceiveState(store);
    expect(await receive(restarted, [2, 4, 3, 3, 5])).toEqual([
      { kind: 'duplicate' },
      { kind: 'duplicate' },
      { kind: 'new', reordered: { expectedAfter: 4 } },
      { kind: 'duplicate' },
      { kind: 'new' },
    ]);
  });

  it('bounds the gaps: past the bound the lowest run is forgotten, and its messages are dropped', async () => {
    const state = new ReceiveState(new MemoryKeyStore(), { maxGapRuns: 2 });
    await receive(state, [1, 3, 5, 7]); // gaps 2, 4, 6: 2 forgotten
    expect(await receive(state, [2, 4])).toEqual([
      { kind: 'duplicate' },
      { kind: 'new', reordered: { expectedAfter: 7 } },
    ]);
    // A late one inside a run splits it in two: one run too many, and the lowest goes.
    await receive(state, [12]); // gaps 6, 8-11
    expect(await receive(state, [9, 6, 8, 10])).toEqual([
      { kind: 'new', reordered: { expectedAfter: 12 } },
      { kind: 'duplicate' },
      { kind: 'new', reordered: { expectedAfter: 12 } },
      { kind: 'new', reordered: { expectedAfter: 12 } },
    ]);
  });

  it('reads the state an SDK 0.1 device stored: the last number and the missing ones', async () => {
    const store = new MemoryKeyStore();
    const early = newId();
    await store.set(STORE_KEYS.receiveState(conv), {
      senders: { [sender]: { last: 6, missing: [3, 2, 5] } },
      seen: [early],
    });
    const state = new ReceiveState(store);
    expect(await state.record(conv, sender, early, 1)).toEqual({ kind: 'duplicate' });
    expect(await receive(state, [1, 4, 2, 3, 5, 6, 7])).toEqual([
      { kind: 'duplicate' },
      { kind: 'duplicate' },
      { kind: 'new', reordered: { expectedAfter: 6 } },
      { kind: 'new', reordered: { expectedAfter: 6 } },
      { kind: 'new', reordered: { expectedAfter: 6 } },
      { kind: 'duplicate' },
      { kind: 'new' },
    ]);
  });

  it('records messages given at once without losing one', async () => {
    const store = new MemoryKeyStore();
    const state = new ReceiveState(store);
    await Promise.all([1, 2, 3].map((seq) => state.record(conv, sender, newId(), seq)));
    expect(await receive(new ReceiveState(store), [1, 2, 3, 4])).toEqual([
      { kind: 'duplicate' },
      { kind: 'duplicate' },
      { kind: 'duplicate' },
      { kind: 'new' },
    ]);
  });
});
