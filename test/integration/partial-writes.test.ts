/**
 * A write that fails between its steps leaves nothing half-made (issue 9, item 9). The
 * creation of a conversation and the opening of a query write several keys; a key of the wrong
 * type (a string planted, through the suite's own Redis connection, where a later step writes a
 * set, a hash, a list or a stream: WRONGTYPE) makes one of those steps fail. The client gets a
 * coded error (INTERNAL), and nothing of the conversation or the query exists: no key of it in
 * Redis, no follow-up job; once the key is put back as it was, `conversation:get` and
 * `query:get` say not found, the officers' other conversations still list (and only they),
 * and the same request succeeds.
 * Over raw Socket.IO against the real hub and Redis.
 */
import { type ConversationInfo, EVENTS, type OfficerAddress, officerAddress } from '@ncp-hub/protocol';
import { type RedisKeys, redisKeys } from '@ncp-hub/server';
import { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, inject, it } from 'vitest';
import { startTestHub, type TestHub } from '../helpers/hub.js';
import {
  createConversation,
  createRecord,
  devicesOfAgency,
  published,
  queryOpening,
  type RawDevice,
  request,
} from '../helpers/raw-devices.js';
import { closeAllSockets } from '../helpers/sockets.js';

let hub: TestHub;
let redis: Redis;
let keys: RedisKeys;
let run = 0;
beforeAll(async () => {
  hub = await startTestHub();
  redis = new Redis(inject('redisUrl'));
  keys = redisKeys(hub.redisPrefix);
});
beforeEach(() => {
  run += 1;
});
afterEach(() => closeAllSockets());
afterAll(async () => {
  redis?.disconnect();
  await hub?.stop();
});

const INTERNAL = { ok: false, error: { code: 'INTERNAL', message: expect.any(String) } };

/** Every key under a pattern (SCAN), e.g. every key of one conversation. */
async function keysMatching(pattern: string): Promise<string[]> {
  const found: string[] = [];
  let cursor = '0';
  do {
    const [next, batch] = await redis.scan(cursor, 'MATCH', pattern, 'COUNT', 1000);
    cursor = next;
    found.push(...batch);
  } while (cursor !== '0');
  return found;
}

/** The ids of the conversations `conversation:list` gives the device. */
async function listed(device: RawDevice): Promise<string[]> {
  const answer = await request(device.socket, EVENTS.conversationList, {});
  expect(answer).toMatchObject({ ok: true });
  return (answer as unknown as { conversations: ConversationInfo[] }).conversations.map((c) => c.id);
}

/** Two officers of different agencies, each with a published device, and a conversation they already share. */
async function officers() {
  const ua = await published(hub, hub.agencies['UA-NPU'], `ua.${run}`, 'ua-1');
  const pl = await published(hub, hub.agencies['PL-KGP'], `pl.${run}`, 'pl-1');
  const earlier = await createConversation(ua, pl, run);
  return { ua, pl, earlier };
}

/**
 * Plants a string at `key`, where the hub writes something else; resolves to what puts back
 * the key as it was (a set the suite's earlier tests filled, or nothing).
 */
async function plant(key: string): Promise<() => Promise<void>> {
  const before = await redis.dumpBuffer(key);
  expect(await redis.set(key, 'planted')).toBe('OK');
  return async () => {
    await redis.del(key);
    if (before) await redis.restore(key, 0, before);
  };
}

/** Asserts that no key of the conversation or the query (`{c:<id>}…`, `{q:<id>}…`) is stored, but the key planted. */
async function expectNoKeys(hashTag: string, planted: string): Promise<void> {
  expect(await keysMatching(`${hub.redisPrefix}{${hashTag}}*`)).toEqual(
    [planted].filter((key) => key.includes(hashTag)),
  );
}

/** Asserts that the hub says the conversation does not exist. */
async function expectNotFound(asker: RawDevice, conv: string): Promise<void> {
  expect(await request(asker.socket, EVENTS.conversationGet, { conv })).toMatchObject({
    ok: false,
    error: { code: 'CONVERSATION_NOT_FOUND' },
  });
}

