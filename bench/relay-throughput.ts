/**
 * Relay throughput of the hub against the bare transport, measured in the same run.
 *
 *   npm run bench
 *
 * Both servers run as child processes on this machine and get the same load from this
 * process (see load.ts): N senders, each writing to one recipient device over a direct
 * conversation, `window` unacknowledged 1 KiB-ciphertext messages per sender. The result is a
 * ratio (hub/bare), never a pass/fail: nothing here has a wall-clock threshold.
 *
 * Environment (all optional):
 *   BENCH_SECONDS         measured window per round and server, s (5)
 *   BENCH_WARMUP_SECONDS  warm-up before each window, s (2)
 *   BENCH_ROUNDS          rounds, each running bare then hub (2)
 *   BENCH_PAIRS           sender/recipient pairs (50)
 *   BENCH_WINDOW          unacknowledged sends per sender (16)
 *   BENCH_REDIS_AOF       1: appendonly yes, appendfsync everysec, as the hub's embedded Redis (default); 0: none
 *   BENCH_PROFILE         1: the hub runs with --cpu-prof; the profile's folder is printed and kept
 */

import { mkdtemp, rm } from 'node:fs/promises';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  type DeviceKeys,
  generateDeviceKeys,
  sealEnvelope,
  signMembershipRecord,
  toBase64url,
} from '@ncp-hub/client-sdk';
import {
  type AgencyKeyPair,
  createRegistryEntry,
  generateAgencyKey,
  issueDeviceAttestation,
  issueOfficerToken,
  writeRegistryEntry,
} from '@ncp-hub/keys';
import {
  type DeviceRef,
  deviceAddress,
  type Envelope,
  EVENTS,
  type MembershipRecord,
  type SignedMembershipRecord,
} from '@ncp-hub/protocol';
import { findFreePort, type RedisServer, startRedisServer } from '@ncp-hub/server';
import type { Socket } from 'socket.io-client';
import { connectSocket, type LoadPair, type LoadResult, quantile, rawSocket, runLoad } from './load.js';
import { spawnNode, waitForHttp } from './processes.js';

function numberFromEnv(name: string, fallback: number, min: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isFinite(value) || value < min) throw new Error(`${name} must be a number >= ${min}, got "${raw}"`);
  return value;
}

const SECONDS = numberFromEnv('BENCH_SECONDS', 5, 0.5);
const WARMUP_SECONDS = numberFromEnv('BENCH_WARMUP_SECONDS', 2, 0);
const PAIRS = Math.floor(numberFromEnv('BENCH_PAIRS', 50, 1));
const WINDOW = Math.floor(numberFromEnv('BENCH_WINDOW', 16, 1));
const ROUNDS = Math.floor(numberFromEnv('BENCH_ROUNDS', 2, 1));
const REDIS_AOF = process.env.BENCH_REDIS_AOF !== '0';
const PROFILE = process.env.BENCH_PROFILE === '1';
/** The hub's design goal, shown for information only. */
const GOAL = 0.5;

/** Text whose padded content is exactly 1024 bytes, so `ct` is 1024 + 16 (tag) bytes. */
const TEXT = 'x'.repeat(990);

const REPO = fileURLToPath(new URL('../../', import.meta.url));
const HUB_MAIN = join(REPO, 'server/dist/main.js');
const BARE_RELAY = fileURLToPath(new URL('./bare-relay.js', import.meta.url));

const SENDER_AGENCY = { id: 'UA-NPU', name: 'National Police of Ukraine', country: 'UA', kind: 'police' } as const;
const RECIPIENT_AGENCY = { id: 'PL-KGP', name: 'Polish National Police', country: 'PL', kind: 'police' } as const;

interface Device {
  ref: DeviceRef;
  keys: DeviceKeys;
  agencyKey: AgencyKeyPair;
  token: string;
  attestation: string;
}

/** Everything made once on the client side and used by both scenarios. */
interface Fixture {
  pairs: Array<{ sender: Device; recipient: Device; conv: string; record: SignedMembershipRecord; envelope: Envelope }>;
  envelopeBytes: number;
  ctBytes: number;
}

