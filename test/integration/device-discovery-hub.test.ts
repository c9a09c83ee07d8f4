/**
 * Device discovery, the hub's side, over raw Socket.IO: a published device is announced
 * (`directory:updated`) to everyone who shares a conversation with its officer, on every hub
 * node; and an envelope whose recipients leave out a current device of a member is refused
 * (`RECIPIENTS_CHANGED`, with the devices it `missing`), storing nothing, until it is sealed
 * again to include them. The store checks, in the same step, that the sending device's
 * attestation is unexpired (`DEVICE_NOT_PUBLISHED`), and a query's opening is one such step
 * for its question and its statement. No test here waits on the clock: an expiry is written
 * into the directory's expiry hash, and a negative check waits for a later event instead.
 */
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { type AddressInfo, connect as connectTcp, createServer, type Socket } from 'node:net';
import {
  type DeviceKeys,
  type EnvelopeRecipient,
  generateDeviceKeys,
  hashMembershipRecord,
  sealEnvelope,
  signMembershipRecord,
  signReceipt,
} from '@ncp-hub/crypto';
import { issueDeviceAttestation } from '@ncp-hub/keys';
import {
  type Ack,
  type ConversationBasis,
  type ConversationKind,
  type DeviceRef,
  type DirectoryUpdated,
  deviceAddress,
  type Envelope,
  EVENTS,
  fromBase64url,
  type MembershipRecord,
  type MessageKind,
  officerAddress,
  type SignedMembershipRecord,
  toBase64url,
} from '@ncp-hub/protocol';
import { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, inject, it } from 'vitest';
import { type TestAgency, tokenFor } from '../helpers/agencies.js';
import { startTestHub, type TestHub } from '../helpers/hub.js';
import { type ClientSocket, closeAllSockets, createSocket } from '../helpers/sockets.js';
import { waitFor } from '../helpers/wait-for.js';

let hub: TestHub;
/** A second node of the same hub: same Redis, prefix and registry. */
let peer: TestHub;
/** The suite's Redis, to write what the hub would find there (an expiry passed, an entry of an older hub). */
let redis: Redis;
let run = 0;
beforeAll(async () => {
  hub = await startTestHub();
  peer = await startTestHub({}, { peerOf: hub });
  redis = new Redis(inject('redisUrl'));
});
beforeEach(() => {
  run += 1;
});
afterEach(() => closeAllSockets());
afterAll(async () => {
  redis?.disconnect();
  await peer?.stop();
  await hub?.stop();
});

/** What the hub answers an expired device (server/src/realtime/connection-context.ts). */
const ATTESTATION_EXPIRED = {
  code: 'DEVICE_NOT_PUBLISHED',
  message: "this device's attestation has expired: publish a new one (directory:publish)",
};

/** One device speaking the wire protocol directly, with its keys and what the hub told it. */
interface RawDevice {
  socket: ClientSocket;
  keys: DeviceKeys;
  ref: DeviceRef;
  agency: TestAgency;
  /** Every `directory:updated` this socket received. */
  updates: DirectoryUpdated[];
}

function request(socket: ClientSocket, event: string, payload: unknown): Promise<Ack<Record<string, unknown>>> {
  return (
    socket as unknown as { emitWithAck: (e: string, p: unknown) => Promise<Ack<Record<string, unknown>>> }
  ).emitWithAck(event, payload);
}

/** Connects a device to `node` (not yet published). */
async function connect(node: TestHub, agency: TestAgency, officer: string, device: string): Promise<RawDevice> {
  const socket = createSocket(node.url, { token: await tokenFor(agency, { officer }), device });
  const updates: DirectoryUpdated[] = [];
  socket.on(EVENTS.directoryUpdated, (update) => updates.push(update));
  await new Promise<void>((resolve, reject) => {
    socket.once(EVENTS.sessionWelcome, () => resolve());
    socket.once('connect_error', reject);
    socket.connect();
  });
  return { socket, keys: await generateDeviceKeys(), ref: { agency: agency.id, officer, device }, agency, updates };
}

