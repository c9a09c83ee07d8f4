import { hashMembershipRecord, signMembershipRecord } from '@ncp-hub/crypto';
import {
  type ConversationInfo,
  type DeviceRef,
  deviceAddress,
  officerAddress,
  type SignedMembershipRecord,
} from '@ncp-hub/protocol';
import { beforeAll, describe, expect, it } from 'vitest';
import { Conversations } from '../../src/client/conversations.js';
import type { HubClientEvents } from '../../src/client/hub-client-events.js';
import { KnownChains } from '../../src/client/known-chains.js';
import { STORE_KEYS } from '../../src/client/store-keys.js';
import { TaskQueue } from '../../src/client/task-queue.js';
import { MemoryKeyStore } from '../../src/store/index.js';
import { type FakeAgency, FakeHub, fakeAgency, type TestDevice, testDevice } from './fakes.js';

let ua: FakeAgency;
let pl: FakeAgency;
let a1: TestDevice;
let b1: TestDevice;
let c1: TestDevice;

beforeAll(async () => {
  [ua, pl] = await Promise.all([fakeAgency('UA-NPU'), fakeAgency('PL-KGP')]);
  [a1, b1, c1] = await Promise.all([
    testDevice(ua, 'a', 'a1'),
    testDevice(pl, 'b', 'b1', 'PL'),
    testDevice(pl, 'c', 'c1', 'PL'),
  ]);
});

const basis = { type: 'formal-request', reference: 'JIT/2026/3', caseReference: 'C-3' } as const;

/**
 * A hub that keeps each conversation's chain as sent; `tamper` (changed at will through the
 * returned `lie`) may change what it answers. `store` is the device's key store.
 */
function setUp(tamper: (info: ConversationInfo) => ConversationInfo = (info) => info, store = new MemoryKeyStore()) {
  const lie = { tamper };
  const chains = new Map<string, SignedMembershipRecord[]>();
  const infoOf = (conv: string): ConversationInfo => {
    const records = chains.get(conv) ?? [];
    const members = new Set<string>();
    for (const { record } of records) {
      if (record.op === 'create') for (const m of record.members) members.add(officerAddress(m));
      else if (record.op === 'add') members.add(officerAddress(record.member));
      else members.delete(officerAddress(record.member));
    }
    const first = records[0]?.record as Extract<SignedMembershipRecord['record'], { op: 'create' }>;
    return lie.tamper({
      id: conv,
      kind: first.kind,
      basis: first.basis,
      members: [...members].sort() as ConversationInfo['members'],
      records,
      createdAt: 1,
      last: null,
      acked: null,
    });
  };
  const hub = new FakeHub(({ event, payload }) => {
    if (event === 'conversation:create' || event === 'conversation:change') {
      const conv = payload.record.record.conv;
      chains.set(conv, [...(chains.get(conv) ?? []), payload.record]);
      return { conversation: infoOf(conv) };
    }
    if (event === 'conversation:get') return { conversation: infoOf(payload.conv) };
    if (event === 'conversation:list') return { conversations: [...chains.keys()].map(infoOf) };
    throw new Error(`unexpected ${event}`);
  });
  const keys = new Map([a1, b1, c1].map((d) => [d.device.address, d.device.keys.signing.publicKey]));
  const events: Array<[keyof HubClientEvents, unknown]> = [];
  const conversations = new Conversations({
    hub,
    device: a1.device,
    signingKeyOf: async (by: DeviceRef) => keys.get(deviceAddress(by)),
    known: new KnownChains(store),
    queue: new TaskQueue(() => {}),
    emit: (event, ...args) => events.push([event, args[0]]),
  });
  const of = (name: keyof HubClientEvents) => events.filter(([event]) => event === name).map(([, value]) => value);
  return { hub, conversations, of, lie, chains, store };
}

/** The chain cut back to its first `length` records, with the hub's member list to match. */
function cutBack(length: number) {
  return (info: ConversationInfo): ConversationInfo => {
    const records = info.records.slice(0, length);
    return { ...info, records, members: membersAfter(records) };
  };
}

