import { randomBytes, sealEnvelope, signReceipt } from '@ncp-hub/crypto';
import {
  type ConversationId,
  type ConversationInfo,
  type ConversationItem,
  type Cursor,
  type MessageId,
  toBase64url,
} from '@ncp-hub/protocol';
import { beforeAll, describe, expect, it } from 'vitest';
import { waitFor } from '../../../test/helpers/wait-for.js';
import { Directory, type DirectoryLookup } from '../../src/client/directory.js';
import type { Conversation, HubClientEvents } from '../../src/client/hub-client-events.js';
import { Inbox } from '../../src/client/inbox.js';
import { ReceiveState } from '../../src/client/receive-state.js';
import { TaskQueue } from '../../src/client/task-queue.js';
import { MemoryKeyStore } from '../../src/store/index.js';
import {
  directoryOf,
  type FakeAgency,
  FakeHub,
  fakeAgency,
  hubErrorOf,
  pinnedTrust,
  type TestDevice,
  testDevice,
} from './fakes.js';

let ua: FakeAgency;
let pl: FakeAgency;
let a1: TestDevice;
let b1: TestDevice;
let outsider: TestDevice;
const conv = 'AAAAAAAAAAAAAAAAAAAAAA' as ConversationId;
const other = 'BBBBBBBBBBBBBBBBBBBBBA' as ConversationId;

beforeAll(async () => {
  [ua, pl] = await Promise.all([fakeAgency('UA-NPU'), fakeAgency('PL-KGP')]);
  [a1, b1, outsider] = await Promise.all([
    testDevice(ua, 'a', 'a1'),
    testDevice(pl, 'b', 'b1', 'PL'),
    testDevice(ua, 'outsider', 'o1'),
  ]);
});

let cursorCount = 0;
const nextCursor = (): Cursor => `${1_700_000_000_000 + ++cursorCount}-0`;

/** A message from `from` in `conversation`, sealed to b1, as the hub pushes it. */
async function messageItem(
  seq: number,
  options: { from?: TestDevice; conversation?: ConversationId; id?: MessageId; text?: string } = {},
): Promise<ConversationItem> {
  const from = options.from ?? a1;
  const conversation = options.conversation ?? conv;
  const envelope = await sealEnvelope({
    header: {
      id: options.id ?? toBase64url(randomBytes(16)),
      conv: conversation,
      from: from.ref,
      ts: 1,
      seq,
      kind: 'chat',
    },
    content: { v: 1, type: 'text', text: options.text ?? `message ${seq}` },
    recipients: [{ address: b1.device.address, encryptionKey: b1.device.keys.encryption.publicKey }],
    signingSecretKey: from.device.keys.signing.secretKey,
  });
  return { type: 'message', conv, cursor: nextCursor(), receivedAt: 2, envelope };
}

function recorder() {
  const events: Array<[keyof HubClientEvents, unknown]> = [];
  const emit = (event: keyof HubClientEvents, ...args: unknown[]) => events.push([event, args[0]]);
  const of = (name: keyof HubClientEvents) => events.filter(([event]) => event === name).map(([, value]) => value);
  return { events, emit, of };
}

