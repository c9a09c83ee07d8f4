import { once } from 'node:events';
import { writeFile } from 'node:fs/promises';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import type { HubClient } from '@ncp-hub/client-sdk';
import { MemoryKeyStore } from '@ncp-hub/client-sdk';
import { FileKeyStore } from '@ncp-hub/client-sdk/node';
import { generateAgencyKey } from '@ncp-hub/keys';
import type { ConversationBasis } from '@ncp-hub/protocol';
import { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, inject, it } from 'vitest';
import { startTestHub, type TestHub } from '../helpers/hub.js';
import { closeAllClients, connectDevice, record, recorded, waitForCount } from '../helpers/officers.js';

const basis: ConversationBasis = {
  type: 'formal-request',
  reference: 'MLA/2026/0042',
  caseReference: '12026100000000042',
};
// Officers are new in every test: a device's keys never change, and each test makes new keys.
let run = 0;
let UA = { agency: 'UA-NPU', officer: '' };
let PL = { agency: 'PL-KGP', officer: '' };
let NCB = { agency: 'NCB-UA', officer: '' };

let testHub: TestHub;
beforeAll(async () => {
  testHub = await startTestHub();
});
beforeEach(() => {
  run += 1;
  UA = { agency: 'UA-NPU', officer: `o.petrenko.${run}` };
  PL = { agency: 'PL-KGP', officer: `k.nowak.${run}` };
  NCB = { agency: 'NCB-UA', officer: `ncb.desk.${run}` };
});
afterEach(() => closeAllClients());
afterAll(() => testHub?.stop());

function connectUa(hub = testHub, options = {}) {
  return connectDevice(hub.url, hub.agencies['UA-NPU'], UA.officer, options);
}
function connectPl(hub = testHub, options = {}) {
  return connectDevice(hub.url, hub.agencies['PL-KGP'], PL.officer, options);
}

async function directConversation(from: HubClient) {
  return from.createConversation({ kind: 'direct', members: [PL], basis });
}