/** The device's attestation, as its agency signs it. */
function attestationOf(device: RawDevice, ttlSeconds?: number): Promise<string> {
  return issueDeviceAttestation({
    agency: device.ref.agency,
    officer: device.ref.officer,
    device: device.ref.device,
    encryptionKey: toBase64url(device.keys.encryption.publicKey),
    signingKey: toBase64url(device.keys.signing.publicKey),
    privateJwk: device.agency.key.privateJwk,
    ...(ttlSeconds === undefined ? {} : { ttlSeconds }),
  });
}

async function publish(device: RawDevice, attestation?: string): Promise<void> {
  const answer = await request(device.socket, EVENTS.directoryPublish, {
    attestation: attestation ?? (await attestationOf(device)),
  });
  expect(answer).toMatchObject({ ok: true, device: deviceAddress(device.ref) });
}

/** Connects and publishes a device. */
async function published(node: TestHub, agency: TestAgency, officer: string, device: string): Promise<RawDevice> {
  const connected = await connect(node, agency, officer, device);
  await publish(connected);
  return connected;
}

/** A signed `create` record by `creator` of a conversation (`direct` unless `kind`) with `others`. */
async function createRecord(
  creator: RawDevice,
  others: DeviceRef[],
  basis: ConversationBasis,
  kind: ConversationKind = 'direct',
) {
  const record: MembershipRecord = {
    v: 1,
    conv: toBase64url(randomBytes(16)),
    seq: 1,
    prev: null,
    op: 'create',
    kind,
    basis,
    members: [creator.ref, ...others].map(({ agency, officer }) => ({ agency, officer })),
    by: creator.ref,
    ts: Date.now(),
  };
  return { conv: record.conv, signed: await signMembershipRecord(record, creator.keys.signing.secretKey) };
}

async function createConversation(creator: RawDevice, other: RawDevice): Promise<string> {
  const { conv, signed } = await createRecord(creator, [other.ref], {
    type: 'formal-request',
    reference: `MLA/${run}`,
    caseReference: `CASE-${run}`,
  });
  expect(await request(creator.socket, EVENTS.conversationCreate, { record: signed })).toMatchObject({ ok: true });
  return conv;
}

/** A device to seal to: one of this test's, or one looked up in the directory. */
type SealTarget = RawDevice | EnvelopeRecipient;

function recipientOf(target: SealTarget): EnvelopeRecipient {
  return 'ref' in target
    ? { address: deviceAddress(target.ref), encryptionKey: target.keys.encryption.publicKey }
    : target;
}

/** An envelope from `sender`, sealed to `to` (fix `id` and `seq` to seal the same message again). */
function envelopeFrom(
  sender: RawDevice,
  conv: string,
  to: SealTarget[],
  options: { id?: string; seq?: number; kind?: MessageKind } = {},
): Promise<Envelope> {
  return sealEnvelope({
    header: {
      id: options.id ?? toBase64url(randomBytes(16)),
      conv,
      from: sender.ref,
      ts: Date.now(),
      seq: options.seq ?? 1,
      kind: options.kind ?? 'chat',
    },
    content: { v: 1, type: 'text', text: 'hello' },
    recipients: to.map(recipientOf),
    signingSecretKey: sender.keys.signing.secretKey,
  });
}

async function itemsOf(device: RawDevice, conv: string): Promise<unknown[]> {
  const answer = await request(device.socket, EVENTS.conversationSync, { conv, after: null });
  expect(answer).toMatchObject({ ok: true });
  return (answer as unknown as { items: unknown[] }).items;
}

/** The `message.relayed` audit entries of one message id, as an auditor of `agency` reads them. */
async function relayedEntries(agency: TestAgency, messageId: string): Promise<unknown[]> {
  const token = await tokenFor(agency, { officer: `auditor.${run}`, roles: ['auditor'] });
  const response = await fetch(`${hub.url}/v1/audit/entries?limit=500`, {
    headers: { authorization: `Bearer ${token}` },
  });
  expect(response.status).toBe(200);
  const { entries } = (await response.json()) as { entries: Array<{ type: string; data: { message?: string } }> };
  return entries.filter((entry) => entry.type === 'message.relayed' && entry.data.message === messageId);
}