/** The inbox of device b1; the hub answers sync from `log`, and acks and receipts are recorded. */
function setUp(
  options: {
    deliveryReceipts?: boolean;
    lookup?: DirectoryLookup;
    log?: ConversationItem[];
    retryDelays?: { firstMs: number; maxMs: number };
    /** How many ids the receive state remembers. */
    recentIds?: number;
  } = {},
) {
  const log = options.log ?? [];
  const hub = new FakeHub(({ event, payload }) => {
    switch (event) {
      case 'conversation:list':
        return { conversations: [info(log)] };
      case 'conversation:get':
        return { conversation: info(log) };
      case 'conversation:sync': {
        const after = payload.after === null ? -1 : log.findIndex((item) => item.cursor === payload.after);
        const items = log.slice(after + 1, after + 1 + payload.limit);
        return { items, more: after + 1 + payload.limit < log.length };
      }
      case 'conversation:ack':
        return { acked: payload.cursor };
      case 'receipt:send':
        return { cursor: nextCursor() };
      default:
        throw new Error(`unexpected ${event}`);
    }
  });
  const conversation: Conversation = {
    id: conv,
    kind: 'direct',
    basis: { type: 'formal-request', reference: 'MLA/1', caseReference: 'C-1' },
    members: [a1.officer, b1.officer],
  };
  const lookup: DirectoryLookup = options.lookup ?? (async () => directoryOf([a1, b1, outsider]));
  const directory = new Directory(lookup, pinnedTrust([ua, pl]), 30_000);
  const { emit, of } = recorder();
  const queue = new TaskQueue((error) => emit('error', error));
  const inbox = new Inbox({
    hub,
    device: b1.device,
    conversations: {
      adopt: async () => conversation,
      verified: async (id) => {
        if (id !== conv) throw hubErrorOf('NOT_A_MEMBER');
        return conversation;
      },
    },
    directory,
    received: new ReceiveState(new MemoryKeyStore(), { recentIds: options.recentIds }),
    queue,
    deliveryReceipts: options.deliveryReceipts ?? true,
    ...(options.retryDelays ? { retryDelays: options.retryDelays } : {}),
    emit,
  });
  /** Processing as the client does it: through the queue; then the scheduled flush. */
  const receive = async (...items: ConversationItem[]) => {
    for (const item of items) queue.add(() => inbox.process(item));
    await settle(queue);
  };
  return { hub, inbox, queue, of, receive, log };
}

function info(log: ConversationItem[]): ConversationInfo {
  return {
    id: conv,
    members: ['PL-KGP/b', 'UA-NPU/a'],
    records: [],
    last: log.at(-1)?.cursor ?? null,
    acked: null,
  } as never;
}

/**
 * Until the items given to the queue are processed and their flush has run. The inbox schedules
 * its flush with a timer of 0 ms while processing; timers of one delay fire in the order they
 * were set, so once this one fires the flush is in the queue.
 */
async function settle(queue: TaskQueue) {
  await queue.idle();
  await new Promise((resolve) => setTimeout(resolve, 0));
  await queue.idle();
}

