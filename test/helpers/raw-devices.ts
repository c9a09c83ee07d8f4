/**
 * Devices speaking the hub's wire protocol directly over raw Socket.IO, without the SDK's
 * client: connecting and publishing them, the conversations, envelopes and query openings
 * they send, what the directory lists and stores in Redis, and a Redis relay that can hold
 * one hub node's commands (for the integration suites on device discovery and expiry).
 */
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { type AddressInfo, connect as connectTcp, createServer, type Socket } from 'node:net';
import {
  type DeviceKeys,
  type EnvelopeRecipient,
  generateDeviceKeys,
  sealEnvelope,
  signMembershipRecord,
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
  toBase64url,
} from '@ncp-hub/protocol';
import type { Redis } from 'ioredis';
import { expect } from 'vitest';
import { type TestAgency, tokenFor } from './agencies.js';
import type { TestHub } from './hub.js';
import { type ClientSocket, createSocket } from './sockets.js';

/** What the hub answers a device no longer published: expired or withdrawn (server/src/directory/device-rules.ts). */
export const NO_LONGER_PUBLISHED = {
  code: 'DEVICE_NOT_PUBLISHED',
  message:
    'this device is no longer published (its attestation expired, or its agency withdrew it): publish a new attestation (directory:publish)',
};

/** One device speaking the wire protocol directly, with its keys and what the hub told it. */
export interface RawDevice {
  socket: ClientSocket;
  keys: DeviceKeys;
  ref: DeviceRef;
  agency: TestAgency;
  /** Every `directory:updated` this socket received. */
  updates: DirectoryUpdated[];
}

/** Sends a client request and resolves with the hub's acknowledgement. */
export function request(socket: ClientSocket, event: string, payload: unknown): Promise<Ack<Record<string, unknown>>> {
  return (
    socket as unknown as { emitWithAck: (e: string, p: unknown) => Promise<Ack<Record<string, unknown>>> }
  ).emitWithAck(event, payload);
}

/** Connects a device to `node` (not yet published). */
export async function connect(node: TestHub, agency: TestAgency, officer: string, device: string): Promise<RawDevice> {
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
export function attestationOf(device: RawDevice, ttlSeconds?: number): Promise<string> {
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

/** Publishes the device (with a fresh attestation unless one is given), expecting the hub to accept it. */
export async function publish(device: RawDevice, attestation?: string): Promise<void> {
  const answer = await request(device.socket, EVENTS.directoryPublish, {
    attestation: attestation ?? (await attestationOf(device)),
  });
  expect(answer).toMatchObject({ ok: true, device: deviceAddress(device.ref) });
}

/** Connects and publishes a device. */
export async function published(
  node: TestHub,
  agency: TestAgency,
  officer: string,
  device: string,
): Promise<RawDevice> {
  const connected = await connect(node, agency, officer, device);
  await publish(connected);
  return connected;
}

/**
 * A signed `create` record by `creator` of a conversation (`direct` unless `kind`) with `others`.
 * `creator` is any device with its ref and keys (a {@link RawDevice}, or a suite's own kind).
 */
export async function createRecord(
  creator: Pick<RawDevice, 'ref' | 'keys'>,
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

/**
 * Creates a direct conversation of `creator` with `other` on a formal request of the test
 * numbered `run` (its reference `MLA/<run>`, its case `CASE-<run>`), and returns its id.
 */
export async function createConversation(creator: RawDevice, other: RawDevice, run: number): Promise<string> {
  const { conv, signed } = await createRecord(creator, [other.ref], {
    type: 'formal-request',
    reference: `MLA/${run}`,
    caseReference: `CASE-${run}`,
  });
  expect(await request(creator.socket, EVENTS.conversationCreate, { record: signed })).toMatchObject({ ok: true });
  return conv;
}

/** A device to seal to: one of this test's, or one looked up in the directory. */
export type SealTarget = RawDevice | EnvelopeRecipient;

/** The recipient an envelope is sealed to for a target. */
export function recipientOf(target: SealTarget): EnvelopeRecipient {
  return 'ref' in target
    ? { address: deviceAddress(target.ref), encryptionKey: target.keys.encryption.publicKey }
    : target;
}

/** An envelope from `sender`, sealed to `to` (fix `id` and `seq` to seal the same message again), its text `hello` unless given. */
export function envelopeFrom(
  sender: RawDevice,
  conv: string,
  to: SealTarget[],
  options: { id?: string; seq?: number; kind?: MessageKind; text?: string } = {},
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
    content: { v: 1, type: 'text', text: options.text ?? 'hello' },
    recipients: to.map(recipientOf),
    signingSecretKey: sender.keys.signing.secretKey,
  });
}

/** Every item of a conversation the device syncs from the start. */
export async function itemsOf(device: RawDevice, conv: string): Promise<unknown[]> {
  const answer = await request(device.socket, EVENTS.conversationSync, { conv, after: null });
  expect(answer).toMatchObject({ ok: true });
  return (answer as unknown as { items: unknown[] }).items;
}

/**
 * The current devices of every officer of an agency, as the directory lists them (an NCB's
 * desks, published by the suite's earlier tests too): their addresses and encryption keys,
 * read from the attestations' claims (the hub verified them when they were published).
 */
export async function devicesOfAgency(asker: RawDevice, agency: string): Promise<EnvelopeRecipient[]> {
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
export function directoryKeys(node: TestHub, device: DeviceRef) {
  const officer = officerAddress(device);
  return { entries: `${node.redisPrefix}{o:${officer}}:dir`, expiries: `${node.redisPrefix}{o:${officer}}:devexp` };
}

/**
 * Lets a published device's attestation expire, as the hub's clock passing its `exp` would:
 * its stored `expiresAt` (the directory entry and the expiry hash the store scripts read) is
 * set a minute in the past, in `redis` (the suite's Redis) under `node`'s prefix.
 */
export async function expire(redis: Redis, node: TestHub, device: RawDevice): Promise<void> {
  const past = Math.floor(Date.now() / 1000) - 60;
  const keys = directoryKeys(node, device.ref);
  const stored = JSON.parse((await redis.hget(keys.entries, device.ref.device)) as string) as Record<string, unknown>;
  await redis
    .multi()
    .hset(keys.entries, device.ref.device, JSON.stringify({ ...stored, expiresAt: past }))
    .hset(keys.expiries, device.ref.device, past)
    .exec();
}

/**
 * The opening of a query by `requester`, its question and statement sealed to the devices
 * given, for the case of the test numbered `run` (`CASE-<run>`).
 */
export async function queryOpening(
  requester: RawDevice,
  counterpart: RawDevice,
  to: { question: SealTarget[]; statement: SealTarget[] },
  run: number,
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
export interface RedisGate {
  url: string;
  /** Resolves once a chunk with `marker` is held. */
  holdAt(marker: string): Promise<void>;
  release(): void;
  close(): Promise<void>;
}

export async function startRedisGate(redisUrl: string): Promise<RedisGate> {
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
