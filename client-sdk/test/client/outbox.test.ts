import { openEnvelope } from '@ncp-hub/crypto';
import type { ConversationId, Envelope } from '@ncp-hub/protocol';
import { beforeAll, describe, expect, it } from 'vitest';
import { Directory } from '../../src/client/directory.js';
import type { Conversation } from '../../src/client/hub-client-events.js';
import { Outbox } from '../../src/client/outbox.js';
import { ReceiveState } from '../../src/client/receive-state.js';
import { MemoryKeyStore } from '../../src/store/index.js';
import {
  type Call,
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
let a2: TestDevice;
let b1: TestDevice;
let b2: TestDevice;
const conv = 'AAAAAAAAAAAAAAAAAAAAAA' as ConversationId;

beforeAll(async () => {
  [ua, pl] = await Promise.all([fakeAgency('UA-NPU'), fakeAgency('PL-KGP')]);
  [a1, a2, b1, b2] = await Promise.all([
    testDevice(ua, 'a', 'a1'),
    testDevice(ua, 'a', 'a2'),
    testDevice(pl, 'b', 'b1', 'PL'),
    testDevice(pl, 'b', 'b2', 'PL'),
  ]);
});

/**
 * An outbox of device a1 in a conversation of officers a and b, against a hub that refuses a
 * message whose `to` leaves out a published device of a member (`RECIPIENTS_CHANGED`), as the
 * hub does. `members.now` are the members as the hub has them (the outbox starts with a and b);
 * `refuse` answers a `message:send` instead of the hub, when it throws.
 */
function setUp(
  published: { now: TestDevice[] },
  options: { members?: { now: TestDevice[] }; refuse?: (call: Call) => void } = {},
) {
  const members = options.members ?? { now: [a1, b1] };
  const hub = new FakeHub((call) => {
    const { event, payload } = call;
    if (event === 'conversation:get') return { conversation: { id: conv } };
    if (event !== 'message:send') throw new Error(`unexpected ${event}`);
    options.refuse?.(call);
    const to: string[] = payload.envelope.header.to;
    const officers = members.now.map((d) => `${d.ref.agency}/${d.ref.officer}/`);
    const missing = published.now
      .map((d) => d.device.address)
      .filter((address) => officers.some((officer) => address.startsWith(officer)))
      .filter((address) => address !== a1.device.address && !to.includes(address));
    if (missing.length > 0) throw hubErrorOf('RECIPIENTS_CHANGED', missing);
    return { cursor: `${hub.calls.length}-0`, duplicate: false };
  });
  const lookup = async () => directoryOf(published.now);
  const directory = new Directory(lookup, pinnedTrust([ua, pl]), 30_000);
  const conversationOf = (devices: TestDevice[]): Conversation => ({
    id: conv,
    kind: 'group',
    basis: { type: 'formal-request', reference: 'MLA/1', caseReference: 'C-1' },
    members: [...new Map(devices.map((d) => [`${d.ref.agency}/${d.ref.officer}`, d.officer])).values()],
  });
  const cached = conversationOf(members.now);
  const store = new MemoryKeyStore();
  const outbox = new Outbox({
    hub,
    device: a1.device,
    store,
    conversations: {
      verified: async () => cached,
      // The hub's conversation:get, verified (the chain itself is the conversations part's test).
      refresh: async () => {
        await hub.request('conversation:get', { conv });
        return conversationOf(members.now);
      },
    },
    directory,
    received: new ReceiveState(store),
  });
  return { hub, outbox, directory, store, members };
}

const envelopes = (hub: FakeHub): Envelope[] => hub.sent('message:send').map((p) => p.envelope);

describe('Outbox', () => {
  it("seals a message to every verified device of the members, this officer's other devices included", async () => {
    const { hub, outbox } = setUp({ now: [a1, a2, b1] });
    const sent = await outbox.send(conv, 'hello');
    const [envelope] = envelopes(hub);
    expect(envelope?.header).toMatchObject({ id: sent.id, conv, from: a1.ref, seq: 1, kind: 'chat' });
    expect(envelope?.header.to).toEqual(['PL-KGP/b/b1', 'UA-NPU/a/a2']);
    const opened = await openEnvelope({
      envelope,
      recipient: { address: b1.device.address, encryption: b1.device.keys.encryption },
      senderSigningKey: a1.device.keys.signing.publicKey,
    });
    expect(opened).toEqual({ v: 1, type: 'text', text: 'hello' });
  });

  it('numbers the messages of a conversation 1, 2, 3 ..., sent one at a time in that order, kept in the store', async () => {
    const { hub, outbox, store } = setUp({ now: [a1, b1] });
    await Promise.all([outbox.send(conv, 'one'), outbox.send(conv, 'two'), outbox.send(conv, 'three')]);
    expect(envelopes(hub).map((e) => e.header.seq)).toEqual([1, 2, 3]);
    expect(await store.get(`seq:${conv}`)).toBe(3);
  });

  it('reaches a member added since the conversation was cached: the refusal makes it take the members again', async () => {
    const c1 = await testDevice(pl, 'c', 'c1', 'PL');
    const members = { now: [a1, b1] };
    const { hub, outbox } = setUp({ now: [a1, b1, c1] }, { members });
    await outbox.send(conv, 'first');
    members.now = [a1, b1, c1]; // b adds c; this outbox has not heard
    const sent = await outbox.send(conv, 'second');
    expect(hub.calls.map((call) => call.event)).toEqual([
      'message:send',
      'message:send',
      'conversation:get',
      'message:send',
    ]);
    const accepted = envelopes(hub).at(-1);
    expect(accepted?.header).toMatchObject({ id: sent.id, seq: 2, to: ['PL-KGP/b/b1', 'PL-KGP/c/c1'] });
    const opened = await openEnvelope({
      envelope: accepted,
      recipient: { address: c1.device.address, encryption: c1.device.keys.encryption },
      senderSigningKey: a1.device.keys.signing.publicKey,
    });
    expect(opened).toEqual({ v: 1, type: 'text', text: 'second' });
  });

  it("gives the sequence number back when the hub refused the message, and rejects with the hub's error as it is", async () => {
    let refusal: Error | undefined;
    const { hub, outbox, store } = setUp(
      { now: [a1, b1] },
      {
        refuse: () => {
          if (refusal) throw refusal;
        },
      },
    );
    await outbox.send(conv, 'one');
    for (const code of ['DEVICE_NOT_PUBLISHED', 'NOT_A_MEMBER', 'RATE_LIMITED'] as const) {
      refusal = hubErrorOf(code);
      await expect(outbox.send(conv, `refused: ${code}`)).rejects.toBe(refusal);
      expect(await store.get(`seq:${conv}`)).toBe(1);
    }
    refusal = undefined;
    await outbox.send(conv, 'two');
    expect(envelopes(hub).map((e) => e.header.seq)).toEqual([1, 2, 2, 2, 2]);
    expect(await store.get(`seq:${conv}`)).toBe(2);
  });

  it('gives the sequence number back when the resends are used up, or the connection was down before it went out', async () => {
    const published = { now: [a1, b1] };
    const { hub, outbox, store, directory } = setUp(published, {
      refuse: () => {
        throw hubErrorOf('RECIPIENTS_CHANGED', ['PL-KGP/b/b9']);
      },
    });
    await expect(outbox.send(conv, 'never stored')).rejects.toMatchObject({ code: 'RECIPIENTS_CHANGED' });
    expect(await store.get(`seq:${conv}`)).toBe(0);
    // The connection drops while the devices are looked up: the envelope never goes out.
    const lookup = directory.recipientsOf.bind(directory);
    directory.recipientsOf = async (...args) => {
      hub.connected = false;
      return lookup(...args);
    };
    await expect(outbox.send(conv, 'not sent')).rejects.toMatchObject({ code: 'NOT_CONNECTED' });
    expect(await store.get(`seq:${conv}`)).toBe(0);
  });

  it('gives the number back when the hub had the id already, from a send this outbox does not remember', async () => {
    const { hub, outbox, store } = setUp({ now: [a1, b1] });
    const answer = hub.answer;
    hub.answer = async (call) => ({ ...((await answer(call)) as object), duplicate: true, cursor: '1-0' });
    expect(await outbox.send(conv, 'stored before a restart', { id: 'CCCCCCCCCCCCCCCCCCCCCA' })).toEqual({
      id: 'CCCCCCCCCCCCCCCCCCCCCA',
      cursor: '1-0',
    });
    expect(await store.get(`seq:${conv}`)).toBe(0);
  });

  it('keeps the number and the id of a send that may have been stored; sent again by its id, it goes as it was', async () => {
    let failure: Error | undefined = hubErrorOf('REQUEST_TIMEOUT');
    const { hub, outbox, store } = setUp(
      { now: [a1, b1] },
      {
        refuse: () => {
          if (failure) throw failure;
        },
      },
    );
    const id = 'CCCCCCCCCCCCCCCCCCCCCA';
    await expect(outbox.send(conv, 'timed out', { id })).rejects.toMatchObject({ code: 'REQUEST_TIMEOUT' });
    failure = hubErrorOf('NOT_CONNECTED'); // the connection was lost after it went out
    await expect(outbox.send(conv, 'lost')).rejects.toMatchObject({ code: 'NOT_CONNECTED' });
    expect(await store.get(`seq:${conv}`)).toBe(2);
    failure = undefined;
    const again = await outbox.send(conv, 'timed out', { id });
    expect(again.id).toBe(id);
    const [first, , retried] = envelopes(hub);
    expect(retried?.header).toMatchObject({ id, seq: 1, ts: first?.header.ts });
    expect((await outbox.send(conv, 'next')).id).not.toBe(id);
    expect(envelopes(hub).at(-1)?.header.seq).toBe(3);
  });

  it('re-seals the same message (same id, seq and time) to a device published since, when the hub refuses it', async () => {
    const published = { now: [a1, b1] };
    const { hub, outbox } = setUp(published);
    await outbox.send(conv, 'first');
    published.now = [a1, b1, b2]; // b publishes a second device; the cached answer still lacks it
    const sent = await outbox.send(conv, 'second');
    const [, refused, accepted] = envelopes(hub);
    expect(refused?.header.to).toEqual(['PL-KGP/b/b1']);
    expect(accepted?.header.to).toEqual(['PL-KGP/b/b1', 'PL-KGP/b/b2']);
    const { to: _refusedTo, ...refusedHeader } = refused?.header ?? {};
    const { to: _acceptedTo, ...acceptedHeader } = accepted?.header ?? {};
    expect(acceptedHeader).toEqual(refusedHeader);
    expect(accepted?.header).toMatchObject({ id: sent.id, seq: 2 });
    const opened = await openEnvelope({
      envelope: accepted,
      recipient: { address: b2.device.address, encryption: b2.device.keys.encryption },
      senderSigningKey: a1.device.keys.signing.publicKey,
    });
    expect(opened).toEqual({ v: 1, type: 'text', text: 'second' });
  });

  it('sends to a device the directory announced (invalidated) without a refusal', async () => {
    const published = { now: [a1, b1] };
    const { hub, outbox, directory } = setUp(published);
    await outbox.send(conv, 'first');
    published.now = [a1, b1, b2];
    directory.invalidate([b1.officer]);
    await outbox.send(conv, 'second');
    expect(envelopes(hub).map((e) => e.header.to)).toEqual([['PL-KGP/b/b1'], ['PL-KGP/b/b1', 'PL-KGP/b/b2']]);
  });

  it('refuses NOT_CONNECTED while disconnected, before a sequence number is used up', async () => {
    const { hub, outbox, store } = setUp({ now: [a1, b1] });
    hub.connected = false;
    await expect(outbox.send(conv, 'offline')).rejects.toMatchObject({ name: 'ClientError', code: 'NOT_CONNECTED' });
    expect(hub.calls).toEqual([]);
    expect(await store.get(`seq:${conv}`)).toBeUndefined();
  });

  it('refuses NOT_A_MEMBER when no device of the members verifies, sending nothing', async () => {
    const { hub, outbox } = setUp({ now: [a1] });
    await expect(outbox.send(conv, 'to nobody')).rejects.toMatchObject({ code: 'NOT_A_MEMBER' });
    expect(hub.calls).toEqual([]);
  });
});
