/**
 * A member that stops reading cannot make the hub's memory grow without bound (issue 9, item 2).
 * A device completes the handshake over a raw Engine.IO WebSocket, then stops reading its TCP
 * socket (it keeps sending an Engine.IO pong every few seconds, so the heartbeat does not end
 * it); two officers send large envelopes to a conversation it is a member of. The hub holds at
 * most MAX_BUFFERED_BYTES_PER_SOCKET (low in one run) and MAX_BUFFERED_FRAMES_PER_SOCKET (low in
 * the other) for it, then closes the connection (docs/PROTOCOL.md §5.2): the slow client finds
 * its connection ended, reconnects and syncs from its cursor; the other members receive every
 * message, those after the drop too; the memory comes back (the hub runs in this process: its
 * heap and buffers after a full collection, before, at the peak sampled and after, are logged);
 * and the Socket.IO adapter's Redis stream stays at ADAPTER_STREAM_MAX_LEN entries (XLEN)
 * instead of one per message. A client on HTTP long-polling that stops polling is held to the
 * same bound: its Engine.IO session is ended, and its next poll refused.
 */
import type { Socket as TcpSocket } from 'node:net';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { type ConversationItem, EVENTS, type MessageItem } from '@ncp-hub/protocol';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { tokenFor } from '../helpers/agencies.js';
import { startTestHub, type TestHub } from '../helpers/hub.js';
import {
  connect,
  createConversation,
  createRecord,
  envelopeFrom,
  published,
  type RawDevice,
  request,
} from '../helpers/raw-devices.js';
import { openRawEngine } from '../helpers/raw-engine.js';
import { closeAllSockets } from '../helpers/sockets.js';
import { waitFor } from '../helpers/wait-for.js';

/**
 * The bounds under test, one low in each run (the other at its default), so that the test sends
 * tens of megabytes, not hundreds; and the label of the drop it expects.
 */
const BOUNDS = [
  { limit: 'bytes', env: { MAX_BUFFERED_BYTES_PER_SOCKET: String(2 * 1024 * 1024) } },
  { limit: 'frames', env: { MAX_BUFFERED_FRAMES_PER_SOCKET: '16' } },
] as const;
/** How far above its level before the memory may be once the slow socket is gone. */
const MEMORY_MARGIN = 8 * 1024 * 1024;
const STREAM_MAX_LEN = 100;
/** A text that makes an envelope to three devices about 60 KB (`é` is two bytes of UTF-8). */
const TEXT = 'é'.repeat(21_500);
/** Messages sent at least (more than the stream keeps), and at most while waiting for the drop. */
const AT_LEAST = 400;
const AT_MOST = 1500;
/** Messages sent after the drop, which the other members must receive too. */
const AFTER_DROP = 50;

let redis: Redis;

/** What the heap and the buffers hold after a full collection (the hub runs in this process). */
const gc = (() => {
  setFlagsFromString('--expose-gc');
  return runInNewContext('gc') as () => void;
})();
function held(): number {
  gc();
  gc();
  const { heapUsed, arrayBuffers } = process.memoryUsage();
  return heapUsed + arrayBuffers;
}
const mb = (bytes: number) => (bytes / 1e6).toFixed(1);

/** The hub's count of connections closed as slow past `limit`, from /metrics. */
async function droppedAsSlow(testHub: TestHub, limit: string): Promise<number> {
  const text = await (await fetch(`${testHub.url}/metrics`)).text();
  const count = new RegExp(`^ncp_hub_slow_sockets_dropped_total\\{limit="${limit}"\\} (\\d+)$`, 'm').exec(text);
  return Number(count?.[1] ?? 0);
}

/**
 * A device that completes the handshake over a raw Engine.IO WebSocket and then stops reading
 * its TCP socket, sending an Engine.IO pong every 2 s meanwhile.
 */
async function slowReader(testHub: TestHub, device: RawDevice) {
  const token = await tokenFor(device.agency, { officer: device.ref.officer });
  const raw = await openRawEngine(testHub.url, { token, device: device.ref.device });
  await waitFor(() => raw.received.some((frame) => frame.startsWith(`2["${EVENTS.sessionWelcome}"`)));
  const ws = (raw.engine.transport as unknown as { ws: { _socket: TcpSocket; send(data: string): void } }).ws;
  ws._socket.pause();
  const pong = setInterval(() => ws.send('3'), 2000);
  raw.engine.on('close', () => clearInterval(pong));
  return {
    closed: raw.closed,
    /** Reads again (what is left of its connection), and stops the pongs. */
    resume() {
      clearInterval(pong);
      ws._socket.resume();
    },
    close() {
      clearInterval(pong);
      raw.engine.close();
    },
  };
}

