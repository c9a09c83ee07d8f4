/**
 * A hub that lies with what it holds: it cannot forge a signature, but it can give a device an
 * older (signed, valid) state than the one the device has already seen. Here the hub (a
 * tampering relay in front of the real one) rolls a group's membership chain back, or swaps it
 * for a fork, to keep a removed member in; and replays an early message once the recipient's
 * window of recent ids has moved past it. The SDK refuses both, across restarts of the client.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { type AddressInfo, connect as connectTcp, createServer, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { HubClient, type KeyStore, MemoryKeyStore } from '@ncp-hub/client-sdk';
import { FileKeyStore } from '@ncp-hub/client-sdk/node';
import { issueDeviceAttestation } from '@ncp-hub/keys';
import {
  type ConversationBasis,
  type ConversationInfo,
  type ConversationItem,
  EVENTS,
  type OfficerRef,
  officerAddress,
  type SignedMembershipRecord,
} from '@ncp-hub/protocol';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { type TestAgency, tokenFor } from '../helpers/agencies.js';
import { startTestHub, type TestHub } from '../helpers/hub.js';
import { closeAllClients, connectDevice, record, recorded, waitForCount } from '../helpers/officers.js';
import { startTamperingRelay, type TamperingRelay } from '../helpers/tampering-relay.js';
import { waitFor } from '../helpers/wait-for.js';

const basis: ConversationBasis = {
  type: 'formal-request',
  reference: 'JIT/2026/9',
  caseReference: '42026000000000999',
};

let testHub: TestHub;
let relay: TamperingRelay;
let run = 0;
/** The group's creator (S), the member whose view the hub rewrites (V), the member removed (C). */
let S: OfficerRef = { agency: 'UA-NPU', officer: '' };
let V: OfficerRef = { agency: 'PL-KGP', officer: '' };
let C: OfficerRef = { agency: 'PL-KGP', officer: '' };
const closing: Array<() => Promise<unknown>> = [];

beforeAll(async () => {
  testHub = await startTestHub();
});
beforeEach(async () => {
  run += 1;
  S = { agency: 'UA-NPU', officer: `ua.creator.${run}` };
  V = { agency: 'PL-KGP', officer: `pl.member.${run}` };
  C = { agency: 'PL-KGP', officer: `pl.removed.${run}` };
  relay = await startTamperingRelay(testHub.url);
});
afterEach(async () => {
  await closeAllClients();
  for (const close of closing.splice(0).reverse()) await close();
  await relay.close();
});
afterAll(() => testHub?.stop());

