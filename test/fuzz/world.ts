/**
 * The hub the fuzz suites attack, in this process (startTestHub), with its budgets raised so
 * that a fuzzer is answered on its payload rather than on its pace; the officers around it; a
 * valid payload of every client event (the seeds the mutations start from); and what the
 * invariants (fuzz-run.ts) look at: what a sentinel officer and a canary conversation hold,
 * what the fuzzing officer holds, and the liveness of the hub and of every socket.
 */
import { randomBytes } from 'node:crypto';
import { generateDeviceKeys, hashMembershipRecord, signMembershipRecord, signReceipt } from '@ncp-hub/crypto';
import {
  type Ack,
  CLIENT_EVENTS,
  type ClientEventName,
  type DeviceRef,
  deviceAddress,
  EVENTS,
  type MembershipRecord,
  type Role,
  type SignedMembershipRecord,
  toBase64url,
} from '@ncp-hub/protocol';
import { expect } from 'vitest';
import { type TestAgency, tokenFor } from '../helpers/agencies.js';
import { startTestHub, type TestHub } from '../helpers/hub.js';
import {
  attestationOf,
  createRecord,
  envelopeFrom,
  queryOpening,
  type RawDevice,
  type SealTarget,
} from '../helpers/raw-devices.js';
import { type ClientSocket, closeAllSockets, createSocket } from '../helpers/sockets.js';

/**
 * The budgets raised to their maximum (server/src/config.ts), so that the fuzzer is not simply
 * RATE_LIMITED (which stays a valid, coded answer); requests in flight per socket above the 19
 * events of a run and the look-ups of a state check.
 */
export const FUZZ_HUB_ENV = {
  RATE_LIMIT_PER_SECOND: '1000000',
  RATE_LIMIT_BURST: '10000000',
  RATE_LIMIT_READS_PER_SECOND: '1000000',
  RATE_LIMIT_READS_BURST: '10000000',
  HANDSHAKES_PER_MINUTE: '1000000',
  MAX_CONCURRENT_REQUESTS_PER_SOCKET: '64',
};

/** Long enough for the long mode (the protocol's longest token lifetime is 12 hours). */
const TOKEN_TTL_SECONDS = 6 * 3600;

/** How long a case may wait for its answer before the hub counts as having swallowed it. */
export const ANSWER_TIMEOUT_MS = 5_000;

/** Events that only read: an `ok: true` answer to one of them changes nothing. Any other event may write. */
export const READ_ONLY_EVENTS: ReadonlySet<ClientEventName> = new Set([
  'session:whoami',
  'directory:devices',
  'directory:agencies',
  'conversation:list',
  'conversation:get',
  'conversation:sync',
  'query:get',
  'query:pending',
]);

/** Sends `args` as event `event` on `socket` and resolves with the hub's acknowledgement (rejects on timeout). */
export function emitWithAck(
  socket: ClientSocket,
  event: string,
  args: unknown[],
  timeoutMs = ANSWER_TIMEOUT_MS,
): Promise<Ack<Record<string, unknown>>> {
  const timed = (
    socket as unknown as { timeout(ms: number): { emitWithAck(e: string, ...a: unknown[]): Promise<unknown> } }
  )
    .timeout(timeoutMs)
    .emitWithAck(event, ...args);
  return timed as Promise<Ack<Record<string, unknown>>>;
}

/** A request that must succeed: its answer without `ok`. */
async function ok(socket: ClientSocket, event: ClientEventName, payload: unknown): Promise<Record<string, unknown>> {
  const answer = await emitWithAck(socket, event, [payload]);
  expect(answer, `${event} during the setup`).toMatchObject({ ok: true });
  return answer as Record<string, unknown>;
}

