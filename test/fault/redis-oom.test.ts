/**
 * Redis out of memory mid-stream (issue 9, fault suite; the hub's answers themselves are in
 * test/integration/redis-out-of-memory.test.ts): with `maxmemory` reached and `noeviction`,
 * every write is refused, and the hub answers sends `BUSY` with `retryAfter`. Two officers keep
 * sending through it (the SDK sends a `BUSY` request again after its `retryAfter`; what reaches
 * the application is tried again with the same id); the third member, offline across it, syncs
 * afterwards. Once memory is freed, every message acknowledged to a sender reaches each other
 * member's application exactly once, checked over the clients' own histories.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { streamThroughFault } from '../helpers/delivery-history.js';
import { closeAllClients, recorded } from '../helpers/officers.js';
import { fillUp, makeRoom, useHubOnOwnRedis } from '../helpers/redis-memory.js';

const own = useHubOnOwnRedis();
afterEach(() => closeAllClients());

describe('Redis out of memory mid-stream', () => {
  it('refuses sends BUSY with retryAfter, and once memory is freed every acknowledged message reaches each recipient once', async () => {
    const { hub, admin } = own;
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