describe('conversation:create failing between its steps', () => {
  const at: Record<string, (conv: string, other: OfficerAddress) => string> = {
    "the conversation's members": (conv) => keys.conversationMembers(conv),
    "the other member's conversations": (_, other) => keys.officerConversations(other),
  };
  for (const [where, keyOf] of Object.entries(at)) {
    it(`(a string at ${where}) answers INTERNAL, leaves nothing, and succeeds once the key is gone`, async () => {
      const { ua, pl, earlier } = await officers();
      const { conv, signed } = await createRecord(ua, [pl.ref], {
        type: 'formal-request',
        reference: `MLA/${run}`,
        caseReference: `CASE-${run}`,
      });
      const key = keyOf(conv, officerAddress(pl.ref));
      const remove = await plant(key);

      expect(await request(ua.socket, EVENTS.conversationCreate, { record: signed })).toEqual(INTERNAL);
      expect(await redis.get(key)).toBe('planted');
      await expectNoKeys(`c:${conv}`, key);
      await remove();
      await expectNotFound(ua, conv);
      expect(await listed(ua)).toEqual([earlier]);
      expect(await listed(pl)).toEqual([earlier]);
      expect(await request(ua.socket, EVENTS.conversationCreate, { record: signed })).toMatchObject({
        ok: true,
        conversation: { id: conv },
      });
      for (const member of [ua, pl]) expect((await listed(member)).sort()).toEqual([earlier, conv].sort());
    });
  }
});

describe('query:open failing between its steps', () => {
  const at: Record<string, (ids: { conv: string; query: string }, counterpart: OfficerAddress) => string> = {
    "the conversation's members": ({ conv }) => keys.conversationMembers(conv),
    "the conversation's log": ({ conv }) => keys.conversationLog(conv),
    "the counterpart's conversations": (_, counterpart) => keys.officerConversations(counterpart),
    "the query's timeline": ({ query }) => keys.queryTimeline(query),
    "the counterpart agency's queries": () => keys.agencyQueries('PL-KGP'),
    "the NCB's pending queries": () => keys.ncbPending('NCB-UA'),
  };
  for (const [where, keyOf] of Object.entries(at)) {
    it(`(a string at ${where}) answers INTERNAL, leaves nothing, and opens once the key is gone`, async () => {
      const { ua, pl, earlier } = await officers();
      await published(hub, hub.agencies['NCB-UA'], `desk.${run}`, 'desk-1');
      const desks = await devicesOfAgency(ua, 'NCB-UA');
      const opening = await queryOpening(ua, pl, { question: [pl], statement: [pl, ...desks] }, run);
      const payload = await opening.payload();
      const key = keyOf(opening, officerAddress(pl.ref));
      const remove = await plant(key);

      expect(await request(ua.socket, EVENTS.queryOpen, payload)).toEqual(INTERNAL);
      expect(await redis.get(key)).toBe('planted');
      await expectNoKeys(`c:${opening.conv}`, key);
      await expectNoKeys(`q:${opening.query}`, key);
      expect(await keysMatching(`${keys.bullPrefix}*${opening.query}*`)).toEqual([]);
      await remove();
      await expectNotFound(ua, opening.conv);
      expect(await request(ua.socket, EVENTS.queryGet, { query: opening.query })).toMatchObject({
        ok: false,
        error: { code: 'QUERY_NOT_FOUND' },
      });
      expect(await listed(ua)).toEqual([earlier]);
      for (const index of [
        keys.agencyQueries('UA-NPU'),
        keys.agencyQueries('PL-KGP'),
        keys.ncbQueries('NCB-UA'),
        keys.ncbPending('NCB-UA'),
      ]) {
        expect(await redis.sismember(index, opening.query)).toBe(0);
      }
      expect(await listed(pl)).toEqual([earlier]);
      expect(await request(ua.socket, EVENTS.queryOpen, payload)).toMatchObject({
        ok: true,
        query: { id: opening.query, conversation: opening.conv },
      });
      expect(await request(pl.socket, EVENTS.queryGet, { query: opening.query })).toMatchObject({
        ok: true,
        query: { id: opening.query, status: 'OPEN' },
      });
      for (const member of [ua, pl]) expect((await listed(member)).sort()).toEqual([earlier, opening.conv].sort());
    });
  }
});