/** The children's environment: only what a process needs, so that the caller's HUB_ID, REDIS_PREFIX… do not leak in. */
function childEnv(vars: Record<string, string>): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const name of ['PATH', 'HOME', 'TMPDIR', 'LANG', 'SYSTEMROOT']) {
    const value = process.env[name];
    if (value !== undefined) env[name] = value;
  }
  return { ...env, ...vars };
}

const cleanups: Array<() => Promise<unknown> | unknown> = [];
async function cleanUp(): Promise<void> {
  for (const cleanup of cleanups.splice(0).reverse()) {
    try {
      await cleanup();
    } catch (error) {
      process.stderr.write(`bench: clean-up step failed: ${String(error)}\n`);
    }
  }
}

function log(line: string): void {
  process.stderr.write(`bench: ${line}\n`);
}

async function makeDevice(agencyId: string, agencyKey: AgencyKeyPair, officer: string): Promise<Device> {
  const keys = await generateDeviceKeys();
  const ref: DeviceRef = { agency: agencyId, officer, device: 'bench-1' };
  const [token, attestation] = await Promise.all([
    issueOfficerToken({
      agency: agencyId,
      officer,
      roles: ['officer'],
      privateJwk: agencyKey.privateJwk,
      ttlSeconds: 3600,
    }),
    issueDeviceAttestation({
      agency: agencyId,
      officer,
      device: ref.device,
      encryptionKey: toBase64url(keys.encryption.publicKey),
      signingKey: toBase64url(keys.signing.publicKey),
      privateJwk: agencyKey.privateJwk,
    }),
  ]);
  return { ref, keys, agencyKey, token, attestation };
}

async function makeFixture(registryDir: string): Promise<Fixture> {
  const senderKey = await generateAgencyKey('EdDSA');
  const recipientKey = await generateAgencyKey('EdDSA');
  await writeRegistryEntry(registryDir, createRegistryEntry(SENDER_AGENCY, [senderKey.publicJwk]));
  await writeRegistryEntry(registryDir, createRegistryEntry(RECIPIENT_AGENCY, [recipientKey.publicJwk]));
  const pairs = await Promise.all(
    Array.from({ length: PAIRS }, async (_, i) => {
      const sender = await makeDevice(SENDER_AGENCY.id, senderKey, `bench.sender.${i}`);
      const recipient = await makeDevice(RECIPIENT_AGENCY.id, recipientKey, `bench.recipient.${i}`);
      const record: MembershipRecord = {
        v: 1,
        conv: toBase64url(crypto.getRandomValues(new Uint8Array(16))),
        seq: 1,
        prev: null,
        op: 'create',
        kind: 'direct',
        basis: { type: 'formal-request', reference: `BENCH/${i}`, caseReference: `BENCH-CASE-${i}` },
        members: [sender.ref, recipient.ref].map(({ agency, officer }) => ({ agency, officer })),
        by: sender.ref,
        ts: Date.now(),
      };
      const signed = await signMembershipRecord(record, sender.keys.signing.secretKey);
      // Sealing is the slow part: one envelope per sender, resent with a fresh id (the hub does not verify signatures).
      const envelope = await sealEnvelope({
        header: {
          id: toBase64url(crypto.getRandomValues(new Uint8Array(16))),
          conv: record.conv,
          from: sender.ref,
          ts: Date.now(),
          seq: 1,
          kind: 'chat',
        },
        content: { v: 1, type: 'text', text: TEXT },
        recipients: [{ address: deviceAddress(recipient.ref), encryptionKey: recipient.keys.encryption.publicKey }],
        signingSecretKey: sender.keys.signing.secretKey,
      });
      return { sender, recipient, conv: record.conv, record: signed, envelope };
    }),
  );
  const first = pairs[0]?.envelope as Envelope;
  return {
    pairs,
    envelopeBytes: JSON.stringify(first).length,
    ctBytes: Buffer.from(first.ct, 'base64url').length,
  };
}