/** `records` with `replacement` in place of record `index` and nothing after it. */
function forkedAt(index: number, replacement: SignedMembershipRecord) {
  return (info: ConversationInfo): ConversationInfo => {
    const records = [...info.records.slice(0, index), replacement];
    return { ...info, records, members: membersAfter(records) };
  };
}

function membersAfter(records: readonly SignedMembershipRecord[]): ConversationInfo['members'] {
  const members = new Set<string>();
  for (const { record } of records) {
    if (record.op === 'create') for (const m of record.members) members.add(officerAddress(m));
    else if (record.op === 'add') members.add(officerAddress(record.member));
    else members.delete(officerAddress(record.member));
  }
  return [...members].sort() as ConversationInfo['members'];
}

describe('Conversations', () => {
  it('creates a conversation with a record signed by this device, this officer always a member', async () => {
    const { hub, conversations, of } = setUp();
    const conversation = await conversations.create({ kind: 'group', members: [b1.officer, a1.officer], basis });
    expect(conversation).toMatchObject({ kind: 'group', basis, members: [a1.officer, b1.officer] });
    const [{ record }] = hub.sent('conversation:create');
    expect(record.record).toMatchObject({ op: 'create', seq: 1, prev: null, by: a1.ref, conv: conversation.id });
    expect(of('membership')).toEqual([conversation]);
  });

  it('adds and removes members with records chained to the last one', async () => {
    const { hub, conversations, of } = setUp();
    const { id } = await conversations.create({ kind: 'group', members: [b1.officer], basis });
    const added = await conversations.change(id, 'add', c1.officer);
    expect(added.members).toEqual([a1.officer, b1.officer, c1.officer]);
    const removed = await conversations.change(id, 'remove', b1.officer);
    expect(removed.members).toEqual([a1.officer, c1.officer]);
    const [create, add] = [hub.sent('conversation:create')[0].record, hub.sent('conversation:change')[0].record];
    expect(add.record).toMatchObject({ op: 'add', seq: 2, prev: await hashMembershipRecord(create) });
    expect(of('membership')).toHaveLength(3);
  });

  it('keeps a verified conversation: asked of the hub once', async () => {
    const { hub, conversations } = setUp();
    const { id } = await conversations.create({ kind: 'direct', members: [b1.officer], basis });
    const fresh = setUp();
    fresh.hub.answer = hub.answer;
    await fresh.conversations.verified(id);
    await fresh.conversations.verified(id);
    expect(fresh.hub.sent('conversation:get')).toHaveLength(1);
  });

  it('refreshes a kept conversation from the hub, verified: a member added elsewhere is in it', async () => {
    const { hub, conversations } = setUp();
    const { id } = await conversations.create({ kind: 'group', members: [b1.officer], basis });
    const elsewhere = setUp(); // another device of the officer, against the same hub
    elsewhere.hub.answer = hub.answer;
    await elsewhere.conversations.change(id, 'add', c1.officer);
    expect((await conversations.verified(id)).members).toEqual([a1.officer, b1.officer]);
    expect((await conversations.refresh(id)).members).toEqual([a1.officer, b1.officer, c1.officer]);
    expect((await conversations.verified(id)).members).toEqual([a1.officer, b1.officer, c1.officer]);
    expect(hub.sent('conversation:get')).toEqual([{ conv: id }]);
  });

  it('reports a member the hub lists but the chain does not hold', async () => {
    const ghost = 'PL-KGP/ghost' as ConversationInfo['members'][number];
    const { conversations, of } = setUp((info) => ({ ...info, members: [...info.members, ghost] }));
    const conversation = await conversations.create({ kind: 'direct', members: [b1.officer], basis });
    expect(conversation.members).toEqual([a1.officer, b1.officer]);
    expect(of('membershipMismatch')).toEqual([{ conversation: conversation.id, ghosts: [ghost], missing: [] }]);
  });

  it('does not use a conversation whose chain does not verify: MEMBERSHIP_INVALID', async () => {
    const { conversations, of } = setUp((info) => {
      const [first] = info.records as [SignedMembershipRecord];
      return { ...info, records: [{ ...first, record: { ...first.record, ts: first.record.ts + 1 } }] };
    });
    await expect(conversations.create({ kind: 'direct', members: [b1.officer], basis })).rejects.toMatchObject({
      name: 'ConversationError',
      code: 'MEMBERSHIP_INVALID',
    });
    expect(of('membershipInvalid')).toMatchObject([{ index: 0 }]);
    expect(await conversations.list()).toEqual([]);
  });
});