describe('two officers of two states', () => {
  it('exchange a message live, end to end, with signed delivery and read receipts', async () => {
    const ua = await connectUa();
    const pl = await connectPl();
    const plMessages = record(pl, 'message');
    const uaReceipts = record(ua, 'receipt');
    const plMemberships = record(pl, 'membership');

    const conversation = await directConversation(ua);
    expect(conversation.members).toEqual([UA, PL]);
    await waitForCount(plMemberships, 1);
    expect(plMemberships[0]).toMatchObject({ id: conversation.id, kind: 'direct', basis });

    const sent = await ua.send(conversation.id, 'Suspect vehicle AB1234 crossed at 14:05');
    const [message] = await waitForCount(plMessages, 1);
    expect(message).toMatchObject({
      id: sent.id,
      conversation: conversation.id,
      from: { agency: 'UA-NPU', officer: UA.officer, device: 'device-1' },
      seq: 1,
      content: { v: 1, type: 'text', text: 'Suspect vehicle AB1234 crossed at 14:05' },
    });

    const [delivered] = await waitForCount(uaReceipts, 1);
    expect(delivered).toMatchObject({
      type: 'delivered',
      messageIds: [sent.id],
      by: { agency: 'PL-KGP', officer: PL.officer, device: 'device-1' },
    });
    await pl.markRead(conversation.id, [sent.id]);
    await waitForCount(uaReceipts, 2);
    expect(uaReceipts[1]).toMatchObject({ type: 'read', messageIds: [sent.id] });

    const uaMessages = record(ua, 'message');
    const reply = await pl.send(conversation.id, 'Confirmed, border guard alerted');
    await waitForCount(uaMessages, 1);
    expect(uaMessages[0]).toMatchObject({ id: reply.id, content: { text: 'Confirmed, border guard alerted' } });

    // What the two officers read to each other by phone: the same on both sides.
    const safetyNumber = await ua.safetyNumber(PL);
    expect(safetyNumber).toMatch(/^(\d{5} ){11}\d{5}$/);
    expect(await pl.safetyNumber(UA)).toBe(safetyNumber);
    expect(await ua.fingerprint()).toMatch(/^(\d{5} ){11}\d{5}$/);
    expect(await ua.fingerprint()).not.toBe(await pl.fingerprint());
  });

  it('delivers to a recipient that comes online later, once', async () => {
    const plStore = new MemoryKeyStore();
    const plFirst = await connectPl(testHub, { store: plStore });
    await plFirst.close();

    const ua = await connectUa();
    const conversation = await directConversation(ua);
    const texts = ['one', 'two', 'three'];
    for (const text of texts) await ua.send(conversation.id, text);

    const pl = await connectPl(testHub, { store: plStore, unpublished: true });
    const messages = recorded(pl, 'message');
    expect(messages.map((m) => m.content)).toEqual(texts.map((text) => ({ v: 1, type: 'text', text })));
    await pl.close();

    // A later connection of the same device gets nothing again: it acknowledged what it processed.
    const again = await connectPl(testHub, { store: plStore, unpublished: true });
    const later = recorded(again, 'message');
    const duplicates = recorded(again, 'duplicate');
    expect(later).toEqual([]);
    expect(duplicates).toEqual([]);
  });

  it('delivers after the hub process is replaced by a new one on the same Redis, nothing lost, nothing twice', async () => {
    const first = await startTestHub();
    // The recipient's device keeps its keys and state in a file, as a Node agency system would.
    const storeFile = join(first.dataDir, 'pl-device.json');
    let plStore = await FileKeyStore.open(storeFile);
    const uaStore = new MemoryKeyStore();
    const pl = await connectPl(first, { store: plStore });
    const ua = await connectUa(first, { store: uaStore });
    const conversation = await directConversation(ua);
    const plMessages = record(pl, 'message');
    await ua.send(conversation.id, 'before restart, recipient online');
    await waitForCount(plMessages, 1);
    await pl.close();
    await plStore.close();
    await ua.send(conversation.id, 'before restart, recipient offline');
    await ua.close();
    await first.stop({ keepFiles: true });

    const second = await startTestHub({}, { successorOf: first });
    plStore = await FileKeyStore.open(storeFile);
    try {
      const plAgain = await connectPl(second, { store: plStore, unpublished: true });
      const received = recorded(plAgain, 'message');
      const duplicates = recorded(plAgain, 'duplicate');
      const uaAgain = await connectUa(second, { store: uaStore, unpublished: true });
      await uaAgain.send(conversation.id, 'after restart');
      await waitForCount(received, 2);
      expect(received.map((m) => m.content)).toEqual([
        { v: 1, type: 'text', text: 'before restart, recipient offline' },
        { v: 1, type: 'text', text: 'after restart' },
      ]);
      expect(received.map((m) => m.seq)).toEqual([2, 3]);
      expect(duplicates).toEqual([]);
    } finally {
      await closeAllClients();
      await plStore.close();
      await second.stop();
    }
  });
});

describe('several hub nodes on one Redis', () => {
  it('deliver live between officers connected to different nodes', async () => {
    const peer = await startTestHub({}, { peerOf: testHub });
    try {
      const ua = await connectUa(testHub);
      const pl = await connectPl(peer);
      const plMessages = record(pl, 'message');
      const plMemberships = record(pl, 'membership');
      const uaReceipts = record(ua, 'receipt');
      const conversation = await directConversation(ua);
      await waitForCount(plMemberships, 1);
      const { id } = await ua.send(conversation.id, 'across nodes');
      const [message] = await waitForCount(plMessages, 1);
      expect(message).toMatchObject({ id, content: { text: 'across nodes' } });
      await waitForCount(uaReceipts, 1);
    } finally {
      await closeAllClients();
      await peer.stop();
    }
  });
});

