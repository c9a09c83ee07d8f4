/**
 * Redis out of memory (issue 9, item 9): with `maxmemory` reached and `noeviction`, Redis
 * refuses every write with `OOM command not allowed`. The hub answers such a refusal `BUSY`
 * with a `retryAfter`, not `INTERNAL`; it stored nothing of the refused send, so the same
 * envelope sent again once Redis has room is stored once; and nothing acknowledged before is
 * lost. Against a redis-server of this suite's own, whose `maxmemory` the test lowers.
 */
import { randomBytes } from 'node:crypto';
import { EVENTS, toBase64url } from '@ncp-hub/protocol';
import { afterEach, describe, expect, it } from 'vitest';
import { tokenFor } from '../helpers/agencies.js';
import { createConversation, envelopeFrom, itemsOf, published, request } from '../helpers/raw-devices.js';
import { fillUp, makeRoom, useHubOnOwnRedis } from '../helpers/redis-memory.js';
import { closeAllSockets, refusal } from '../helpers/sockets.js';

const own = useHubOnOwnRedis();
afterEach(() => closeAllSockets());

const BUSY = { code: 'BUSY', message: expect.any(String), retryAfter: 5000 };

describe('Redis out of memory', () => {
  it('answers a send BUSY with retryAfter, stores nothing of it, and loses nothing acknowledged', async () => {
    const { hub, admin } = own;
    const ua = await published(hub, hub.agencies['UA-NPU'], 'ua.oom', 'ua-1');
    const pl = await published(hub, hub.agencies['PL-KGP'], 'pl.oom', 'pl-1');
    const conv = await createConversation(ua, pl, 1);
    const acknowledged: string[] = [];
    for (let seq = 1; seq <= 3; seq += 1) {
      const envelope = await envelopeFrom(ua, conv, [pl], { seq });
      expect(await request(ua.socket, EVENTS.messageSend, { envelope })).toMatchObject({ ok: true, duplicate: false });
      acknowledged.push(envelope.header.id);
    }

    const filler = await fillUp(admin);
    const fourth = await envelopeFrom(ua, conv, [pl], { seq: 4, id: toBase64url(randomBytes(16)) });
    expect(await request(ua.socket, EVENTS.messageSend, { envelope: fourth })).toEqual({ ok: false, error: BUSY });
    // Again: still refused the same way, nothing stored meanwhile.
    expect(await request(ua.socket, EVENTS.messageSend, { envelope: fourth })).toEqual({ ok: false, error: BUSY });
    // Reads go on; the socket and the hub live on.
    const whileFull = (await itemsOf(pl, conv)) as Array<{ envelope: { header: { id: string } } }>;
    expect(whileFull.map((item) => item.envelope.header.id)).toEqual(acknowledged);
    expect(ua.socket.connected && pl.socket.connected).toBe(true);
    expect((await fetch(`${hub.url}/readyz`)).status).toBe(200);

    // Room again: the same envelope is stored, once.
    await makeRoom(admin, filler);
    expect(await request(ua.socket, EVENTS.messageSend, { envelope: fourth })).toMatchObject({
      ok: true,
      duplicate: false,
    });
    acknowledged.push(fourth.header.id);
    const fifth = await envelopeFrom(ua, conv, [pl], { seq: 5 });
    expect(await request(ua.socket, EVENTS.messageSend, { envelope: fifth })).toMatchObject({ ok: true });
    acknowledged.push(fifth.header.id);
    const items = (await itemsOf(pl, conv)) as Array<{ envelope: { header: { id: string } } }>;
    expect(items.map((item) => item.envelope.header.id)).toEqual(acknowledged);
  });

  it('answers a handshake and an HTTP request, which write their audit entry, BUSY with retryAfter (HTTP 503)', async () => {
    const { hub, admin } = own;
    const filler = await fillUp(admin);
    try {
      const token = await tokenFor(hub.agencies['UA-NPU'], { officer: 'ua.oom.later' });
      expect(await refusal(hub.url, { token })).toEqual(BUSY);
      const response = await fetch(`${hub.url}/v1/whoami`, { headers: { authorization: `Bearer ${token}` } });
      expect({ status: response.status, body: await response.json() }).toEqual({ status: 503, body: { error: BUSY } });
    } finally {
      await makeRoom(admin, filler);
    }
  });
});