function closeSockets(sockets: Socket[]): void {
  for (const socket of sockets) socket.close();
}

/** A server under test, its clients connected and ready for load. */
interface Scenario {
  name: 'bare' | 'hub';
  pairs: LoadPair[];
  /** Processes whose CPU is measured. */
  cpuOf: Record<string, number>;
  /** Closes the clients and stops the server (and its Redis). */
  stop(): Promise<void>;
}

/** Registers a clean-up that also runs on failure; returns a function that runs it now (once). */
function onCleanUp(step: () => Promise<unknown> | unknown): () => Promise<void> {
  let done: Promise<void> | undefined;
  const run = () => {
    done ??= Promise.resolve()
      .then(step)
      .then(() => undefined);
    return done;
  };
  cleanups.push(run);
  return run;
}

/** The bare Socket.IO relay: sockets join their conversation's room from the handshake. */
async function startBare(fixture: Fixture): Promise<Scenario> {
  const port = await findFreePort();
  const child = spawnNode(
    'bare',
    BARE_RELAY,
    childEnv({ PORT: String(port), HOST: '127.0.0.1', NODE_ENV: 'production' }),
  );
  const stopChild = onCleanUp(() => child.stop());
  const url = `http://127.0.0.1:${port}`;
  await waitForHttp(`${url}/healthz`, child);

  const sockets: Socket[] = [];
  const closeClients = onCleanUp(() => closeSockets(sockets));
  const pairs: LoadPair[] = await Promise.all(
    fixture.pairs.map(async ({ sender, recipient, conv, envelope }) => {
      const senderSocket = rawSocket(url, { token: sender.token, device: sender.ref.device, rooms: [conv] });
      const recipientSocket = rawSocket(url, { token: recipient.token, device: recipient.ref.device, rooms: [conv] });
      sockets.push(senderSocket, recipientSocket);
      await Promise.all([connectSocket(senderSocket, 'connect'), connectSocket(recipientSocket, 'connect')]);
      return { sender: senderSocket, recipient: recipientSocket, envelope };
    }),
  );
  log(`bare: ${sockets.length} sockets connected`);
  return {
    name: 'bare',
    pairs,
    cpuOf: { server: child.pid, generator: process.pid },
    async stop() {
      await closeClients();
      await stopChild();
    },
  };
}

function request(socket: Socket, event: string, payload: unknown): Promise<{ ok: boolean; error?: unknown }> {
  return socket.timeout(15_000).emitWithAck(event, payload);
}

async function expectOk(what: string, answer: Promise<{ ok: boolean; error?: unknown }>): Promise<void> {
  const result = await answer;
  if (!result.ok) throw new Error(`${what}: ${JSON.stringify(result.error)}`);
}