/**
 * The current devices of every officer of an agency, as the directory lists them (an NCB's
 * desks, published by this file's earlier tests too): their addresses and encryption keys,
 * read from the attestations' claims (the hub verified them when they were published).
 */
async function devicesOfAgency(asker: RawDevice, agency: string): Promise<EnvelopeRecipient[]> {
  const answer = await request(asker.socket, EVENTS.directoryDevices, { agency });
  expect(answer).toMatchObject({ ok: true });
  const { devices } = answer as unknown as { devices: Record<string, string[]> };
  return Object.values(devices)
    .flat()
    .map((jws) => {
      const claims = JSON.parse(Buffer.from(jws.split('.')[1] as string, 'base64url').toString()) as {
        iss: string;
        sub: string;
        dev: string;
        enc: string;
      };
      return {
        address: deviceAddress({ agency: claims.iss, officer: claims.sub, device: claims.dev }),
        encryptionKey: fromBase64url(claims.enc),
      };
    });
}

/** The Redis keys of the directory (server/src/redis/redis-keys.ts `directory`, `deviceExpiries`). */
function directoryKeys(node: TestHub, device: DeviceRef) {
  const officer = officerAddress(device);
  return { entries: `${node.redisPrefix}dir:${officer}`, expiries: `${node.redisPrefix}devexp:${officer}` };
}

/**
 * Lets a published device's attestation expire, as the hub's clock passing its `exp` would:
 * its stored `expiresAt` (the directory entry and the expiry hash the store scripts read) is
 * set a minute in the past.
 */
async function expire(device: RawDevice): Promise<void> {
  const past = Math.floor(Date.now() / 1000) - 60;
  const keys = directoryKeys(hub, device.ref);
  const stored = JSON.parse((await redis.hget(keys.entries, device.ref.device)) as string) as Record<string, unknown>;
  await redis
    .multi()
    .hset(keys.entries, device.ref.device, JSON.stringify({ ...stored, expiresAt: past }))
    .hset(keys.expiries, device.ref.device, past)
    .exec();
}

/** The opening of a query by `requester`, its question and statement sealed to the devices given. */
async function queryOpening(
  requester: RawDevice,
  counterpart: RawDevice,
  to: { question: SealTarget[]; statement: SealTarget[] },
) {
  const query = toBase64url(randomBytes(16));
  const { conv, signed } = await createRecord(requester, [counterpart.ref], {
    type: 'operational-query',
    query,
    ground: 'THREAT_TO_LIFE',
    caseReference: `CASE-${run}`,
  });
  const ids = { question: toBase64url(randomBytes(16)), statement: toBase64url(randomBytes(16)) };
  return {
    query,
    conv,
    /** The payload of `query:open`; `reseal` seals the same envelopes (same ids) to other devices. */
    async payload(reseal: Partial<typeof to> = {}) {
      const { question, statement } = { ...to, ...reseal };
      return {
        conversation: signed,
        statement: await envelopeFrom(requester, conv, statement, { id: ids.statement, kind: 'query-statement' }),
        question: await envelopeFrom(requester, conv, question, { id: ids.question, kind: 'query-question' }),
      };
    },
  };
}

/**
 * A TCP relay in front of the suite's Redis for one hub node, which can stop that node's
 * commands between two of its steps: `holdAt(marker)` holds the first chunk the node sends
 * that contains `marker`, and everything the node sends after it, until `release()`; Redis's
 * answers pass freely. Meanwhile the other node, which talks to Redis directly, can act.
 */
interface RedisGate {
  url: string;
  /** Resolves once a chunk with `marker` is held. */
  holdAt(marker: string): Promise<void>;
  release(): void;
  close(): Promise<void>;
}