/** A TCP pass-through in front of `url` whose connections can be cut, as a hub drops a connection. */
async function startCuttableLink(url: string): Promise<{ url: string; cut(): void }> {
  const target = new URL(url);
  const sockets = new Set<Socket>();
  const server = createServer((client) => {
    const upstream = connectTcp(Number(target.port), target.hostname);
    for (const socket of [client, upstream]) {
      sockets.add(socket);
      socket.on('close', () => sockets.delete(socket));
      socket.on('error', () => socket.destroy());
    }
    client.pipe(upstream).pipe(client);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const cut = () => {
    for (const socket of sockets) socket.destroy();
  };
  closing.push(async () => {
    cut();
    await new Promise((resolve) => server.close(resolve));
  });
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, cut };
}

/** S creates [S, V, C] and removes C; resolves once V's SDK has seen the removal. */
async function groupWithRemoval(creator: HubClient, member: HubClient) {
  const seen = record(member, 'membership');
  const group = await creator.createConversation({ kind: 'group', members: [V, C], basis });
  const [create] = (await waitForCount(seen, 1)).filter((c) => c.id === group.id);
  expect(create?.members).toHaveLength(3);
  await creator.removeMember(group.id, C);
  await waitFor(() => seen.some((c) => c.id === group.id && c.members.length === 2));
  return group;
}

/** From now on, the hub answers `conversation:list` and `conversation:get` with `rewrite(records)` for `conv`. */
function serveChain(conv: string, rewrite: (records: SignedMembershipRecord[]) => SignedMembershipRecord[]): void {
  relay.ackToClient = (event, answer) => {
    if (event !== EVENTS.conversationList && event !== EVENTS.conversationGet) return answer;
    const body = answer as { conversations?: ConversationInfo[]; conversation?: ConversationInfo };
    for (const info of [...(body.conversations ?? []), ...(body.conversation ? [body.conversation] : [])]) {
      if (info.id !== conv) continue;
      info.records = rewrite(info.records);
      info.members = membersOf(info.records); // consistent with the chain served: no mismatch to notice
    }
    return answer;
  };
}

/** The members after `records`, as the hub lists them. */
function membersOf(records: SignedMembershipRecord[]): ConversationInfo['members'] {
  const members = new Set<string>();
  for (const { record } of records) {
    if (record.op === 'create') for (const m of record.members) members.add(officerAddress(m));
    else if (record.op === 'add') members.add(officerAddress(record.member));
    else members.delete(officerAddress(record.member));
  }
  return [...members].sort() as ConversationInfo['members'];
}

/** The `to` of every envelope that goes through the relay to the hub from now on. */
function recipientsSent(): string[][] {
  const sent: string[][] = [];
  relay.toHub = (event, args) => {
    if (event === EVENTS.messageSend)
      sent.push((args[0] as { envelope: { header: { to: string[] } } }).envelope.header.to);
    return args;
  };
  return sent;
}

const devicesOf = (officer: OfficerRef, ...devices: string[]) =>
  devices.map((device) => `${officerAddress(officer)}/${device}`);

describe('a hub that rolls a membership chain back', () => {
  it('to its create record after a reconnection: ROLLBACK, the known chain kept, nothing sealed to the removed member', async () => {
    const sender = await connectDevice(testHub.url, testHub.agencies['UA-NPU'], S.officer);
    await connectDevice(testHub.url, testHub.agencies['PL-KGP'], C.officer);
    const link = await startCuttableLink(relay.url);
    const member = await connectDevice(link.url, testHub.agencies['PL-KGP'], V.officer);
    const group = await groupWithRemoval(sender, member);

    serveChain(group.id, (records) => records.slice(0, 1));
    const invalid = record(member, 'membershipInvalid');
    const ready = record(member, 'ready');
    link.cut(); // the hub drops V's connection once; V reconnects and syncs the chain the hub now gives
    await waitForCount(ready, 1);
    expect(invalid).toContainEqual({ conversation: group.id, reason: 'ROLLBACK', index: 1 });

    const sent = recipientsSent();
    await member.send(group.id, 'not for the removed member');
    expect(sent).toEqual([devicesOf(S, 'device-1')]);
    const listed = (await member.conversations()).find((c) => c.id === group.id);
    expect(listed?.members.map(officerAddress).sort()).toEqual([officerAddress(V), officerAddress(S)].sort());
  });

  it('swapped for a fork of the same length (another head): ROLLBACK, nothing sealed to the removed member', async () => {
    const sender = await connectDevice(testHub.url, testHub.agencies['UA-NPU'], S.officer);
    await connectDevice(testHub.url, testHub.agencies['PL-KGP'], C.officer);
    const member = await connectDevice(relay.url, testHub.agencies['PL-KGP'], V.officer);
    const group = await groupWithRemoval(sender, member);

    // The fork: S's other device, to which the hub withholds the removal, signs an add on top of the create.
    const withholding = await startTamperingRelay(testHub.url);
    closing.push(() => withholding.close());
    const forked: SignedMembershipRecord[] = [];
    withholding.ackToClient = (event, answer) => {
      const body = answer as { conversations?: ConversationInfo[]; conversation?: ConversationInfo };
      if (event !== EVENTS.conversationList && event !== EVENTS.conversationGet) return answer;
      for (const info of [...(body.conversations ?? []), ...(body.conversation ? [body.conversation] : [])]) {
        info.records = info.records.slice(0, 1);
        info.members = membersOf(info.records);
      }
      return answer;
    };
    withholding.toHub = (event, args) => {
      if (event === EVENTS.conversationChange) forked.push((args[0] as { record: SignedMembershipRecord }).record);
      return args;
    };
    const otherDevice = await connectDevice(withholding.url, testHub.agencies['UA-NPU'], S.officer, {
      device: 'device-2',
    });
    const D = { agency: 'PL-KGP', officer: `pl.added.${run}` };
    await expect(otherDevice.addMember(group.id, D)).rejects.toMatchObject({ code: 'MEMBERSHIP_INVALID' });
    expect(forked).toHaveLength(1);

    serveChain(group.id, (records) => [records[0] as SignedMembershipRecord, forked[0] as SignedMembershipRecord]);
    const invalid = record(member, 'membershipInvalid');
    const listed = await member.conversations();
    expect(invalid).toEqual([{ conversation: group.id, reason: 'ROLLBACK', index: 1 }]);
    expect(
      listed
        .find((c) => c.id === group.id)
        ?.members.map(officerAddress)
        .sort(),
    ).toEqual([officerAddress(V), officerAddress(S)].sort());

    const sent = recipientsSent();
    await member.send(group.id, 'not for the removed member');
    expect(sent).toEqual([devicesOf(S, 'device-1', 'device-2')]);
  });

  describe.each([
    ['the same MemoryKeyStore', async () => ({ store: new MemoryKeyStore(), reopen: async (s: KeyStore) => s })],
    [
      'the same FileKeyStore file, opened again',
      async () => {
        const dir = await mkdtemp(join(tmpdir(), 'ncp-hub-malicious-'));
        closing.push(() => rm(dir, { recursive: true, force: true }));
        const file = join(dir, 'keys.json');
        return {
          store: (await FileKeyStore.open(file)) as KeyStore,
          reopen: async (s: KeyStore) => {
            await s.close?.();
            const again = await FileKeyStore.open(file);
            closing.push(() => again.close());
            return again;
          },
        };
      },
    ],
  ])('across a restart of the client, on %s', (_name, openStore) => {
    it('refuses the chain cut back to its create record: ROLLBACK, and no message sealed to the removed member', async () => {
      const { store, reopen } = await openStore();
      const sender = await connectDevice(testHub.url, testHub.agencies['UA-NPU'], S.officer);
      await connectDevice(testHub.url, testHub.agencies['PL-KGP'], C.officer);
      const before = await connectDevice(relay.url, testHub.agencies['PL-KGP'], V.officer, { store });
      const group = await groupWithRemoval(sender, before);
      await before.close();

      serveChain(group.id, (records) => records.slice(0, 1));
      const sent = recipientsSent();
      const after = await connectDevice(relay.url, testHub.agencies['PL-KGP'], V.officer, {
        store: await reopen(store),
      });
      expect(recorded(after, 'membershipInvalid')).toContainEqual({
        conversation: group.id,
        reason: 'ROLLBACK',
        index: 1,
      });
      await after.send(group.id, 'not for the removed member');
      expect(sent).toEqual([devicesOf(S, 'device-1')]);
    });
  });
});

/**
 * A client as `connectDevice` makes one, remembering only `recentMessageIds` ids per
 * conversation (the window of 5,000 made small, so that a replay past it takes a few messages).
 */
async function connectRemembering(
  url: string,
  agency: TestAgency,
  officer: string,
  recentMessageIds: number,
  store: KeyStore,
): Promise<HubClient> {
  const client = await HubClient.create({
    url,
    token: () => tokenFor(agency, { officer }),
    device: 'device-1',
    store,
    recentMessageIds,
    socket: { reconnectionDelay: 100, reconnectionDelayMax: 500 },
  });
  closing.push(() => client.close());
  await client.connect();
  const { encryptionKey, signingKey } = client.publicKeys();
  const attestation = await issueDeviceAttestation({
    agency: agency.id,
    officer,
    device: 'device-1',
    encryptionKey,
    signingKey,
    privateJwk: agency.key.privateJwk,
  });
  await client.publishDevice(attestation);
  return client;
}

describe('a hub that replays an early message', () => {
  it('after more messages than the recipient remembers ids, and after a restart: a duplicate, never delivered twice', async () => {
    const sender = await connectDevice(testHub.url, testHub.agencies['UA-NPU'], S.officer);
    const store = new MemoryKeyStore();
    const remember = 3;
    let recipient = await connectRemembering(relay.url, testHub.agencies['PL-KGP'], V.officer, remember, store);
    const conversation = await sender.createConversation({ kind: 'direct', members: [V], basis });
    let captured: ConversationItem | undefined;
    relay.toClient = (event, args) => {
      if (event === EVENTS.conversationItem && (args[0] as ConversationItem).type === 'message') {
        captured ??= structuredClone(args[0] as ConversationItem);
      }
      return args;
    };
    const messages = record(recipient, 'message');
    const { id: early } = await sender.send(conversation.id, 'early');
    for (let i = 1; i <= remember + 2; i++) await sender.send(conversation.id, `later ${i}`);
    await waitForCount(messages, remember + 3);

    const replays = async (client: HubClient) => {
      const duplicates = record(client, 'duplicate');
      const reordered = record(client, 'reordered');
      const delivered = record(client, 'message');
      relay.inject(EVENTS.conversationItem, captured);
      await waitForCount(duplicates, 1);
      expect(duplicates).toEqual([{ conversation: conversation.id, messageId: early }]);
      expect([...delivered, ...reordered]).toEqual([]);
    };
    await replays(recipient);
    expect(messages.map((m) => m.id)).toContain(early);
    expect(new Set(messages.map((m) => m.id)).size).toBe(messages.length);

    await recipient.close();
    recipient = await connectRemembering(relay.url, testHub.agencies['PL-KGP'], V.officer, remember, store);
    await replays(recipient);
  });
});