/** Connects an officer's socket (with a device, or a session without one) and waits for its welcome. */
async function connectSocket(
  hub: TestHub,
  agency: TestAgency,
  officer: string,
  device?: string,
  roles?: Role[],
): Promise<ClientSocket> {
  const token = await tokenFor(agency, { officer, ttlSeconds: TOKEN_TTL_SECONDS, ...(roles ? { roles } : {}) });
  const socket = createSocket(hub.url, device === undefined ? { token } : { token, device });
  await new Promise<void>((resolve, reject) => {
    socket.once(EVENTS.sessionWelcome, () => resolve());
    socket.once('connect_error', reject);
    socket.connect();
  });
  return socket;
}

/** A device connected and published, with its keys. */
async function publishedDevice(hub: TestHub, agency: TestAgency, officer: string, device: string): Promise<RawDevice> {
  const socket = await connectSocket(hub, agency, officer, device);
  const raw: RawDevice = {
    socket,
    keys: await generateDeviceKeys(),
    ref: { agency: agency.id, officer, device },
    agency,
    updates: [],
  };
  await ok(socket, 'directory:publish', { attestation: await attestationOf(raw) });
  return raw;
}

/** A fresh 16-byte id, base64url. */
function newId(): string {
  return toBase64url(randomBytes(16));
}

/** The seeds of one event: valid payloads (of the wire contract), some of them wrong for the hub's state. */
export type Seeds = { readonly [E in ClientEventName]: readonly unknown[] };

/** The sockets the fuzzer sends from: its device, its officer without a device, an NCB desk. */
export const SENDERS = ['device', 'session', 'desk'] as const;
export type Sender = (typeof SENDERS)[number];

/** Everything a fuzz suite needs: the hub, its sockets, the seeds, and the invariants. */
export interface FuzzWorld {
  hub: TestHub;
  /**
   * A sender's socket, connected again first if the hub closed it (so that, after a case that
   * closed it, fast-check's shrinking still runs each candidate on a live connection).
   */
  sender(name: Sender): Promise<ClientSocket>;
  /** A valid payload of every client event (typed so that a new event fails to compile until it has one). */
  seeds: Seeds;
  /** Strings the world holds (ids, addresses, cursors, names): well-formed values for wrong places. */
  strings: string[];
  /** Every object key of the seeds: the field names of the wire contract. */
  keys: string[];
  /** Tokens for the HTTP routes: an officer's, an auditor's, an NCB desk's. */
  tokens: { officer: string; auditor: string; desk: string };
  /** What the sentinel officer and the canary conversation hold: must never change. */
  sentinelState(): Promise<unknown>;
  /** What the fuzzing officer (and its NCB desk) hold: must not change unless a write was accepted. */
  ownState(): Promise<unknown>;
  /**
   * The hub and every socket live on: the canary socket answers `session:whoami`, every socket of
   * the world is connected, `/healthz` answers 200.
   */
  assertAlive(): Promise<void>;
  stop(): Promise<void>;
}

/** Conversations sorted by id, so that a snapshot does not depend on the order of a set. */
function normalized(answer: Ack<Record<string, unknown>>): unknown {
  const conversations = (answer as { conversations?: Array<{ id: string }> }).conversations;
  if (!conversations) return answer;
  return { ...answer, conversations: [...conversations].sort((a, b) => (a.id < b.id ? -1 : 1)) };
}

/** Opens a query of `requester` with `counterpart`; its answer is the caller's to check. */
async function openQuery(
  requester: RawDevice,
  counterpart: RawDevice,
  to: { question: SealTarget[]; statement: SealTarget[] },
  run: number,
) {
  const opening = await queryOpening(requester, counterpart, to, run);
  return { ...opening, answer: await emitWithAck(requester.socket, 'query:open', [await opening.payload()]) };
}