async function startRedisGate(redisUrl: string): Promise<RedisGate> {
  const target = new URL(redisUrl);
  const sockets = new Set<Socket>();
  let armed: { marker: string; held: () => void } | undefined;
  let queue: Array<() => void> | undefined;
  const server = createServer((client) => {
    const upstream = connectTcp(Number(target.port), target.hostname);
    for (const socket of [client, upstream]) {
      sockets.add(socket);
      socket.on('error', () => {});
      socket.on('close', () => {
        client.destroy();
        upstream.destroy();
      });
    }
    upstream.pipe(client);
    client.on('data', (chunk: Buffer) => {
      if (queue) {
        queue.push(() => upstream.write(chunk));
      } else if (armed && chunk.includes(armed.marker)) {
        const { held } = armed;
        armed = undefined;
        queue = [() => upstream.write(chunk)];
        held();
      } else {
        upstream.write(chunk);
      }
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  const url = new URL(redisUrl);
  url.hostname = '127.0.0.1';
  url.port = String(port);
  return {
    url: url.toString(),
    holdAt: (marker) =>
      new Promise<void>((resolve) => {
        armed = { marker, held: resolve };
      }),
    release() {
      const waiting = queue ?? [];
      queue = undefined;
      for (const write of waiting) write();
    },
    async close() {
      for (const socket of sockets) socket.destroy();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}

describe('directory:updated', () => {
  it('tells every co-member, on this node and through another node, of a device published, and no one else', async () => {
    const ua = await published(hub, hub.agencies['UA-NPU'], `ua.${run}`, 'ua-1');
    const plHere = await published(hub, hub.agencies['PL-KGP'], `pl.${run}`, 'pl-1');
    const plThere = await published(peer, peer.agencies['PL-KGP'], `pl.${run}`, 'pl-2');
    const stranger = await published(peer, peer.agencies['PL-KGP'], `stranger.${run}`, 's-1');
    await createConversation(ua, plHere);

    const second = await connect(hub, hub.agencies['UA-NPU'], `ua.${run}`, 'ua-2');
    const attestation = await attestationOf(second);
    await publish(second, attestation);
    const expected: DirectoryUpdated = { officer: { agency: 'UA-NPU', officer: `ua.${run}` }, device: 'ua-2' };
    const aboutUa = (device: RawDevice) => device.updates.filter((update) => update.officer.officer === `ua.${run}`);
    await waitFor(() => [plHere, plThere, ua].every((device) => aboutUa(device).length > 0));
    expect(aboutUa(plHere)).toEqual([expected]);
    expect(aboutUa(plThere)).toEqual([expected]);
    // The officer's other devices hear of it too; the publishing socket does not.
    expect(aboutUa(ua)).toEqual([expected]);
    expect(second.updates).toEqual([]);
    // A device of an officer's own is announced to the officer's other devices, across nodes.
    await waitFor(() => plHere.updates.some((update) => update.device === 'pl-2'));

    // The same attestation again changes nothing and is not announced again. The barriers: a
    // device published after it is announced after anything it would have caused, to the
    // co-members (ua-3) and to the stranger's own devices (s-2).
    await publish(second, attestation);
    await published(hub, hub.agencies['UA-NPU'], `ua.${run}`, 'ua-3');
    await published(hub, hub.agencies['PL-KGP'], `stranger.${run}`, 's-2');
    await waitFor(() => aboutUa(plThere).some((update) => update.device === 'ua-3'));
    await waitFor(() => stranger.updates.some((update) => update.device === 's-2'));
    expect(aboutUa(plThere)).toEqual([expected, { ...expected, device: 'ua-3' }]);
    expect(aboutUa(stranger)).toEqual([]);
  });
});

describe('RECIPIENTS_CHANGED', () => {
  it('refuses a message that leaves out a published device, storing nothing; sealed again to it, it is accepted', async () => {
    const ua = await published(hub, hub.agencies['UA-NPU'], `ua.${run}`, 'ua-1');
    const pl = await published(hub, hub.agencies['PL-KGP'], `pl.${run}`, 'pl-1');
    const conv = await createConversation(ua, pl);
    // A device published since the sender looked its recipients up, on the other node.
    const plNew = await published(peer, peer.agencies['PL-KGP'], `pl.${run}`, 'pl-2');

    const id = toBase64url(randomBytes(16));
    const stale = await envelopeFrom(ua, conv, [pl], { id });
    expect(await request(ua.socket, EVENTS.messageSend, { envelope: stale })).toEqual({
      ok: false,
      error: { code: 'RECIPIENTS_CHANGED', message: expect.any(String), missing: [deviceAddress(plNew.ref)] },
    });
    expect(await itemsOf(pl, conv)).toEqual([]);

    // The same message (same id and seq), sealed again to every current device: stored once, not a duplicate.
    const resealed = await envelopeFrom(ua, conv, [pl, plNew], { id });
    const accepted = await request(ua.socket, EVENTS.messageSend, { envelope: resealed });
    expect(accepted).toMatchObject({ ok: true, duplicate: false });
    expect(await itemsOf(pl, conv)).toHaveLength(1);
    await waitFor(async () => (await relayedEntries(hub.agencies['UA-NPU'], id)).length > 0);
    expect(await relayedEntries(hub.agencies['UA-NPU'], id)).toHaveLength(1);
  });

  it("lists every device left out, the sender's other devices included; the sending device itself need not be listed", async () => {
    const ua = await published(hub, hub.agencies['UA-NPU'], `ua.${run}`, 'ua-1');
    const uaOther = await published(hub, hub.agencies['UA-NPU'], `ua.${run}`, 'ua-2');
    const pl = await published(hub, hub.agencies['PL-KGP'], `pl.${run}`, 'pl-1');
    const plOther = await published(peer, peer.agencies['PL-KGP'], `pl.${run}`, 'pl-2');
    const conv = await createConversation(ua, pl);
    const refused = await request(ua.socket, EVENTS.messageSend, { envelope: await envelopeFrom(ua, conv, [pl]) });
    expect(refused).toMatchObject({
      ok: false,
      error: { code: 'RECIPIENTS_CHANGED', missing: [deviceAddress(plOther.ref), deviceAddress(uaOther.ref)] },
    });
    expect(
      await request(ua.socket, EVENTS.messageSend, { envelope: await envelopeFrom(ua, conv, [uaOther, pl, plOther]) }),
    ).toMatchObject({ ok: true });
  });

  it('counts neither devices never published nor expired ones, and still accepts unpublished devices in `to`', async () => {
    const ua = await published(hub, hub.agencies['UA-NPU'], `ua.${run}`, 'ua-1');
    const pl = await published(hub, hub.agencies['PL-KGP'], `pl.${run}`, 'pl-1');
    const conv = await createConversation(ua, pl);
    const expiring = await published(hub, hub.agencies['PL-KGP'], `pl.${run}`, 'pl-expiring');
    const unpublished = await connect(hub, hub.agencies['PL-KGP'], `pl.${run}`, 'pl-unpublished');

    expect(
      await request(ua.socket, EVENTS.messageSend, { envelope: await envelopeFrom(ua, conv, [pl]) }),
    ).toMatchObject({ ok: false, error: { code: 'RECIPIENTS_CHANGED', missing: [deviceAddress(expiring.ref)] } });
    await expire(expiring);
    expect(
      await request(ua.socket, EVENTS.messageSend, { envelope: await envelopeFrom(ua, conv, [pl]) }),
    ).toMatchObject({ ok: true });
    expect(
      await request(ua.socket, EVENTS.messageSend, {
        envelope: await envelopeFrom(ua, conv, [pl, unpublished], { seq: 2 }),
      }),
    ).toMatchObject({ ok: true });
  });

  it('applies to the question of query:open: it must cover both members’ current devices', async () => {
    const ua = await published(hub, hub.agencies['UA-NPU'], `ua.${run}`, 'ua-1');
    const pl = await published(hub, hub.agencies['PL-KGP'], `pl.${run}`, 'pl-1');
    const plOther = await published(peer, peer.agencies['PL-KGP'], `pl.${run}`, 'pl-2');
    await published(hub, hub.agencies['NCB-UA'], `desk.${run}`, 'desk-1');
    const desks = await devicesOfAgency(ua, 'NCB-UA');
    const opening = await queryOpening(ua, pl, { question: [pl], statement: [pl, plOther, ...desks] });

    expect(await request(ua.socket, EVENTS.queryOpen, await opening.payload())).toMatchObject({
      ok: false,
      error: { code: 'RECIPIENTS_CHANGED', missing: [deviceAddress(plOther.ref)] },
    });
    // Nothing was written: the same query (same id, same conversation) opens once sealed again.
    const opened = await request(ua.socket, EVENTS.queryOpen, await opening.payload({ question: [pl, plOther] }));
    expect(opened).toMatchObject({ ok: true, query: { id: opening.query } });
  });

  it('applies to the statement of query:open: it must cover the counterpart’s and the requesting state’s NCB desks’ current devices', async () => {
    const ua = await published(hub, hub.agencies['UA-NPU'], `ua.${run}`, 'ua-1');
    const pl = await published(hub, hub.agencies['PL-KGP'], `pl.${run}`, 'pl-1');
    await published(peer, peer.agencies['NCB-UA'], `desk.${run}`, 'desk-1');
    await published(hub, hub.agencies['NCB-UA'], `desk.${run}`, 'desk-2');
    await published(hub, hub.agencies['NCB-PL'], `desk.${run}`, 'desk-pl');
    const desks = await devicesOfAgency(ua, 'NCB-UA');
    expect(desks.map((desk) => desk.address)).toEqual(
      expect.arrayContaining([`NCB-UA/desk.${run}/desk-1`, `NCB-UA/desk.${run}/desk-2`]),
    );
    const opening = await queryOpening(ua, pl, { question: [pl], statement: [pl] });

    // Without the desks of NCB-UA, the NCB the query informs: every one of them is missing.
    expect(await request(ua.socket, EVENTS.queryOpen, await opening.payload())).toEqual({
      ok: false,
      error: {
        code: 'RECIPIENTS_CHANGED',
        message: expect.any(String),
        missing: desks.map((desk) => desk.address).sort(),
      },
    });
    // Without the counterpart's device (the question has it, the statement not).
    expect(await request(ua.socket, EVENTS.queryOpen, await opening.payload({ statement: desks }))).toMatchObject({
      ok: false,
      error: { code: 'RECIPIENTS_CHANGED', missing: [deviceAddress(pl.ref)] },
    });
    // Nothing was claimed or created: the same query opens once both envelopes are complete;
    // the requested state's NCB (NCB-PL, not informed by default) need not be a recipient.
    const opened = await request(ua.socket, EVENTS.queryOpen, await opening.payload({ statement: [pl, ...desks] }));
    expect(opened).toMatchObject({ ok: true, query: { id: opening.query, conversation: opening.conv } });
    expect(await itemsOf(pl, opening.conv)).toHaveLength(1);
  });

  it('checks the question and stores it in one step: a device published while query:open is on its way is not left out', async () => {
    const gate = await startRedisGate(inject('redisUrl'));
    const gated = await startTestHub({ REDIS_URL: gate.url }, { peerOf: hub });
    try {
      const ua = await published(gated, gated.agencies['UA-NPU'], `ua.${run}`, 'ua-1');
      const pl = await published(hub, hub.agencies['PL-KGP'], `pl.${run}`, 'pl-1');
      const desks = await devicesOfAgency(ua, 'NCB-UA');
      const opening = await queryOpening(ua, pl, { question: [pl], statement: [pl, ...desks] });
      const payload = await opening.payload();

      // The gated node's first command that names the query id waits; meanwhile the counterpart
      // publishes a second device through the other node.
      const held = gate.holdAt(opening.query);
      const answer = request(ua.socket, EVENTS.queryOpen, payload);
      await held;
      const plNew = await published(hub, hub.agencies['PL-KGP'], `pl.${run}`, 'pl-2');
      gate.release();

      expect(await answer).toMatchObject({
        ok: false,
        error: { code: 'RECIPIENTS_CHANGED', missing: [deviceAddress(plNew.ref)] },
      });
      // Nothing half-open: no conversation, and the query id is still free.
      expect(await request(pl.socket, EVENTS.conversationGet, { conv: opening.conv })).toMatchObject({
        ok: false,
        error: { code: 'CONVERSATION_NOT_FOUND' },
      });
      const opened = await request(
        ua.socket,
        EVENTS.queryOpen,
        await opening.payload({ question: [pl, plNew], statement: [pl, plNew, ...desks] }),
      );
      expect(opened).toMatchObject({ ok: true, query: { id: opening.query } });
      const [question] = (await itemsOf(plNew, opening.conv)) as Array<{ envelope: Envelope }>;
      expect(question?.envelope.header.to).toContain(deviceAddress(plNew.ref));
    } finally {
      closeAllSockets();
      await gated.stop();
      await gate.close();
    }
  });
});

describe('an expired attestation', () => {
  it('refuses, as it stores, what a device sends once its attestation expired during the session, until it publishes a new one', async () => {
    const ua = await published(hub, hub.agencies['UA-NPU'], `ua.${run}`, 'ua-1');
    const pl = await published(hub, hub.agencies['PL-KGP'], `pl.${run}`, 'pl-1');
    const { conv, signed: created } = await createRecord(ua, [pl.ref], {
      type: 'formal-request',
      reference: `MLA/${run}`,
      caseReference: `CASE-${run}`,
    });
    // A group, so that a member can be added.
    const group = await createRecord(
      ua,
      [pl.ref],
      { type: 'formal-request', reference: `MLA/${run}/group`, caseReference: `CASE-${run}` },
      'group',
    );
    expect(await request(ua.socket, EVENTS.conversationCreate, { record: created })).toMatchObject({ ok: true });
    expect(await request(ua.socket, EVENTS.conversationCreate, { record: group.signed })).toMatchObject({ ok: true });
    const message = await envelopeFrom(ua, conv, [pl]);
    const receipt = await signReceipt(
      { v: 1, conv, type: 'read', ids: [toBase64url(randomBytes(16))], by: ua.ref, ts: Date.now() },
      ua.keys.signing.secretKey,
    );
    const add: SignedMembershipRecord = await signMembershipRecord(
      {
        v: 1,
        conv: group.conv,
        seq: 2,
        prev: await hashMembershipRecord(group.signed),
        op: 'add',
        member: { agency: 'PL-KGP', officer: `pl.other.${run}` },
        by: ua.ref,
        ts: Date.now(),
      },
      ua.keys.signing.secretKey,
    );
    const another = await createRecord(ua, [pl.ref], {
      type: 'formal-request',
      reference: `MLA/${run}/2`,
      caseReference: `CASE-${run}`,
    });
    const desks = await devicesOfAgency(ua, 'NCB-UA');
    const opening = await queryOpening(ua, pl, { question: [pl], statement: [pl, ...desks] });

    await expire(ua);
    const refused = { ok: false, error: ATTESTATION_EXPIRED };
    expect(await request(ua.socket, EVENTS.messageSend, { envelope: message })).toEqual(refused);
    expect(await request(ua.socket, EVENTS.receiptSend, { receipt })).toEqual(refused);
    expect(await request(ua.socket, EVENTS.conversationChange, { record: add })).toEqual(refused);
    expect(await request(ua.socket, EVENTS.conversationCreate, { record: another.signed })).toEqual(refused);
    expect(await request(ua.socket, EVENTS.queryOpen, await opening.payload())).toEqual(refused);
    // Nothing was stored, created or claimed.
    expect(await itemsOf(pl, conv)).toEqual([]);
    expect(await request(pl.socket, EVENTS.conversationGet, { conv: group.conv })).toMatchObject({
      ok: true,
      conversation: { members: [officerAddress(pl.ref), officerAddress(ua.ref)].sort(), records: [group.signed] },
    });
    expect(await request(pl.socket, EVENTS.conversationGet, { conv: another.conv })).toMatchObject({
      ok: false,
      error: { code: 'CONVERSATION_NOT_FOUND' },
    });

    // A new attestation of the same keys, and the same requests are accepted.
    await publish(ua);
    expect(await request(ua.socket, EVENTS.messageSend, { envelope: message })).toMatchObject({ ok: true });
    expect(await request(ua.socket, EVENTS.receiptSend, { receipt })).toMatchObject({ ok: true });
    expect(await request(ua.socket, EVENTS.conversationChange, { record: add })).toMatchObject({ ok: true });
    expect(await request(ua.socket, EVENTS.conversationCreate, { record: another.signed })).toMatchObject({
      ok: true,
    });
    expect(await request(ua.socket, EVENTS.queryOpen, await opening.payload())).toMatchObject({ ok: true });
  });

  it('does not count as published at the handshake: a device that connects with it is DEVICE_NOT_PUBLISHED', async () => {
    const ua = await published(hub, hub.agencies['UA-NPU'], `ua.${run}`, 'ua-1');
    const pl = await published(hub, hub.agencies['PL-KGP'], `pl.${run}`, 'pl-1');
    const conv = await createConversation(ua, pl);
    await expire(ua);
    ua.socket.close();
    const again = { ...(await connect(hub, hub.agencies['UA-NPU'], `ua.${run}`, 'ua-1')), keys: ua.keys };
    expect(
      await request(again.socket, EVENTS.messageSend, { envelope: await envelopeFrom(again, conv, [pl]) }),
    ).toEqual({ ok: false, error: ATTESTATION_EXPIRED });
    expect(await itemsOf(pl, conv)).toEqual([]);
  });
});

describe('the directory', () => {
  it('keeps a device’s keys under concurrent publications: of several with different keys, one is stored', async () => {
    const attempts = await Promise.all(
      Array.from({ length: 6 }, (_, i) => connect(i % 2 ? peer : hub, hub.agencies['PL-KGP'], `pl.${run}`, 'pl-1')),
    );
    const attestations = await Promise.all(attempts.map((device) => attestationOf(device)));
    const answers = await Promise.all(
      attempts.map((device, i) => request(device.socket, EVENTS.directoryPublish, { attestation: attestations[i] })),
    );
    const accepted = answers.flatMap((answer, i) => (answer.ok ? [attestations[i]] : []));
    expect(accepted).toHaveLength(1);
    for (const answer of answers.filter((a) => !a.ok)) {
      expect(answer).toMatchObject({ ok: false, error: { code: 'ATTESTATION_INVALID' } });
    }
    const ua = await published(hub, hub.agencies['UA-NPU'], `ua.${run}`, 'ua-1');
    const listed = await request(ua.socket, EVENTS.directoryDevices, {
      officers: [{ agency: 'PL-KGP', officer: `pl.${run}` }],
    });
    expect(listed).toMatchObject({ ok: true, devices: { [`PL-KGP/pl.${run}`]: accepted } });
  });

  it('counts the devices an older hub published (no expiry hash): a hub that starts fills it in from the entries', async () => {
    const ua = await published(hub, hub.agencies['UA-NPU'], `ua.${run}`, 'ua-1');
    const pl = await published(hub, hub.agencies['PL-KGP'], `pl.${run}`, 'pl-1');
    const conv = await createConversation(ua, pl);
    // A device of pl, as a hub without the expiry hash stored it: its entry and its agency's set.
    const legacy = { ...pl, ref: { ...pl.ref, device: 'pl-legacy' }, keys: await generateDeviceKeys() };
    const jws = await attestationOf(legacy);
    const { exp } = JSON.parse(Buffer.from(jws.split('.')[1] as string, 'base64url').toString()) as { exp: number };
    const keys = directoryKeys(hub, legacy.ref);
    await redis.hset(
      keys.entries,
      'pl-legacy',
      JSON.stringify({
        jws,
        encryptionKey: toBase64url(legacy.keys.encryption.publicKey),
        signingKey: toBase64url(legacy.keys.signing.publicKey),
        expiresAt: exp,
      }),
    );
    await redis.sadd(`${hub.redisPrefix}agency:PL-KGP:officers`, officerAddress(legacy.ref));
    // An expired device of another officer, whose expiry is stored: the start leaves it as it is.
    const expired = await published(hub, hub.agencies['PL-KGP'], `pl.expired.${run}`, 'old');
    await expire(expired);

    const started = await startTestHub({}, { peerOf: hub });
    try {
      expect(await redis.hget(keys.expiries, 'pl-legacy')).toBe(String(exp));
      expect(Number(await redis.hget(directoryKeys(hub, expired.ref).expiries, 'old'))).toBeLessThan(Date.now() / 1000);
      expect(
        await request(ua.socket, EVENTS.messageSend, { envelope: await envelopeFrom(ua, conv, [pl]) }),
      ).toMatchObject({ ok: false, error: { code: 'RECIPIENTS_CHANGED', missing: [deviceAddress(legacy.ref)] } });
    } finally {
      await started.stop();
    }
  });
});
