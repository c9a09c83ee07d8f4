/**
 * Device discovery, the hub's side, over raw Socket.IO: a published device is announced
 * (`directory:updated`) to everyone who shares a conversation with its officer, on every hub
 * node; and an envelope whose recipients leave out a current device of a member is refused
 * (`RECIPIENTS_CHANGED`, with the devices it `missing`), storing nothing, until it is sealed
 * again to include them; a query's opening is one such step for its question and its
 * statement. An expired attestation's own refusals and the directory's storage are in
 * device-expiry-hub.test.ts. No test here waits on the clock: an expiry is written into the
 * directory's expiry hash, and a negative check waits for a later event instead.
 */
import { randomBytes } from 'node:crypto';
import { type DirectoryUpdated, deviceAddress, type Envelope, EVENTS, toBase64url } from '@ncp-hub/protocol';
import { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, inject, it } from 'vitest';
import { type TestAgency, tokenFor } from '../helpers/agencies.js';
import { startTestHub, type TestHub } from '../helpers/hub.js';
import {
  attestationOf,
  connect,
  createConversation,
  devicesOfAgency,
  envelopeFrom,
  expire,
  itemsOf,
  publish,
  published,
  queryOpening,
  type RawDevice,
  request,
  startRedisGate,
} from '../helpers/raw-devices.js';
import { closeAllSockets } from '../helpers/sockets.js';
import { waitFor } from '../helpers/wait-for.js';

let hub: TestHub;
/** A second node of the same hub: same Redis, prefix and registry. */
let peer: TestHub;
/** The suite's Redis, to write what the hub would find there (an expiry passed). */
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

describe('directory:updated', () => {
  it('tells every co-member, on this node and through another node, of a device published, and no one else', async () => {
    const ua = await published(hub, hub.agencies['UA-NPU'], `ua.${run}`, 'ua-1');
    const plHere = await published(hub, hub.agencies['PL-KGP'], `pl.${run}`, 'pl-1');
    const plThere = await published(peer, peer.agencies['PL-KGP'], `pl.${run}`, 'pl-2');
    const stranger = await published(peer, peer.agencies['PL-KGP'], `stranger.${run}`, 's-1');
    await createConversation(ua, plHere, run);

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
    const conv = await createConversation(ua, pl, run);
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
    const conv = await createConversation(ua, pl, run);
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
    const conv = await createConversation(ua, pl, run);
    const expiring = await published(hub, hub.agencies['PL-KGP'], `pl.${run}`, 'pl-expiring');
    const unpublished = await connect(hub, hub.agencies['PL-KGP'], `pl.${run}`, 'pl-unpublished');

    expect(
      await request(ua.socket, EVENTS.messageSend, { envelope: await envelopeFrom(ua, conv, [pl]) }),
    ).toMatchObject({ ok: false, error: { code: 'RECIPIENTS_CHANGED', missing: [deviceAddress(expiring.ref)] } });
    await expire(redis, hub, expiring);
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
    const opening = await queryOpening(ua, pl, { question: [pl], statement: [pl, plOther, ...desks] }, run);

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
    const opening = await queryOpening(ua, pl, { question: [pl], statement: [pl] }, run);

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
      const opening = await queryOpening(ua, pl, { question: [pl], statement: [pl, ...desks] }, run);
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
