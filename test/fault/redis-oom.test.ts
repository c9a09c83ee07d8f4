/**
 * Redis out of memory mid-stream (issue 9, fault suite; the hub's answers themselves are in
 * test/integration/redis-out-of-memory.test.ts): with `maxmemory` reached and `noeviction`,
 * every write is refused, and the hub answers sends `BUSY` with `retryAfter`. Two officers keep
 * sending through it (the SDK sends a `BUSY` request again after its `retryAfter`; what reaches
 * the application is tried again with the same id); the third member, offline across it, syncs
 * afterwards. Once memory is freed, every message acknowledged to a sender reaches each other
 * member's application exactly once, checked over the clients' own histories.
 */
import { rm } from 'node:fs/promises';
import { type RedisServer, startRedisServer } from '@ncp-hub/server';
import { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { streamThroughFault } from '../helpers/delivery-history.js';
import { makeTempDir, startTestHub, type TestHub } from '../helpers/hub.js';
import { closeAllClients, recorded } from '../helpers/officers.js';
import { fillUp, makeRoom } from '../helpers/redis-memory.js';

let dir: string;
let redis: RedisServer;
let admin: Redis;
let hub: TestHub;

beforeAll(async () => {
  dir = await makeTempDir();
  redis = await startRedisServer({ dir, password: false, appendOnly: true });
  admin = new Redis(redis.url);
  hub = await startTestHub({ REDIS_URL: redis.url });
});
afterEach(() => closeAllClients());
afterAll(async () => {
  await hub?.stop();
  admin?.disconnect();
  await redis?.stop();
  await rm(dir, { recursive: true, force: true });
});

describe('Redis out of memory mid-stream', () => {
  it('refuses sends BUSY with retryAfter, and once memory is freed every acknowledged message reaches each recipient once', async () => {
    let filler: string[] = [];
    const { figures, clients, senders } = await streamThroughFault(
      hub,
      {
        name: 'fault Redis OOM',
        async inflict() {
          filler = await fillUp(admin);
        },
        recover: () => makeRoom(admin, filler),
      },
      'oom',
    );
    const busyRetryAfter = senders.flatMap((s) => s.busyRetryAfter);
    // Refused while full, with the hub's hint; nothing else went wrong for the senders.
    expect(figures.failures).toEqual({ BUSY: busyRetryAfter.length });
    expect(busyRetryAfter.length).toBeGreaterThanOrEqual(2);
    expect(new Set(busyRetryAfter)).toEqual(new Set([5000]));
    expect(figures.lost).toBe(0);
    expect(figures.duplicates).toBe(0);
    expect(figures.unacknowledgedDelivered).toBe(0);
    expect(figures.delivered).toBe(figures.expected);
    expect(figures.acknowledged).toBe(figures.sent);
    for (const client of clients) expect(recorded(client, 'undecryptable')).toEqual([]);
  }, 90_000);
});