/** The ids of the messages `device` receives live in `conv`. */
function receivedBy(device: RawDevice, conv: string): Set<string> {
  const ids = new Set<string>();
  device.socket.on(EVENTS.conversationItem, (item: ConversationItem) => {
    if (item.type === 'message' && item.conv === conv) ids.add(item.envelope.header.id);
  });
  return ids;
}

beforeAll(() => {
  redis = new Redis(inject('redisUrl'));
});
afterAll(() => redis?.disconnect());

describe.each(BOUNDS)('a member that stops reading, with a low $limit bound', ({ limit, env }) => {
  let testHub: TestHub;
  beforeAll(async () => {
    testHub = await startTestHub({ ...env, ADAPTER_STREAM_MAX_LEN: String(STREAM_MAX_LEN) });
  });
  afterAll(async () => {
    closeAllSockets();
    await testHub?.stop();
  });

  it('is disconnected past its bound; the others get everything, the memory comes back, the stream stays bounded', async () => {
    const ua = testHub.agencies['UA-NPU'];
    const pl = testHub.agencies['PL-KGP'];
    const first = await published(testHub, ua, 'ua.first', 'desk');
    const second = await published(testHub, pl, 'pl.second', 'desk');
    const reader = await published(testHub, pl, 'pl.reader', 'desk');
    // The slow device is published over an ordinary connection, then connects again raw.
    const slowDevice = await published(testHub, ua, 'ua.slow', 'desk');
    slowDevice.socket.close();

    const { conv, signed } = await createRecord(
      first,
      [second.ref, reader.ref, slowDevice.ref],
      { type: 'formal-request', reference: 'MLA/slow', caseReference: 'CASE-slow' },
      'group',
    );
    expect(await request(first.socket, EVENTS.conversationCreate, { record: signed })).toMatchObject({ ok: true });
    const byReader = receivedBy(reader, conv);
    const byFirst = receivedBy(first, conv);
    const bySecond = receivedBy(second, conv);

    const slow = await slowReader(testHub, slowDevice);
    const before = held();
    /** The ids sent, in order, and by each sender. */
    const sent: string[] = [];
    const sentBy = new Map<RawDevice, string[]>([
      [first, []],
      [second, []],
    ]);
    let peak = before;
    let droppedAt: number | undefined;
    let size = 0;
    for (let n = 0; n < AT_MOST; n += 1) {
      const sender = n % 2 === 0 ? first : second;
      const to = [sender === first ? second : first, reader, slowDevice];
      const envelope = await envelopeFrom(sender, conv, to, { seq: n + 1, text: TEXT });
      size = JSON.stringify(envelope).length;
      expect(await request(sender.socket, EVENTS.messageSend, { envelope })).toMatchObject({ ok: true });
      sent.push(envelope.header.id);
      sentBy.get(sender)?.push(envelope.header.id);
      if (n % 20 === 0) peak = Math.max(peak, held());
      if (droppedAt === undefined && n % 10 === 0 && (await droppedAsSlow(testHub, limit)) > 0) droppedAt = n + 1;
      if (droppedAt !== undefined && n + 1 >= Math.max(AT_LEAST, droppedAt + AFTER_DROP)) break;
    }
    const total = sent.length;
    console.info(
      `slow reader (${limit}): ${total} envelopes of ${size} bytes sent (${mb(total * size)} MB), ` +
        `the slow socket dropped after ${droppedAt ?? 'never'}; held: before ${mb(before)} MB, peak ${mb(peak)} MB`,
    );
    expect(size).toBeGreaterThan(55_000);
    expect(droppedAt, 'the hub never closed the connection of the client that does not read').toBeDefined();
    expect(await droppedAsSlow(testHub, limit)).toBe(1);

    // Every other member received every message of the others, the ones after the drop too.
    await waitFor(() => byReader.size === total, 20_000);
    await waitFor(() => byFirst.size === sentBy.get(second)?.length && bySecond.size === sentBy.get(first)?.length);
    expect([...byReader].sort()).toEqual([...sent].sort());
    expect([...byFirst].sort()).toEqual([...(sentBy.get(second) ?? [])].sort());
    expect([...bySecond].sort()).toEqual([...(sentBy.get(first) ?? [])].sort());

    // The slow client, reading again, finds its connection ended (reset by the hub).
    slow.resume();
    await waitFor(() => slow.closed(), 20_000);

    // The memory comes back: what the heap and the buffers hold once collected is what they held before.
    const after = await waitFor(() => {
      const now = held();
      return now - before < MEMORY_MARGIN ? now : 0;
    }, 10_000);
    console.info(
      `slow reader (${limit}) memory (heap + buffers, this process, the hub included): before ${mb(before)} MB, ` +
        `peak ${mb(peak)} MB (sampled every 20 messages), after ${mb(after)} MB`,
    );

    // The adapter's stream holds its bound (trimmed in whole nodes of stream-node-max-entries), not one entry per message.
    const [, nodeEntries] = (await redis.config('GET', 'stream-node-max-entries')) as [string, string];
    const length = await redis.xlen(`${testHub.redisPrefix}socket.io`);
    console.info(
      `slow reader (${limit}): adapter stream XLEN ${length} after ${total} messages (bound ${STREAM_MAX_LEN})`,
    );
    expect(length).toBeLessThanOrEqual(STREAM_MAX_LEN + Number(nodeEntries));

    // It reconnects and syncs from its cursor (here, the start): every message is there.
    const again = await connect(testHub, ua, 'ua.slow', 'desk');
    const page = await request(again.socket, EVENTS.conversationSync, { conv, after: null, limit: 10 });
    expect(page).toMatchObject({ ok: true, more: true });
    const items = (page as unknown as { items: MessageItem[] }).items;
    expect(items.map((item) => item.envelope.header.id)).toEqual(sent.slice(0, 10));
    slow.close();
  }, 180_000);
});