describe('an agency that publishes its keys at a jwksUri', () => {
  it("has its officers' devices verified with keys fetched from the agency", async () => {
    const remote = await generateAgencyKey('ES256');
    const jwksServer = createServer((_req, res) => {
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify({ keys: [remote.publicJwk] }));
    });
    jwksServer.listen(0, '127.0.0.1');
    await once(jwksServer, 'listening');
    const jwksUri = `http://127.0.0.1:${(jwksServer.address() as AddressInfo).port}/jwks.json`;
    await writeFile(
      join(testHub.registryDir, 'LV-VP.json'),
      JSON.stringify({ id: 'LV-VP', name: 'State Police of Latvia', country: 'LV', kind: 'police', jwksUri }),
    );
    expect(await testHub.hub.registry.reload()).toBe(true);
    try {
      const latvian = {
        id: 'LV-VP',
        name: 'State Police of Latvia',
        country: 'LV',
        kind: 'police' as const,
        key: remote,
      };
      const lv = await connectDevice(testHub.url, latvian, `lv.officer.${run}`);
      const ua = await connectUa();
      const lvMessages = record(lv, 'message');
      const conversation = await ua.createConversation({
        kind: 'direct',
        members: [{ agency: 'LV-VP', officer: `lv.officer.${run}` }],
        basis,
      });
      await ua.send(conversation.id, 'to Riga');
      await waitForCount(lvMessages, 1);
      expect(lvMessages[0]?.content).toEqual({ v: 1, type: 'text', text: 'to Riga' });
    } finally {
      jwksServer.close();
    }
  });
});

describe('a group of three agencies', () => {
  it('delivers to every member, shows membership changes, and stops delivering to a removed member', async () => {
    const ua = await connectUa();
    const pl = await connectPl();
    const ncb = await connectDevice(testHub.url, testHub.agencies['NCB-UA'], NCB.officer);
    const plMessages = record(pl, 'message');
    const ncbMessages = record(ncb, 'message');

    const group = await ua.createConversation({ kind: 'group', members: [PL], basis });
    const ncbMemberships = record(ncb, 'membership');
    const added = await ua.addMember(group.id, NCB);
    expect(added.members).toEqual([UA, PL, NCB]);
    await waitForCount(ncbMemberships, 1);
    expect(ncbMemberships.at(-1)?.members).toEqual([UA, PL, NCB]);

    await ua.send(group.id, 'to all three agencies');
    await waitForCount(plMessages, 1);
    await waitForCount(ncbMessages, 1);
    expect(ncbMessages[0]?.content).toEqual({ v: 1, type: 'text', text: 'to all three agencies' });

    const plMemberships = record(pl, 'membership');
    await ua.removeMember(group.id, NCB);
    await waitForCount(plMemberships, 1);
    expect(plMemberships[0]?.members).toEqual([UA, PL]);
    const uaMessages = record(ua, 'message');
    await pl.send(group.id, 'only two of us now');
    await waitForCount(uaMessages, 1);
    await ncb.sync().catch(() => {});
    expect(ncbMessages).toHaveLength(1);
  });
});

describe('what the hub stores', () => {
  it('holds no plaintext of any message in Redis', async () => {
    const secret = 'PLAINTEXT-CANARY-7f3a9c Interpol red notice for Ivan Horbenko';
    const ua = await connectUa();
    const pl = await connectPl();
    const messages = record(pl, 'message');
    const conversation = await directConversation(ua);
    await ua.send(conversation.id, secret);
    await waitForCount(messages, 1);

    const redis = new Redis(inject('redisUrl'));
    try {
      let dump = '';
      let cursor = '0';
      do {
        const [next, keys] = await redis.scan(cursor, 'MATCH', `${testHub.redisPrefix}*`, 'COUNT', 1000);
        cursor = next;
        for (const key of keys) {
          const type = await redis.type(key);
          if (type === 'string') dump += await redis.get(key);
          if (type === 'hash') dump += JSON.stringify(await redis.hgetall(key));
          if (type === 'set') dump += JSON.stringify(await redis.smembers(key));
          if (type === 'list') dump += JSON.stringify(await redis.lrange(key, 0, -1));
          if (type === 'stream') dump += JSON.stringify(await redis.xrange(key, '-', '+'));
        }
      } while (cursor !== '0');
      expect(dump).toContain(conversation.id);
      for (const needle of ['PLAINTEXT-CANARY', 'Horbenko', Buffer.from(secret).toString('base64url').slice(0, 20)]) {
        expect(dump).not.toContain(needle);
      }
    } finally {
      redis.disconnect();
    }
  });
});
