/**
 * Concurrent requests of one socket are bounded (issue 9, item 3): 1,000 `conversation:sync`
 * with `limit: 500` sent at once over one socket. The hub runs as its own process
 * (`node server/dist/main.js`, on the suite's Redis), so that its memory is its own: the peak
 * RSS of the burst (the kernel's high-water mark, reset before it) stays bounded — by what
 * MAX_CONCURRENT_REQUESTS_PER_SOCKET requests hold, not by what a thousand would — and comes
 * back once the answers are out: after a full collection (the hub process collects on SIGUSR2,
 * see the preload) the heap holds what it held before, and the RSS returns. Most requests are
 * refused at once with RATE_LIMITED and a `retryAfter`; the accepted ones get their 500 items.
 * Linux only: the figures are the kernel's (/proc).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import { once } from 'node:events';
import { access, readFile, rm, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { generateDeviceKeys, sealEnvelope } from '@ncp-hub/crypto';
import { issueDeviceAttestation } from '@ncp-hub/keys';
import { type DeviceRef, deviceAddress, EVENTS, toBase64url } from '@ncp-hub/protocol';
import { findFreePort } from '@ncp-hub/server';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { createTestRegistry, type TestAgency, tokenFor } from '../helpers/agencies.js';
import { GENEROUS_BUDGETS, makeTempDir } from '../helpers/hub.js';
import { createRecord, request } from '../helpers/raw-devices.js';
import { type ClientSocket, closeAllSockets, createSocket } from '../helpers/sockets.js';
import { waitFor } from '../helpers/wait-for.js';

const MAIN = resolve(import.meta.dirname, '../../server/dist/main.js');
/** The bound under test. */
const IN_FLIGHT = 32;
const REQUESTS = 1000;
/** Items in the conversation, and a text per message that makes each about 1.7 KB of envelope. */
const ITEMS = 500;
const TEXT = 'x'.repeat(600);

let dir: string;
let child: ChildProcess;
let output = '';
let url: string;
let agencies: Awaited<ReturnType<typeof createTestRegistry>>;

