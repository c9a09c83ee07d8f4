/**
 * Redis SIGKILLed mid-stream and started again from its AOF (issue 9, fault suite), against a
 * redis-server of this suite's own configured as the embedded one (`appendonly yes`,
 * `appendfsync everysec`). Two officers of a group keep sending through the kill, each message
 * tried until acknowledged (the same id again: the hub answers INTERNAL, or nothing in time, while
 * Redis is away, and the message may have been stored); the third member's device, offline from
 * before the kill, syncs after the restart what the AOF gave back. Checked over the clients' own
 * histories: every message acknowledged to a sender reaches each other member's application
 * exactly once.
 *
 * Why a kill loses nothing acknowledged: Redis appends a write to its AOF buffer as it runs it
 * and write(2)s that buffer to the file in beforeSleep, before it writes the replies (so that
 * `appendfsync always` can fsync first); a killed process's writes are in the page cache, and
 * the kernel puts them on disk. `everysec` only defers the fsync, which an OS crash or a power
 * loss needs (then up to about 2 s are lost). One exception: while the previous second's
 * background fsync is still running (a slow disk), everysec postpones the write(2) by up to 2 s
 * and replies meanwhile ("Asynchronous AOF fsync is taking too long" in the log once past 2 s,
 * INFO persistence's aof_delayed_fsync): a kill in that window loses those writes.
 * `appendfsync always` closes it, at the price of an fsync per event-loop turn.
 */
import { rm } from 'node:fs/promises';
import { findFreePort, type RedisServer, startRedisServer } from '@ncp-hub/server';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { streamThroughFault } from '../helpers/delivery-history.js';
import { makeTempDir, startTestHub, type TestHub } from '../helpers/hub.js';
import { closeAllClients, recorded } from '../helpers/officers.js';
import { isAlive } from '../helpers/processes.js';
import { waitFor } from '../helpers/wait-for.js';

let dir: string;
let port: number;
let redis: RedisServer;
let hub: TestHub;

const startRedis = () => startRedisServer({ dir, port, password: false, appendOnly: true });

beforeAll(async () => {
  dir = await makeTempDir();
  port = await findFreePort();
  redis = await startRedis();
  hub = await startTestHub({ REDIS_URL: redis.url });
});
afterEach(() => closeAllClients());
afterAll(async () => {
  await hub?.stop();
  await redis?.stop();
  await rm(dir, { recursive: true, force: true });
});

describe('Redis SIGKILLed mid-stream and restarted from its AOF', () => {
  it('loses and doubles no acknowledged message: every one reaches each recipient application once', async () => {
    const { figures, clients } = await streamThroughFault(
      hub,
      {
        name: 'fault Redis SIGKILL',
        // No wait for the everysec fsync: what was acknowledged a moment ago must survive.
        async inflict() {
          process.kill(redis.pid, 'SIGKILL');
          await waitFor(() => !isAlive(redis.pid), 5000);
        },
        async recover() {
          redis = await startRedis();
        },
      },
      'rediskill',
    );
    expect(figures.lost).toBe(0);
    expect(figures.duplicates).toBe(0);
    expect(figures.unacknowledgedDelivered).toBe(0);
    expect(figures.delivered).toBe(figures.expected);
    expect(figures.acknowledged).toBe(figures.sent);
    for (const client of clients) expect(recorded(client, 'undecryptable')).toEqual([]);
  }, 90_000);
});