/** Starts the hub and builds the world around it. */
export async function startFuzzWorld(): Promise<FuzzWorld> {
  const hub = await startTestHub(FUZZ_HUB_ENV);
  const { agencies } = hub;

  // The fuzzing officer (UA), its NCB desk, and its counterpart (PL).
  const fuzzer = await publishedDevice(hub, agencies['UA-NPU'], 'ua.fuzzer', 'fz-1');
  const desk = await publishedDevice(hub, agencies['NCB-UA'], 'ncb-ua.fuzzer', 'desk-1');
  const senders: Record<Sender, { socket: ClientSocket; connect: () => Promise<ClientSocket> }> = {
    device: { socket: fuzzer.socket, connect: () => connectSocket(hub, agencies['UA-NPU'], 'ua.fuzzer', 'fz-1') },
    session: {
      socket: await connectSocket(hub, agencies['UA-NPU'], 'ua.fuzzer'),
      connect: () => connectSocket(hub, agencies['UA-NPU'], 'ua.fuzzer'),
    },
    desk: { socket: desk.socket, connect: () => connectSocket(hub, agencies['NCB-UA'], 'ncb-ua.fuzzer', 'desk-1') },
  };
  const sender = async (name: Sender) => {
    const entry = senders[name];
    if (!entry.socket.connected) {
      entry.socket.close();
      entry.socket = await entry.connect();
    }
    return entry.socket;
  };
  const peer = await publishedDevice(hub, agencies['PL-KGP'], 'pl.peer', 'peer-1');
  // The sentinel (PL) and its canary conversation with another officer (UA), the fuzzer in neither.
  const sentinel = await publishedDevice(hub, agencies['PL-KGP'], 'pl.sentinel', 'sn-1');
  const canary = await connectSocket(hub, agencies['PL-KGP'], 'pl.sentinel');
  const canaryPeer = await publishedDevice(hub, agencies['UA-NPU'], 'ua.canary', 'cn-1');

  // The canary: a query the sentinel opened, its conversation and question, and a reply.
  const canaryQuery = await openQuery(
    sentinel,
    canaryPeer,
    { question: [sentinel, canaryPeer], statement: [canaryPeer] },
    1,
  );
  expect(canaryQuery.answer, 'the canary query').toMatchObject({ ok: true });
  const canaryReply = await envelopeFrom(canaryPeer, canaryQuery.conv, [canaryPeer, sentinel]);
  const canaryReplied = await ok(canaryPeer.socket, 'message:send', { envelope: canaryReply });
  const canaryCursor = canaryReplied.cursor as string;

  // The fuzzer's own group conversation with its counterpart, a message in it, and a query it opened.
  const group = await createRecord(
    fuzzer,
    [peer.ref],
    { type: 'formal-request', reference: 'FUZZ/1', caseReference: 'FUZZ-1' },
    'group',
  );
  await ok(fuzzer.socket, 'conversation:create', { record: group.signed });
  const sent = await envelopeFrom(fuzzer, group.conv, [fuzzer, peer]);
  const stored = await ok(fuzzer.socket, 'message:send', { envelope: sent });
  const cursor = stored.cursor as string;
  const opened = await openQuery(fuzzer, peer, { question: [fuzzer, peer], statement: [peer, desk] }, 2);
  expect(opened.answer, "the fuzzer's query").toMatchObject({ ok: true });
  const openedPayload = await opened.payload();
  // An opening the fuzzer has not sent: valid as it is, so a mutation of its envelopes may open it.
  const fresh = await queryOpening(fuzzer, peer, { question: [fuzzer, peer], statement: [peer, desk] }, 3);

  // Records: the add of the sentinel to the fuzzer's group (valid, never sent), a fresh group with the sentinel.
  const groupHead = group.signed as SignedMembershipRecord;
  const addSentinel: MembershipRecord = {
    v: 1,
    conv: group.conv,
    seq: 2,
    prev: await hashMembershipRecord(groupHead),
    op: 'add',
    member: { agency: sentinel.ref.agency, officer: sentinel.ref.officer },
    by: fuzzer.ref,
    ts: Date.now(),
  };
  const withSentinel = await createRecord(fuzzer, [sentinel.ref], {
    type: 'formal-request',
    reference: 'FUZZ/2',
    caseReference: 'FUZZ-2',
  });
  // An attestation of another officer's device, validly signed by that officer's agency (as if stolen).
  const stolen: RawDevice = { ...sentinel, keys: await generateDeviceKeys(), ref: { ...sentinel.ref, device: 'sn-2' } };
  const receipt = async (by: RawDevice, conv: string, ids: string[]) =>
    signReceipt({ v: 1, conv, type: 'read', ids, by: by.ref, ts: Date.now() }, by.keys.signing.secretKey);

  const officer = (device: { ref: DeviceRef }) => ({ agency: device.ref.agency, officer: device.ref.officer });
  const filing = { reference: 'MLA/FUZZ/1', instrument: 'MLA_REQUEST', centralAuthority: 'UA-PGO', date: '2026-01-15' };
  const seeds: Seeds = {
    'session:whoami': [{}],
    'directory:publish': [{ attestation: await attestationOf(fuzzer) }, { attestation: await attestationOf(stolen) }],
    'directory:devices': [{ officers: [officer(fuzzer), officer(sentinel)] }, { agency: 'PL-KGP' }],
    'directory:agencies': [{}],
    'conversation:create': [{ record: group.signed }, { record: withSentinel.signed }],
    'conversation:change': [{ record: await signMembershipRecord(addSentinel, fuzzer.keys.signing.secretKey) }],
    'conversation:list': [{}],
    'conversation:get': [{ conv: group.conv }, { conv: canaryQuery.conv }],
    'message:send': [
      { envelope: await envelopeFrom(fuzzer, group.conv, [fuzzer, peer]) },
      { envelope: sent },
      { envelope: await envelopeFrom(fuzzer, canaryQuery.conv, [sentinel, canaryPeer]) },
      { envelope: { ...canaryReply, header: { ...canaryReply.header, id: newId() } } },
    ],
    'receipt:send': [
      { receipt: await receipt(fuzzer, group.conv, [sent.header.id]) },
      { receipt: await receipt(fuzzer, canaryQuery.conv, [canaryReply.header.id]) },
    ],
    'conversation:sync': [
      { conv: group.conv, after: null, limit: 3 },
      { conv: canaryQuery.conv, after: null },
    ],
    'conversation:ack': [
      { conv: group.conv, cursor },
      { conv: canaryQuery.conv, cursor: canaryCursor },
    ],
    'query:open': [openedPayload, await fresh.payload()],
    'query:acknowledge': [{ query: opened.query }, { query: canaryQuery.query }],
    'query:file': [
      { query: opened.query, filing },
      { query: canaryQuery.query, filing },
    ],
    'query:confirm': [{ query: opened.query }, { query: canaryQuery.query }],
    'query:withdraw': [
      { query: opened.query, reason: 'fuzz' },
      { query: canaryQuery.query, reason: 'fuzz' },
    ],
    'query:get': [{ query: opened.query }, { query: canaryQuery.query }],
    'query:pending': [{}],
  };
  for (const event of CLIENT_EVENTS) expect(seeds[event]?.length, `a seed of ${event}`).toBeGreaterThan(0);

  const everyDevice = [fuzzer, desk, peer, sentinel, canaryPeer];
  const strings = [
    ...everyDevice.flatMap((d) => [
      deviceAddress(d.ref),
      `${d.ref.agency}/${d.ref.officer}`,
      d.ref.officer,
      d.ref.device,
    ]),
    ...Object.keys(agencies),
    group.conv,
    canaryQuery.conv,
    opened.query,
    canaryQuery.query,
    fresh.query,
    opened.conv,
    sent.header.id,
    canaryReply.header.id,
    cursor,
    canaryCursor,
    toBase64url(fuzzer.keys.signing.publicKey),
    // An Ed25519 signature's length of zeros, and a sealed key's: well-formed, never valid.
    toBase64url(new Uint8Array(64)),
    toBase64url(new Uint8Array(80)),
  ];
  const keys = new Set<string>();
  const collectKeys = (value: unknown): void => {
    if (Array.isArray(value)) for (const item of value) collectKeys(item);
    else if (value && typeof value === 'object') {
      for (const [key, item] of Object.entries(value)) {
        keys.add(key);
        collectKeys(item);
      }
    }
  };
  collectKeys(seeds);

  const sentinelState = async () => {
    const answers = await Promise.all([
      emitWithAck(sentinel.socket, 'conversation:list', [{}]),
      emitWithAck(sentinel.socket, 'conversation:sync', [{ conv: canaryQuery.conv, after: null, limit: 500 }]),
      emitWithAck(sentinel.socket, 'query:get', [{ query: canaryQuery.query }]),
      emitWithAck(sentinel.socket, 'directory:devices', [{ officers: [officer(sentinel), officer(canaryPeer)] }]),
      emitWithAck(canaryPeer.socket, 'conversation:list', [{}]),
    ]);
    for (const answer of answers) expect(answer.ok, 'a sentinel look-up').toBe(true);
    return answers.map(normalized);
  };
  const ownState = async () => {
    const [own, ncb] = [await sender('device'), await sender('desk')];
    const answers = await Promise.all([
      emitWithAck(own, 'conversation:list', [{}]),
      emitWithAck(own, 'directory:devices', [{ officers: [officer(fuzzer), officer(desk)] }]),
      emitWithAck(own, 'query:get', [{ query: opened.query }]),
      emitWithAck(own, 'query:get', [{ query: fresh.query }]),
      emitWithAck(ncb, 'query:pending', [{}]),
      emitWithAck(ncb, 'conversation:list', [{}]),
    ]);
    return answers.map(normalized);
  };
  const assertAlive = async () => {
    const sockets = [
      ...Object.values(senders).map((entry) => entry.socket),
      peer.socket,
      sentinel.socket,
      canary,
      canaryPeer.socket,
    ];
    const whoami = await emitWithAck(canary, 'session:whoami', [{}]);
    expect(whoami, 'the canary socket answers').toMatchObject({ ok: true, identity: { officer: 'pl.sentinel' } });
    expect(
      sockets.map((socket) => socket.connected),
      'every socket of the world is still connected',
    ).toEqual(sockets.map(() => true));
    expect((await fetch(`${hub.url}/healthz`)).status, 'the hub answers /healthz').toBe(200);
  };

  const tokens = {
    officer: await tokenFor(agencies['UA-NPU'], { officer: 'ua.fuzzer', ttlSeconds: TOKEN_TTL_SECONDS }),
    auditor: await tokenFor(agencies['UA-NPU'], {
      officer: 'ua.auditor',
      roles: ['auditor'],
      ttlSeconds: TOKEN_TTL_SECONDS,
    }),
    desk: await tokenFor(agencies['NCB-UA'], { officer: 'ncb-ua.fuzzer', ttlSeconds: TOKEN_TTL_SECONDS }),
  };

  return {
    hub,
    sender,
    seeds,
    strings: [...strings, ...fromSeeds(seeds)],
    keys: [...keys],
    tokens,
    sentinelState,
    ownState,
    assertAlive,
    async stop() {
      closeAllSockets();
      await hub.stop();
    },
  };
}

/** Short strings found in the seeds (signatures and ciphertexts left out): ids, cursors, names. */
function fromSeeds(seeds: Seeds): string[] {
  const found = new Set<string>();
  const walk = (value: unknown): void => {
    if (typeof value === 'string') {
      if (value.length <= 130) found.add(value);
    } else if (Array.isArray(value)) for (const item of value) walk(item);
    else if (value && typeof value === 'object') for (const item of Object.values(value)) walk(item);
  };
  walk(seeds);
  return [...found];
}