beforeAll(async () => {
  await access(MAIN).catch(() => {
    throw new Error(`${MAIN} is missing: run "npm run build" (npm test does) before this suite`);
  });
  dir = await makeTempDir();
  // A full garbage collection on SIGUSR2, so that the memory figures compare what is held, not
  // what the collector has not reached yet.
  const preload = join(dir, 'gc-on-signal.cjs');
  await writeFile(
    preload,
    [
      "process.on('SIGUSR2', () => {",
      '  globalThis.gc();',
      '  const m = process.memoryUsage();',
      "  process.stdout.write('[gc done ' + [m.rss, m.heapUsed, m.external].join(' ') + ']\\n');",
      '});',
      '',
    ].join('\n'),
  );
  agencies = await createTestRegistry(join(dir, 'registry'));
  const port = await findFreePort();
  child = spawn(process.execPath, ['--expose-gc', '--require', preload, MAIN], {
    env: {
      PATH: process.env.PATH ?? '',
      NODE_ENV: 'test',
      LOG_LEVEL: 'warn',
      HOST: '127.0.0.1',
      PORT: String(port),
      REDIS_URL: inject('redisUrl'),
      REDIS_PREFIX: `ncp-test-${randomUUID()}:`,
      TRUST_REGISTRY: join(dir, 'registry'),
      DATA_DIR: join(dir, 'data'),
      ...GENEROUS_BUDGETS,
      MAX_CONCURRENT_REQUESTS_PER_SOCKET: String(IN_FLIGHT),
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stdout?.on('data', (chunk: Buffer) => {
    output += chunk.toString();
  });
  child.stderr?.on('data', (chunk: Buffer) => {
    output += chunk.toString();
  });
  url = `http://127.0.0.1:${port}`;
  await waitFor(async () => (await fetch(`${url}/healthz`)).ok, 30_000, 100).catch((error: unknown) => {
    throw new Error(`the hub did not start: ${String(error)}\n${output}`);
  });
}, 60_000);

afterAll(async () => {
  closeAllSockets();
  if (child && child.exitCode === null && child.signalCode === null) {
    child.kill('SIGTERM');
    await once(child, 'exit');
  }
  if (dir) await rm(dir, { recursive: true, force: true });
});

/** The hub process's memory from the kernel: resident now and at its peak since the last reset, in bytes. */
async function memoryOf(pid: number): Promise<{ rss: number; peak: number }> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  const kb = (field: string) => Number(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status)?.[1]) * 1024;
  return { rss: kb('VmRSS'), peak: kb('VmHWM') };
}

/** Resets the peak (VmHWM) to the current RSS (Linux's clear_refs). */
function resetPeak(pid: number): Promise<void> {
  return writeFile(`/proc/${pid}/clear_refs`, '5');
}

/** Collects the hub's garbage (see the preload); resolves with its heap then in use (V8's heap and external memory), in bytes. */
async function collected(): Promise<number> {
  const reports = () => [...output.matchAll(/\[gc done (\d+) (\d+) (\d+)\]/g)];
  const done = reports().length;
  child.kill('SIGUSR2');
  await waitFor(() => reports().length > done, 10_000, 20);
  const [, , heapUsed, external] = (reports().at(-1) as RegExpMatchArray).map(Number);
  return (heapUsed as number) + (external as number);
}

const mb = (bytes: number) => Math.round(bytes / 1e5) / 10;

interface Device {
  socket: ClientSocket;
  ref: DeviceRef;
  keys: Awaited<ReturnType<typeof generateDeviceKeys>>;
}

/** A device of `officer`, connected to the hub process and published. */
async function device(agency: TestAgency, officer: string, id = 'device-1'): Promise<Device> {
  const ref = { agency: agency.id, officer, device: id };
  const socket = createSocket(url, { token: await tokenFor(agency, { officer }), device: ref.device });
  await new Promise<void>((resolveWelcome, reject) => {
    socket.once(EVENTS.sessionWelcome, () => resolveWelcome());
    socket.once('connect_error', reject);
    socket.connect();
  });
  const keys = await generateDeviceKeys();
  const attestation = await issueDeviceAttestation({
    ...ref,
    encryptionKey: toBase64url(keys.encryption.publicKey),
    signingKey: toBase64url(keys.signing.publicKey),
    privateJwk: agency.key.privateJwk,
  });
  expect(await request(socket, EVENTS.directoryPublish, { attestation })).toMatchObject({ ok: true });
  return { socket, ref, keys };
}

/** A conversation of `sender` with `reader` holding ITEMS messages of about 4 KB each. */
async function fullConversation(sender: Device, reader: Device): Promise<string> {
  const { conv, signed } = await createRecord(sender, [reader.ref], {
    type: 'formal-request',
    reference: 'MLA/1',
    caseReference: 'CASE-1',
  });
  expect(await request(sender.socket, EVENTS.conversationCreate, { record: signed })).toMatchObject({ ok: true });
  const recipient = { address: deviceAddress(reader.ref), encryptionKey: reader.keys.encryption.publicKey };
  // In batches below the bound, so that none is refused.
  for (let seq = 1; seq <= ITEMS; seq += 16) {
    const batch = Array.from({ length: Math.min(16, ITEMS - seq + 1) }, async (_, i) => {
      const envelope = await sealEnvelope({
        header: {
          id: toBase64url(randomBytes(16)),
          conv,
          from: sender.ref,
          ts: Date.now(),
          seq: seq + i,
          kind: 'chat',
        },
        content: { v: 1, type: 'text', text: TEXT },
        recipients: [recipient],
        signingSecretKey: sender.keys.signing.secretKey,
      });
      return request(sender.socket, EVENTS.messageSend, { envelope });
    });
    for (const answer of await Promise.all(batch)) expect(answer).toMatchObject({ ok: true });
  }
  return conv;
}

describe.skipIf(process.platform !== 'linux')('requests in flight on one socket', () => {
  it('1,000 concurrent conversation:sync of 500 items: most refused at once, memory bounded and given back', async () => {
    const pid = child.pid as number;
    const sender = await device(agencies['UA-NPU'], 'ua.sender');
    const reader = await device(agencies['PL-KGP'], 'pl.reader');
    const conv = await fullConversation(sender, reader);
    const one = await request(reader.socket, EVENTS.conversationSync, { conv, after: null, limit: ITEMS });
    expect(one).toMatchObject({ ok: true, items: expect.any(Array) });
    expect((one as unknown as { items: unknown[] }).items).toHaveLength(ITEMS);
    /** What one answer weighs on the wire: what a thousand held at once would make the hub hold, at least. */
    const answerBytes = JSON.stringify(one).length;

    const heldBefore = await collected();
    const before = await memoryOf(pid);
    await resetPeak(pid);
    const answers = await Promise.all(
      Array.from({ length: REQUESTS }, () =>
        request(reader.socket, EVENTS.conversationSync, { conv, after: null, limit: ITEMS }),
      ),
    );
    const during = await memoryOf(pid);

    const accepted = answers.filter((answer) => answer.ok);
    const refused = answers.flatMap((answer) => (answer.ok ? [] : [answer.error]));
    const growth = during.peak - before.rss;
    const thousand = REQUESTS * answerBytes;
    console.info(
      `concurrent syncs: ${accepted.length} answered, ${refused.length} refused; answer ${mb(answerBytes)} MB ` +
        `(a thousand: ${mb(thousand)} MB); hub RSS before ${mb(before.rss)} MB, peak ${mb(during.peak)} MB (+${mb(growth)})`,
    );
    for (const answer of accepted) expect((answer as unknown as { items: unknown[] }).items).toHaveLength(ITEMS);
    for (const error of refused) {
      expect(error).toEqual({ code: 'RATE_LIMITED', message: expect.any(String), retryAfter: expect.any(Number) });
      expect(error.retryAfter).toBeGreaterThan(0);
    }
    expect(accepted.length).toBeGreaterThanOrEqual(1);
    expect(refused.length).toBeGreaterThan(REQUESTS / 2);

    // The peak grew by what a few dozen answers hold, far from what a thousand would.
    expect(growth).toBeLessThan(thousand / 4);

    // And it is given back once the answers are out and the socket is gone: nothing is kept.
    reader.socket.close();
    sender.socket.close();
    await waitFor(async () => (await fetch(`${url}/metrics`)).text().then((m) => /connected_sockets 0$/m.test(m)));
    const heldAfter = await collected();
    expect(heldAfter - heldBefore).toBeLessThan(4e6);
    // V8 gives the collected pages back to the system shortly after the collection.
    const given = (rss: number) => rss - before.rss < Math.max(growth / 4, 16e6);
    await waitFor(async () => given((await memoryOf(pid)).rss), 10_000, 100);
    const after = await memoryOf(pid);
    console.info(
      `concurrent syncs, after: hub RSS ${mb(after.rss)} MB; heap in use after a collection: ` +
        `before ${mb(heldBefore)} MB, after ${mb(heldAfter)} MB`,
    );
    // The hub serves on.
    const again = await device(agencies['PL-KGP'], 'pl.reader', 'device-2');
    expect(await request(again.socket, EVENTS.conversationSync, { conv, after: null, limit: 1 })).toMatchObject({
      ok: true,
    });
  }, 120_000);
});