/** The real hub (server/dist/main.js) against the bench's own redis-server and trust registry. */
async function startHubScenario(fixture: Fixture, dir: string, registryDir: string): Promise<Scenario> {
  const redis: RedisServer = await startRedisServer({
    dir: join(dir, 'redis'),
    password: false,
    appendOnly: REDIS_AOF,
  });
  const stopRedis = onCleanUp(() => redis.stop());
  const port = await findFreePort();
  const child = spawnNode(
    'hub',
    HUB_MAIN,
    childEnv({
      PORT: String(port),
      HOST: '127.0.0.1',
      HUB_ID: 'ncp-hub',
      REDIS_URL: redis.url,
      TRUST_REGISTRY: registryDir,
      DATA_DIR: join(dir, 'data'),
      NODE_ENV: 'production',
      LOG_LEVEL: 'warn',
      RATE_LIMIT_PER_SECOND: '1000000',
      RATE_LIMIT_BURST: '10000000',
    }),
    PROFILE ? { nodeArgs: ['--cpu-prof', `--cpu-prof-dir=${join(dir, 'profile')}`] } : {},
  );
  const stopChild = onCleanUp(() => child.stop(10_000));
  const url = `http://127.0.0.1:${port}`;
  await waitForHttp(`${url}/readyz`, child);

  const sockets: Socket[] = [];
  const closeClients = onCleanUp(() => closeSockets(sockets));
  const pairs: LoadPair[] = await Promise.all(
    fixture.pairs.map(async ({ sender, recipient, record, envelope }) => {
      const senderSocket = rawSocket(url, { token: sender.token, device: sender.ref.device });
      const recipientSocket = rawSocket(url, { token: recipient.token, device: recipient.ref.device });
      sockets.push(senderSocket, recipientSocket);
      await Promise.all([
        connectSocket(senderSocket, EVENTS.sessionWelcome),
        connectSocket(recipientSocket, EVENTS.sessionWelcome),
      ]);
      await Promise.all([
        expectOk(
          'directory:publish',
          request(senderSocket, EVENTS.directoryPublish, { attestation: sender.attestation }),
        ),
        expectOk(
          'directory:publish',
          request(recipientSocket, EVENTS.directoryPublish, { attestation: recipient.attestation }),
        ),
      ]);
      // The recipient is in the conversation's room once it has been told about the conversation.
      const joined = new Promise<void>((resolve) => recipientSocket.once(EVENTS.conversationUpdated, () => resolve()));
      await expectOk('conversation:create', request(senderSocket, EVENTS.conversationCreate, { record }));
      await joined;
      return { sender: senderSocket, recipient: recipientSocket, envelope };
    }),
  );
  log(`hub: ${sockets.length} sockets connected, devices published, ${pairs.length} conversations created`);
  return {
    name: 'hub',
    pairs,
    cpuOf: { server: child.pid, redis: redis.pid, generator: process.pid },
    async stop() {
      await closeClients();
      await stopChild();
      await stopRedis();
      if (PROFILE) log(`hub CPU profile (open in Chrome DevTools): ${join(dir, 'profile')}`);
    },
  };
}

function ms(value: number | undefined): string {
  return value === undefined ? '-' : value < 10 ? value.toFixed(1) : value.toFixed(0);
}

function cores(value: number | undefined): string {
  return value === undefined ? '-' : value.toFixed(2);
}

function table(rows: string[][]): string {
  const widths = rows[0]?.map((_, column) => Math.max(...rows.map((row) => (row[column] ?? '').length))) ?? [];
  return rows
    .map((row) =>
      row
        .map((cell, column) => (column === 0 ? cell.padEnd(widths[column] ?? 0) : cell.padStart(widths[column] ?? 0)))
        .join('  '),
    )
    .join('\n');
}

function rate(results: LoadResult[]): number {
  const delivered = results.reduce((total, r) => total + r.delivered, 0);
  const seconds = results.reduce((total, r) => total + r.seconds, 0);
  return delivered / seconds;
}

function warnings(name: string, results: LoadResult[]): string[] {
  const lines: string[] = [];
  results.forEach((result, i) => {
    const where = `${name} round ${i + 1}`;
    for (const [code, count] of result.errors) lines.push(`WARNING ${where}: ${count} sends answered ${code}`);
    if (result.unanswered > 0) lines.push(`WARNING ${where}: ${result.unanswered} sends never answered`);
    if (result.undelivered !== 0) {
      lines.push(`WARNING ${where}: ${result.undelivered} acknowledged messages did not reach their recipient`);
    }
    const other = result.cpu.other;
    if (other !== undefined && other > 0.25) {
      lines.push(`NOTE ${where}: other processes used ${other.toFixed(2)} cores meanwhile; its figures are disturbed`);
    }
  });
  return lines;
}

