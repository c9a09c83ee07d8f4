/**
 * The officers' budgets, against two nodes of one hub on the suite's Redis (issue 9, items 3
 * and 9): reads and writes are counted per officer across the nodes, socket events and HTTP
 * routes draw on the same `read` budget, HTTP refusals are 429 with `Retry-After`, and
 * handshakes are counted per officer (accepted) and per claimed agency and address (refused),
 * refused with RATE_LIMITED before anything is audited. The budgets are small and their
 * windows long (a minute), so a count never depends on how fast the machine is.
 */
import { randomBytes } from 'node:crypto';
import type { AuditEntry } from '@ncp-hub/keys';
import { EVENTS, type HubErrorBody, toBase64url } from '@ncp-hub/protocol';
import { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, describe, expect, inject, it } from 'vitest';
import { type TestAgency, tokenFor } from '../helpers/agencies.js';
import { startTestHub, type TestHub } from '../helpers/hub.js';
import { attestationOf, connect, type RawDevice, request } from '../helpers/raw-devices.js';
import { closeAllSockets, connectOfficer, refusal } from '../helpers/sockets.js';
import { waitFor } from '../helpers/wait-for.js';

/** Reads: 6 per officer a minute; writes: 4 per officer in 40 s; handshakes: 3 a minute. */
const READS = 6;
const WRITES = 4;
const HANDSHAKES = 3;
const BUDGETS = {
  RATE_LIMIT_READS_PER_SECOND: '0.1',
  RATE_LIMIT_READS_BURST: String(READS),
  RATE_LIMIT_PER_SECOND: '0.1',
  RATE_LIMIT_BURST: String(WRITES),
  HANDSHAKES_PER_MINUTE: String(HANDSHAKES),
  AUDIT_REFUSAL_WINDOW_SECONDS: '0.2',
};

let a: TestHub;
let b: TestHub;
let redis: Redis;
let run = 0;
/** A new officer name for each use: every budget is per officer. */
const officer = (role: string) => `${role}.${++run}`;

beforeAll(async () => {
  a = await startTestHub(BUDGETS);
  b = await startTestHub(BUDGETS, { peerOf: a });
  redis = new Redis(inject('redisUrl'));
});
afterEach(() => closeAllSockets());
afterAll(async () => {
  redis?.disconnect();
  await b?.stop();
  await a?.stop();
});

const ua = (): TestAgency => a.agencies['UA-NPU'];

/** Whether an answer is the budget's refusal, with a `retryAfter` within the window. */
function expectRateLimited(error: HubErrorBody | undefined, windowMs: number): void {
  expect(error).toEqual({ code: 'RATE_LIMITED', message: expect.any(String), retryAfter: expect.any(Number) });
  expect(error?.retryAfter).toBeGreaterThan(0);
  expect(error?.retryAfter).toBeLessThanOrEqual(windowMs);
}

/** Sends `event` on each socket in turn until the hub refuses one; returns how many it took, and the refusal. */
async function untilRefused(
  sockets: RawDevice[],
  event: string,
  payload: (device: RawDevice) => unknown,
  max = 50,
): Promise<{ taken: number; error: HubErrorBody | undefined }> {
  for (let taken = 0; taken < max; taken++) {
    const device = sockets[taken % sockets.length] as RawDevice;
    const answer = await request(device.socket, event, payload(device));
    if (!answer.ok && answer.error.code === 'RATE_LIMITED') return { taken, error: answer.error };
  }
  throw new Error(`${event} was never refused`);
}

/** One officer with a socket on each node. */
async function onBothNodes(name: string): Promise<RawDevice[]> {
  return [await connect(a, ua(), name, 'device-a'), await connect(b, ua(), name, 'device-b')];
}