describe('a client on HTTP long-polling that stops polling', () => {
  let testHub: TestHub;
  beforeAll(async () => {
    testHub = await startTestHub({ MAX_BUFFERED_BYTES_PER_SOCKET: String(2 * 1024 * 1024) });
  });
  afterAll(async () => {
    closeAllSockets();
    await testHub?.stop();
  });

  it('has its Engine.IO session ended past its bound: its next poll is refused', async () => {
    const first = await published(testHub, testHub.agencies['UA-NPU'], 'ua.first', 'desk');
    const poller = await published(testHub, testHub.agencies['PL-KGP'], 'pl.poller', 'desk');
    poller.socket.close();
    const conv = await createConversation(first, poller, 1);

    // The Engine.IO handshake and the namespace CONNECT by hand, polling until the welcome.
    const base = `${testHub.url}/socket.io/?EIO=4&transport=polling`;
    const opened = await (await fetch(base)).text();
    const { sid } = JSON.parse(opened.slice(1)) as { sid: string };
    const session = `${base}&sid=${encodeURIComponent(sid)}`;
    const token = await tokenFor(poller.agency, { officer: poller.ref.officer });
    const connected = await fetch(session, {
      method: 'POST',
      body: `40${JSON.stringify({ token, device: poller.ref.device })}`,
    });
    expect(await connected.text()).toBe('ok');
    await waitFor(async () => (await (await fetch(session)).text()).includes(`2["${EVENTS.sessionWelcome}"`));

    // It polls no more: what the hub sends it waits in the hub, up to the bound.
    let dropped = 0;
    for (let n = 0; n < AT_MOST && dropped === 0; n += 1) {
      const envelope = await envelopeFrom(first, conv, [poller], { seq: n + 1, text: TEXT });
      expect(await request(first.socket, EVENTS.messageSend, { envelope })).toMatchObject({ ok: true });
      dropped = await droppedAsSlow(testHub, 'bytes');
      if (dropped) console.info(`slow poller: dropped after ${n + 1} envelopes`);
    }
    expect(dropped).toBe(1);
    const poll = await fetch(session);
    expect(poll.status).toBe(400);
    expect(await poll.json()).toEqual({ code: 1, message: 'Session ID unknown' });
  });
});