async function main(): Promise<void> {
  const started = Date.now();
  const dir = await mkdtemp(join(tmpdir(), 'ncp-hub-bench-'));
  if (!PROFILE) cleanups.push(() => rm(dir, { recursive: true, force: true }));
  const registryDir = join(dir, 'registry');

  log(`preparing ${PAIRS} sender/recipient pairs (keys, tokens, attestations, one sealed envelope per sender)`);
  const fixture = await makeFixture(registryDir);
  const scenarios = [await startBare(fixture), await startHubScenario(fixture, dir, registryDir)];

  // Rounds alternate between the servers, so that a disturbance of the machine hits both alike.
  const results = new Map<Scenario['name'], LoadResult[]>(scenarios.map((scenario) => [scenario.name, []]));
  const rows: string[][] = [];
  for (let round = 1; round <= ROUNDS; round++) {
    for (const scenario of scenarios) {
      log(`round ${round}/${ROUNDS}: ${scenario.name} (${WARMUP_SECONDS} s warm-up, ${SECONDS} s measured)`);
      const r = await runLoad({
        pairs: scenario.pairs,
        window: WINDOW,
        warmupSeconds: WARMUP_SECONDS,
        seconds: SECONDS,
        cpuOf: scenario.cpuOf,
      });
      results.get(scenario.name)?.push(r);
      rows.push([
        ROUNDS > 1 ? `${scenario.name} #${round}` : scenario.name,
        (r.delivered / r.seconds).toFixed(0),
        (r.acked / r.seconds).toFixed(0),
        ms(quantile(r.ackLatencies, 0.5)),
        ms(quantile(r.ackLatencies, 0.99)),
        ms(quantile(r.deliveryLatencies, 0.5)),
        ms(quantile(r.deliveryLatencies, 0.99)),
        cores(r.cpu.server),
        cores(r.cpu.redis),
        cores(r.cpu.generator),
        cores(r.cpu.other),
      ]);
    }
  }
  for (const scenario of scenarios.reverse()) await scenario.stop();

  const bare = results.get('bare') ?? [];
  const hub = results.get('hub') ?? [];
  const ratio = rate(hub) / rate(bare);
  const perRound = hub.map((h, i) => rate([h]) / rate([bare[i] as LoadResult]));
  const header = [
    'scenario',
    'delivered msg/s',
    'acked msg/s',
    'ack p50 ms',
    'ack p99 ms',
    'e2e p50 ms',
    'e2e p99 ms',
    'CPU server',
    'CPU redis',
    'CPU generator',
    'CPU other',
  ];
  const out = [
    '',
    `ncp-hub relay throughput: ${PAIRS} senders -> ${PAIRS} recipient devices (direct conversations), ` +
      `${WINDOW} unacknowledged sends per sender`,
    `message: ${fixture.ctBytes}-byte ciphertext (1 KiB padded content + tag), envelope JSON ${fixture.envelopeBytes} bytes; ` +
      `per round and server: ${WARMUP_SECONDS} s warm-up, ${SECONDS} s measured`,
    'bare: minimal Socket.IO server (bench/bare-relay.ts); hub: node server/dist/main.js with ' +
      `redis-server on 127.0.0.1 (${REDIS_AOF ? 'appendonly yes, appendfsync everysec' : 'appendonly no'}, no password); ` +
      `${availableParallelism()} CPU cores shared by server, redis and this generator`,
    '',
    table([header, ...rows]),
    '',
    `hub/bare = ${ratio.toFixed(2)}` +
      (ROUNDS > 1 ? `   (rounds: ${perRound.map((value) => value.toFixed(2)).join(', ')})` : '') +
      `   design goal: hub >= ${GOAL} x bare (${ratio >= GOAL ? 'met' : 'not met'}; information only)`,
    'CPU: cores busy during the measured window (1.00 = one core), "other" = the rest of the machine; ' +
      'e2e: sender header.ts to recipient, 1 ms resolution',
    ...warnings('bare', bare),
    ...warnings('hub', hub),
    `total ${((Date.now() - started) / 1000).toFixed(1)} s`,
    '',
  ];
  process.stdout.write(out.join('\n'));
}

let interrupted = false;
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    if (interrupted) return;
    interrupted = true;
    log(`${signal}: stopping`);
    cleanUp().finally(() => process.exit(130));
  });
}

main()
  .catch((error: unknown) => {
    process.stderr.write(`bench: failed: ${(error as Error)?.stack ?? String(error)}\n`);
    process.exitCode = 1;
  })
  .finally(async () => {
    await cleanUp();
    // Library sockets and timers must not keep the process alive.
    process.exit();
  });