describe('the read budget', () => {
  const reads: Array<[string, () => unknown]> = [
    [EVENTS.directoryDevices, () => ({ agency: 'PL-KGP' })],
    [EVENTS.conversationList, () => ({})],
    // Refused for the event's own checks (no such conversation or query): the budget is taken before them.
    [EVENTS.conversationSync, () => ({ conv: toBase64url(randomBytes(16)), after: null, limit: 500 })],
    [EVENTS.queryGet, () => ({ query: toBase64url(randomBytes(16)) })],
  ];

  it.each(reads)('%s is refused past the officer budget, counted across both nodes', async (event, payload) => {
    const sockets = await onBothNodes(officer('reader'));
    const { taken, error } = await untilRefused(sockets, event, payload);
    expect(taken).toBe(READS);
    expectRateLimited(error, 60_000);
    // Another officer has a budget of its own.
    const other = await connect(b, ua(), officer('reader'), 'device-1');
    expect(await request(other.socket, event, payload())).not.toMatchObject({ error: { code: 'RATE_LIMITED' } });
  });

  it('socket events and HTTP routes of one officer draw on the same budget; HTTP says 429 with Retry-After', async () => {
    const name = officer('reader');
    const [onA] = await onBothNodes(name);
    for (let i = 0; i < READS / 2; i++) {
      expect(await request((onA as RawDevice).socket, EVENTS.conversationList, {})).toMatchObject({ ok: true });
    }
    const headers = { authorization: `Bearer ${await tokenFor(ua(), { officer: name })}` };
    for (let i = 0; i < READS / 2; i++) {
      const node = i % 2 === 0 ? b : a;
      expect((await fetch(`${node.url}/v1/queries`, { headers })).status).toBe(200);
    }
    for (const node of [a, b]) {
      const refused = await fetch(`${node.url}/v1/queries`, { headers });
      expect(refused.status).toBe(429);
      const seconds = Number(refused.headers.get('retry-after'));
      expect(seconds).toBeGreaterThanOrEqual(1);
      expect(seconds).toBeLessThanOrEqual(60);
      const body = (await refused.json()) as { error: HubErrorBody };
      expectRateLimited(body.error, 60_000);
      expect(Math.ceil((body.error.retryAfter as number) / 1000)).toBe(seconds);
    }
    const answer = await request((onA as RawDevice).socket, EVENTS.conversationList, {});
    expectRateLimited(answer.ok ? undefined : answer.error, 60_000);
  });

  it('routes without a token are counted by address across nodes; the probes by each node on its own', async () => {
    /** Requests of `path` alternating between `nodes` until one is refused: how many were served. */
    const untilRefusedAt = async (path: string, nodes: TestHub[]) => {
      let served = 0;
      for (; served < 50; served++) {
        const response = await fetch(`${(nodes[served % nodes.length] as TestHub).url}${path}`);
        if (response.status === 429) {
          expect(Number(response.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
          expectRateLimited(((await response.json()) as { error: HubErrorBody }).error, 60_000);
          break;
        }
        expect(response.status).toBe(200);
      }
      return served;
    };
    expect(await untilRefusedAt('/v1/hub-keys', [a, b])).toBe(READS);
    // The probes answer whatever Redis does: each node counts them in its own memory.
    expect(await untilRefusedAt('/healthz', [a])).toBe(READS);
    expect(await untilRefusedAt('/metrics', [b])).toBe(READS);
    // The officers' budgets are apart from the address's.
    const headers = { authorization: `Bearer ${await tokenFor(ua(), { officer: officer('reader') })}` };
    expect((await fetch(`${a.url}/v1/whoami`, { headers })).status).toBe(200);
  });
});

describe('the address behind a load balancer (TRUST_PROXY)', () => {
  /** Requests of /v1/hub-keys to `hub` as `forwardedFor` until one is refused: how many were served. */
  const servedTo = async (hub: TestHub, forwardedFor: string) => {
    let served = 0;
    for (; served < 50; served++) {
      const response = await fetch(`${hub.url}/v1/hub-keys`, { headers: { 'x-forwarded-for': forwardedFor } });
      if (response.status === 429) break;
      expect(response.status).toBe(200);
    }
    return served;
  };

  it('counts each client apart by the address the trusted proxy forwards; from another peer the header is not believed', async () => {
    const trusting = await startTestHub({ ...BUDGETS, TRUST_PROXY: '127.0.0.1,::1' });
    const distrusting = await startTestHub(BUDGETS);
    try {
      expect(await servedTo(trusting, '198.51.100.1')).toBe(READS);
      // Another client behind the same balancer has a budget of its own.
      expect(await servedTo(trusting, '198.51.100.2')).toBe(READS);
      // A client cannot spoof its way out: what it writes at the left of the header is not believed.
      expect(await servedTo(trusting, '203.0.113.9, 198.51.100.1')).toBe(0);
      // Without TRUST_PROXY every request is the peer's (127.0.0.1), whatever the header says.
      let served = 0;
      for (; served < 50; served++) {
        const response = await fetch(`${distrusting.url}/v1/hub-keys`, {
          headers: { 'x-forwarded-for': `198.51.100.${served + 10}` },
        });
        if (response.status === 429) break;
      }
      expect(served).toBe(READS);
    } finally {
      await trusting.stop();
      await distrusting.stop();
    }
  });
});

describe('the write budget', () => {
  it('is counted across both nodes: publications alternating between them are refused at the same total', async () => {
    const sockets = await onBothNodes(officer('writer'));
    const attestations = new Map(await Promise.all(sockets.map(async (d) => [d, await attestationOf(d)] as const)));
    const { taken, error } = await untilRefused(sockets, EVENTS.directoryPublish, (device) => ({
      attestation: attestations.get(device),
    }));
    expect(taken).toBe(WRITES);
    expectRateLimited(error, 40_000);
  });
});

/** Every `auth.*` entry the audit chain holds so far (read from Redis, not through the rate-limited API). */
async function authEntries(): Promise<AuditEntry[]> {
  const chain = await redis.lrange(`${a.redisPrefix}audit:chain`, 0, -1);
  return chain.map((line) => JSON.parse(line) as AuditEntry).filter((entry) => entry.type.startsWith('auth.'));
}

/** Waits until an officer's acceptance is chained: every entry written before it is chained too. */
async function chainedUpTo(marker: string): Promise<AuditEntry[]> {
  const isMarker = (e: AuditEntry) => e.type === 'auth.accepted' && e.actor !== 'hub' && e.actor.officer === marker;
  await waitFor(async () => (await authEntries()).some(isMarker), 15_000);
  return authEntries();
}

describe('the handshake budget', () => {
  it('refuses an officer past HANDSHAKES_PER_MINUTE on any node with RATE_LIMITED, and audits no session for it', async () => {
    const name = officer('connector');
    const token = await tokenFor(ua(), { officer: name });
    for (let i = 0; i < HANDSHAKES; i++) await connectOfficer((i % 2 === 0 ? a : b).url, token);
    for (const node of [b, a]) {
      expectRateLimited(await refusal(node.url, { token, device: 'device-1' }), 60_000);
    }
    // Its refusals are counts of each node's window, not one entry each (both nodes' windows
    // recorded: the suite's only UA-NPU handshakes refused so); its sessions are the three accepted.
    const limited = (entries: AuditEntry[]) =>
      entries
        .filter((e) => e.type === 'auth.refused' && e.data.transport === 'socket' && e.data.code === 'RATE_LIMITED')
        .filter((e) => e.data.claimedAgency === 'UA-NPU')
        .reduce((sum, e) => sum + (e.data.count as number), 0);
    await waitFor(async () => limited(await authEntries()) === 2, 15_000);
    const marker = officer('marker');
    await connectOfficer(a.url, await tokenFor(ua(), { officer: marker }));
    const entries = await chainedUpTo(marker);
    const accepted = entries.filter((e) => e.type === 'auth.accepted' && e.actor !== 'hub' && e.actor.officer === name);
    expect(accepted).toHaveLength(HANDSHAKES);
    expect(limited(entries)).toBe(2);
  });

  it('refuses a claimed agency from one address after HANDSHAKES_PER_MINUTE refusals, before looking at its token', async () => {
    const ncb = a.agencies['NCB-PL'];
    const good = await tokenFor(ncb, { officer: officer('desk') });
    const forged = `${good.slice(0, -6)}${good.endsWith('AAAAAA') ? 'BBBBBB' : 'AAAAAA'}`;
    for (let i = 0; i < HANDSHAKES; i++) {
      const node = i % 2 === 0 ? a : b;
      expect(await refusal(node.url, { token: forged })).toMatchObject({ code: expect.stringMatching(/^AUTH_/) });
    }
    expectRateLimited(await refusal(b.url, { token: forged }), 60_000);
    // The same agency from the same address, even with a good token, waits for the window: the
    // budget cannot tell them apart. HTTP counts with the handshakes.
    expectRateLimited(await refusal(a.url, { token: good }), 60_000);
    const http = await fetch(`${a.url}/v1/whoami`, { headers: { authorization: `Bearer ${forged}` } });
    expect(http.status).toBe(429);
    expect(Number(http.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    // Another agency from the same address is not affected.
    const other = await connectOfficer(b.url, await tokenFor(a.agencies['PL-KGP'], { officer: officer('officer') }));
    expect(other.welcome.identity.agency).toBe('PL-KGP');
  });
});