describe('Conversations against a hub that rolls a chain back', () => {
  /** [a, b, c] created by a1, then c removed: the chain this device verified has two records. */
  async function afterRemoval() {
    const part = setUp();
    const { id } = await part.conversations.create({ kind: 'group', members: [b1.officer, c1.officer], basis });
    await part.conversations.change(id, 'remove', c1.officer);
    return { ...part, id };
  }

  it('keeps the length and head hash of the longest chain it verified in the key store', async () => {
    const { id, chains, store } = await afterRemoval();
    const [, removal] = chains.get(id) as [SignedMembershipRecord, SignedMembershipRecord];
    expect(await store.get(STORE_KEYS.knownChain(id))).toMatchObject({
      length: 2,
      head: await hashMembershipRecord(removal),
      conversation: { id, members: [a1.officer, b1.officer] },
    });
  });

  it('refuses the chain cut back to its create record: ROLLBACK, and the known members stay', async () => {
    const { id, conversations, of, lie } = await afterRemoval();
    lie.tamper = cutBack(1);
    const [listed] = await conversations.list();
    expect(of('membershipInvalid')).toEqual([{ conversation: id, reason: 'ROLLBACK', index: 1 }]);
    expect(listed?.members).toEqual([a1.officer, b1.officer]);
    expect((await conversations.refresh(id)).members).toEqual([a1.officer, b1.officer]);
    expect((await conversations.verified(id)).members).toEqual([a1.officer, b1.officer]);
  });

  it('refuses a fork of the same length, validly signed, with another head: ROLLBACK', async () => {
    const { id, hub, chains, conversations, of, lie } = await afterRemoval();
    const [create] = chains.get(id) as [SignedMembershipRecord];
    const fork = await signMembershipRecord(
      {
        v: 1,
        conv: id,
        seq: 2,
        prev: await hashMembershipRecord(create),
        op: 'add',
        member: { agency: 'PL-KGP', officer: 'd' },
        by: a1.ref,
        ts: 5,
      },
      a1.device.keys.signing.secretKey,
    );
    lie.tamper = forkedAt(1, fork);
    const { conversation: forked } = await hub.request('conversation:get', { conv: id });
    expect(forked.members).toContain('PL-KGP/d');
    expect(await conversations.adopt(forked)).toMatchObject({ members: [a1.officer, b1.officer] });
    expect(of('membershipInvalid')).toEqual([{ conversation: id, reason: 'ROLLBACK', index: 1 }]);
  });

  it('accepts the known chain again and every extension of it', async () => {
    const { id, conversations, of } = await afterRemoval();
    await conversations.list();
    expect((await conversations.change(id, 'add', c1.officer)).members).toEqual([a1.officer, b1.officer, c1.officer]);
    expect(of('membershipInvalid')).toEqual([]);
  });

  it('signs no change on top of a chain rolled back', async () => {
    const { id, hub, conversations, lie } = await afterRemoval();
    lie.tamper = cutBack(1);
    await expect(conversations.change(id, 'add', { agency: 'PL-KGP', officer: 'd' })).rejects.toMatchObject({
      code: 'MEMBERSHIP_INVALID',
    });
    expect(hub.sent('conversation:change')).toHaveLength(1); // the removal only
  });

  it('refuses the shorter chain after a restart too (a new part on the same key store), with the known members', async () => {
    const { id, hub, lie, store } = await afterRemoval();
    lie.tamper = cutBack(1);
    const restarted = setUp(undefined, store);
    restarted.hub.answer = hub.answer;
    await expect(restarted.conversations.verified(id)).resolves.toMatchObject({ members: [a1.officer, b1.officer] });
    expect(restarted.of('membershipInvalid')).toEqual([{ conversation: id, reason: 'ROLLBACK', index: 1 }]);
    const forgetful = setUp(undefined, new MemoryKeyStore()); // what a device without the known chain would take
    forgetful.hub.answer = hub.answer;
    expect((await forgetful.conversations.verified(id)).members).toEqual([a1.officer, b1.officer, c1.officer]);
  });
});