describe('Inbox', () => {
  it('delivers a verified message once, acknowledges it and confirms it with a signed delivered receipt', async () => {
    const { hub, of, receive } = setUp();
    const item = await messageItem(1, { text: 'hello' });
    await receive(item, item);
    expect(of('message')).toMatchObject([{ conversation: conv, from: a1.ref, seq: 1, content: { text: 'hello' } }]);
    expect(of('duplicate')).toHaveLength(1);
    expect(hub.sent('conversation:ack')).toEqual([{ conv, cursor: item.cursor }]);
    const [receipt] = hub.sent('receipt:send');
    expect(receipt.receipt.receipt).toMatchObject({ type: 'delivered', by: b1.ref, conv });
    expect(receipt.receipt.receipt.ids).toHaveLength(1);
  });

  it('drops a message replayed after more messages than it remembers ids: a duplicate, delivered once', async () => {
    const { of, receive } = setUp({ recentIds: 2 });
    const early = await messageItem(1, { text: 'early' });
    await receive(early);
    for (let seq = 2; seq <= 5; seq++) await receive(await messageItem(seq));
    await receive({ ...early, cursor: nextCursor() });
    expect(of('duplicate')).toEqual([
      { conversation: conv, messageId: early.type === 'message' && early.envelope.header.id },
    ]);
    expect(of('reordered')).toEqual([]);
    expect(of('message').map((m) => (m as { seq: number }).seq)).toEqual([1, 2, 3, 4, 5]);
  });

  it('reports a gap and a message that came late', async () => {
    const { of, receive } = setUp();
    const [one, two, three] = [await messageItem(1), await messageItem(2), await messageItem(3)];
    await receive(one as ConversationItem, three as ConversationItem, two as ConversationItem);
    expect(of('message').map((m) => (m as { seq: number }).seq)).toEqual([1, 3, 2]);
    expect(of('gap')).toMatchObject([{ expected: 2, received: 3 }]);
    expect(of('reordered')).toMatchObject([{ seq: 2, expectedAfter: 3 }]);
  });

  it('reports each message that fails a check, with no plaintext, and acknowledges it (a final verdict)', async () => {
    const { hub, of, receive } = setUp();
    const malformed = { ...(await messageItem(1)), envelope: { junk: true } } as never;
    const moved = { ...(await messageItem(2)), conv: other } as ConversationItem;
    const notMember = await messageItem(1, { from: outsider });
    const unknownSender = await messageItem(1, { from: { ...a1, ref: { ...a1.ref, device: 'never-published' } } });
    await receive(malformed, moved, notMember, unknownSender);
    expect(of('message')).toEqual([]);
    expect(of('undecryptable').map((f) => (f as { reason: string }).reason)).toEqual([
      'MALFORMED',
      'CONVERSATION_MISMATCH',
      'NOT_A_MEMBER',
      'SENDER_UNKNOWN',
    ]);
    expect(hub.sent('conversation:ack').map((a) => a.cursor)).toContain(unknownSender.cursor);
  });

  it('after a passing failure acknowledges nothing more of that conversation, until the next sync delivers it once', async () => {
    let failing = true;
    const lookup: DirectoryLookup = async () => {
      if (failing) throw hubErrorOf('REQUEST_TIMEOUT');
      return directoryOf([a1, b1]);
    };
    const log = [await messageItem(1), await messageItem(2)];
    const { hub, inbox, queue, of, receive } = setUp({ lookup, log });
    await receive(...log);
    expect(of('error')).toMatchObject([{ code: 'REQUEST_TIMEOUT' }]);
    expect(of('message')).toEqual([]);
    expect(hub.sent('conversation:ack')).toEqual([]);
    failing = false;
    await queue.run(() => inbox.syncAll());
    expect(of('message').map((m) => (m as { seq: number }).seq)).toEqual([1, 2]);
    expect(hub.sent('conversation:ack')).toEqual([{ conv, cursor: log[1]?.cursor }]);
  });

  it('syncs a stalled conversation again by itself while connected, until it goes through', async () => {
    let failures = 3;
    const lookup: DirectoryLookup = async () => {
      if (failures > 0) {
        failures -= 1;
        throw hubErrorOf('REQUEST_TIMEOUT');
      }
      return directoryOf([a1, b1]);
    };
    const log = [await messageItem(1), await messageItem(2)];
    const { hub, inbox, of, receive } = setUp({ lookup, log, retryDelays: { firstMs: 1, maxMs: 8 } });
    await receive(...log); // the first stalls the conversation, the second is skipped
    await waitFor(() => of('message').length === 2, 5000, 5);
    expect(of('message').map((m) => (m as { seq: number }).seq)).toEqual([1, 2]);
    expect(of('error')).toHaveLength(3);
    // Every try after the first is a sync of that conversation alone, from its acknowledged position.
    expect(hub.sent('conversation:get')).toEqual([{ conv }, { conv }, { conv }]);
    expect(hub.sent('conversation:list')).toEqual([]);
    await waitFor(() => hub.sent('conversation:ack').length > 0, 5000, 5);
    expect(hub.sent('conversation:ack').at(-1)).toEqual({ conv, cursor: log[1]?.cursor });
    inbox.stop();
  });

  it('does not sync a stalled conversation again while disconnected, nor once stopped', async () => {
    const timingOut: DirectoryLookup = async () => {
      throw hubErrorOf('REQUEST_TIMEOUT');
    };
    const log = [await messageItem(1)];
    const retryDelays = { firstMs: 1, maxMs: 1 };
    const offline = setUp({ lookup: timingOut, log, retryDelays });
    offline.hub.connected = false;
    await offline.receive(...log);
    const stopped = setUp({ lookup: timingOut, log, retryDelays });
    stopped.queue.add(() => stopped.inbox.process(log[0] as ConversationItem));
    await stopped.queue.idle();
    stopped.inbox.stop();
    // The barrier: an inbox stalled after both, whose retry (due after theirs) goes through.
    let failed = false;
    const control = setUp({
      lookup: async () => {
        if (failed) return directoryOf([a1, b1]);
        failed = true;
        throw hubErrorOf('REQUEST_TIMEOUT');
      },
      log,
      retryDelays,
    });
    await control.receive(...log);
    await waitFor(() => control.of('message').length === 1, 5000, 5);
    await Promise.all([offline.queue.idle(), stopped.queue.idle()]);
    for (const { hub, of } of [offline, stopped]) {
      expect(hub.calls.filter((call) => call.event === 'conversation:get')).toEqual([]);
      expect(of('message')).toEqual([]);
    }
    control.inbox.stop();
  });

  it('puts back the receipts and acknowledgements a flush did not send, for the next flush to send', async () => {
    const log: ConversationItem[] = [];
    for (let seq = 1; seq <= 150; seq++) log.push(await messageItem(seq));
    const { hub, inbox, receive } = setUp({ log });
    hub.connected = false;
    await receive(...log); // every flush meanwhile keeps what it has, for later
    hub.connected = true;
    const answer = hub.answer;
    let flushRequests = 0;
    hub.answer = (call) => {
      if (call.event === 'receipt:send' || call.event === 'conversation:ack') {
        flushRequests += 1;
        // The second receipt (ids 101-150) of the first flush fails; then the acknowledgement of the second.
        if (flushRequests === 2 || flushRequests === 4) throw hubErrorOf('REQUEST_TIMEOUT');
      }
      return answer(call);
    };
    await expect(inbox.flush()).rejects.toMatchObject({ code: 'REQUEST_TIMEOUT' });
    await expect(inbox.flush()).rejects.toMatchObject({ code: 'REQUEST_TIMEOUT' });
    await inbox.flush();
    const receipts = hub.sent('receipt:send').map((p) => p.receipt.receipt.ids as string[]);
    expect(receipts.map((ids) => ids.length)).toEqual([100, 50, 50]);
    expect(receipts[2]).toEqual(receipts[1]);
    expect(hub.sent('conversation:ack')).toEqual([
      { conv, cursor: log[149]?.cursor },
      { conv, cursor: log[149]?.cursor },
    ]);
    await inbox.flush();
    expect(hub.sent('receipt:send')).toHaveLength(3);
    expect(hub.sent('conversation:ack')).toHaveLength(2);
  });

  it('syncs page after page from the acknowledged position', async () => {
    const log: ConversationItem[] = [];
    for (let seq = 1; seq <= 450; seq++) log.push(await messageItem(seq));
    const { hub, inbox, of } = setUp({ log });
    await inbox.syncAll();
    expect(of('message')).toHaveLength(450);
    expect(hub.sent('conversation:sync').map((p) => p.limit)).toEqual([200, 200, 200]);
    expect(hub.sent('conversation:sync')[1].after).toBe(log[199]?.cursor);
    // 450 ids: one delivered receipt per 100
    expect(hub.sent('receipt:send').map((p) => p.receipt.receipt.ids.length)).toEqual([100, 100, 100, 100, 50]);
  });

  it('keeps receipts and acknowledgements while disconnected, and sends them once connected', async () => {
    const { hub, inbox, receive } = setUp();
    hub.connected = false;
    const item = await messageItem(1);
    await receive(item);
    expect(hub.sent('conversation:ack')).toEqual([]);
    hub.connected = true;
    await inbox.flush();
    expect(hub.sent('conversation:ack')).toEqual([{ conv, cursor: item.cursor }]);
    expect(hub.sent('receipt:send')).toHaveLength(1);
  });

  it('sends no delivered receipt when the application turned them off, and still acknowledges', async () => {
    const { hub, receive } = setUp({ deliveryReceipts: false });
    await receive(await messageItem(1));
    expect(hub.sent('receipt:send')).toEqual([]);
    expect(hub.sent('conversation:ack')).toHaveLength(1);
  });

  it('delivers a receipt whose signature verifies, and rejects one that does not', async () => {
    const { of, receive } = setUp();
    const receipt = await signReceipt(
      { v: 1, conv, type: 'read', ids: ['CCCCCCCCCCCCCCCCCCCCCA'], by: a1.ref, ts: 5 },
      a1.device.keys.signing.secretKey,
    );
    const forged = await signReceipt(
      { v: 1, conv, type: 'read', ids: ['CCCCCCCCCCCCCCCCCCCCCA'], by: a1.ref, ts: 5 },
      outsider.device.keys.signing.secretKey,
    );
    await receive(
      { type: 'receipt', conv, cursor: nextCursor(), receivedAt: 1, receipt },
      { type: 'receipt', conv, cursor: nextCursor(), receivedAt: 1, receipt: forged },
    );
    expect(of('receipt')).toEqual([
      { conversation: conv, type: 'read', messageIds: ['CCCCCCCCCCCCCCCCCCCCCA'], by: a1.ref, at: 5 },
    ]);
    expect(of('receiptRejected')).toMatchObject([{ reason: 'SIGNATURE_INVALID' }]);
  });
});
