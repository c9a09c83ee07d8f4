/**
 * Attestation expiry and the directory's store, the hub's side, over raw Socket.IO: the store
 * checks, in the same step as it stores, that the sending device's attestation is unexpired
 * (`DEVICE_NOT_PUBLISHED`), for every request that writes (a message, a receipt, a membership
 * change, a new conversation, a query's opening), until the device publishes a new one; a
 * device that connects with an expired attestation is not published. The directory keeps one
 * set of keys for a device published concurrently, and a hub that starts fills in the expiry
 * hash for the devices an older hub stored without it. No test here waits on the clock: an
 * expiry is written into the directory's expiry hash.
 */
import { randomBytes } from 'node:crypto';
import { generateDeviceKeys, hashMembershipRecord, signMembershipRecord, signReceipt } from '@ncp-hub/crypto';
import { deviceAddress, EVENTS, officerAddress, type SignedMembershipRecord, toBase64url } from '@ncp-hub/protocol';
import { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, inject, it } from 'vitest';
import { startTestHub, type TestHub } from '../helpers/hub.js';
import {
  attestationOf,
  connect,
  createConversation,
  createRecord,
  devicesOfAgency,
  directoryKeys,
  envelopeFrom,
  expire,
  itemsOf,
  NO_LONGER_PUBLISHED,
  publish,
  published,
  queryOpening,
  request,
} from '../helpers/raw-devices.js';
import { closeAllSockets } from '../helpers/sockets.js';

let hub: TestHub;
/** A second node of the same hub: same Redis, prefix and registry. */
let peer: TestHub;
/** The suite's Redis, to write what the hub would find there (an expiry passed, an entry of an older hub). */
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

describe('an expired attestation', () => {
  it('refuses, as it stores, what a device sends once its attestation expired during the session, until it publishes a new one', async () => {
    const ua = await published(hub, hub.agencies['UA-NPU'], `ua.${run}`, 'ua-1');
    const pl = await published(hub, hub.agencies['PL-KGP'], `pl.${run}`, 'pl-1');
    const { conv, signed: created } = await createRecord(ua, [pl.ref], {
      type: 'formal-request',
      reference: `MLA/${run}`,
      caseReference: `CASE-${run}`,
    });
    // A group, so that a member can be added.
    const group = await createRecord(
      ua,
      [pl.ref],
      { type: 'formal-request', reference: `MLA/${run}/group`, caseReference: `CASE-${run}` },
      'group',
    );
    expect(await request(ua.socket, EVENTS.conversationCreate, { record: created })).toMatchObject({ ok: true });
    expect(await request(ua.socket, EVENTS.conversationCreate, { record: group.signed })).toMatchObject({ ok: true });
    const message = await envelopeFrom(ua, conv, [pl]);
    const receipt = await signReceipt(
      { v: 1, conv, type: 'read', ids: [toBase64url(randomBytes(16))], by: ua.ref, ts: Date.now() },
      ua.keys.signing.secretKey,
    );
    const add: SignedMembershipRecord = await signMembershipRecord(
      {
        v: 1,
        conv: group.conv,
        seq: 2,
        prev: await hashMembershipRecord(group.signed),
        op: 'add',
        member: { agency: 'PL-KGP', officer: `pl.other.${run}` },
        by: ua.ref,
        ts: Date.now(),
      },
      ua.keys.signing.secretKey,
    );
    const another = await createRecord(ua, [pl.ref], {
      type: 'formal-request',
      reference: `MLA/${run}/2`,
      caseReference: `CASE-${run}`,
    });
    const desks = await devicesOfAgency(ua, 'NCB-UA');
    const opening = await queryOpening(ua, pl, { question: [pl], statement: [pl, ...desks] }, run);

    await expire(redis, hub, ua);
    const refused = { ok: false, error: NO_LONGER_PUBLISHED };
    expect(await request(ua.socket, EVENTS.messageSend, { envelope: message })).toEqual(refused);
    expect(await request(ua.socket, EVENTS.receiptSend, { receipt })).toEqual(refused);
    expect(await request(ua.socket, EVENTS.conversationChange, { record: add })).toEqual(refused);
    expect(await request(ua.socket, EVENTS.conversationCreate, { record: another.signed })).toEqual(refused);
    expect(await request(ua.socket, EVENTS.queryOpen, await opening.payload())).toEqual(refused);
    // Nothing was stored, created or claimed.
    expect(await itemsOf(pl, conv)).toEqual([]);
    expect(await request(pl.socket, EVENTS.conversationGet, { conv: group.conv })).toMatchObject({
      ok: true,
      conversation: { members: [officerAddress(pl.ref), officerAddress(ua.ref)].sort(), records: [group.signed] },
    });
    expect(await request(pl.socket, EVENTS.conversationGet, { conv: another.conv })).toMatchObject({
      ok: false,
      error: { code: 'CONVERSATION_NOT_FOUND' },
    });

    // A new attestation of the same keys, and the same requests are accepted.
    await publish(ua);
    expect(await request(ua.socket, EVENTS.messageSend, { envelope: message })).toMatchObject({ ok: true });
    expect(await request(ua.socket, EVENTS.receiptSend, { receipt })).toMatchObject({ ok: true });
    expect(await request(ua.socket, EVENTS.conversationChange, { record: add })).toMatchObject({ ok: true });
    expect(await request(ua.socket, EVENTS.conversationCreate, { record: another.signed })).toMatchObject({
      ok: true,
    });
    expect(await request(ua.socket, EVENTS.queryOpen, await opening.payload())).toMatchObject({ ok: true });
  });

  it('does not count as published at the handshake: a device that connects with it is DEVICE_NOT_PUBLISHED', async () => {
    const ua = await published(hub, hub.agencies['UA-NPU'], `ua.${run}`, 'ua-1');
    const pl = await published(hub, hub.agencies['PL-KGP'], `pl.${run}`, 'pl-1');
    const conv = await createConversation(ua, pl, run);
    await expire(redis, hub, ua);
    ua.socket.close();
    const again = { ...(await connect(hub, hub.agencies['UA-NPU'], `ua.${run}`, 'ua-1')), keys: ua.keys };
    expect(
      await request(again.socket, EVENTS.messageSend, { envelope: await envelopeFrom(again, conv, [pl]) }),
    ).toEqual({ ok: false, error: NO_LONGER_PUBLISHED });
    expect(await itemsOf(pl, conv)).toEqual([]);
  });
});

describe('the directory', () => {
  it('keeps a device’s keys under concurrent publications: of several with different keys, one is stored', async () => {
    const attempts = await Promise.all(
      Array.from({ length: 6 }, (_, i) => connect(i % 2 ? peer : hub, hub.agencies['PL-KGP'], `pl.${run}`, 'pl-1')),
    );
    const attestations = await Promise.all(attempts.map((device) => attestationOf(device)));
    const answers = await Promise.all(
      attempts.map((device, i) => request(device.socket, EVENTS.directoryPublish, { attestation: attestations[i] })),
    );
    const accepted = answers.flatMap((answer, i) => (answer.ok ? [attestations[i]] : []));
    expect(accepted).toHaveLength(1);
    for (const answer of answers.filter((a) => !a.ok)) {
      expect(answer).toMatchObject({ ok: false, error: { code: 'ATTESTATION_INVALID' } });
    }
    const ua = await published(hub, hub.agencies['UA-NPU'], `ua.${run}`, 'ua-1');
    const listed = await request(ua.socket, EVENTS.directoryDevices, {
      officers: [{ agency: 'PL-KGP', officer: `pl.${run}` }],
    });
    expect(listed).toMatchObject({ ok: true, devices: { [`PL-KGP/pl.${run}`]: accepted } });
  });

  it('counts the devices an older hub published (no expiry hash): a hub that starts fills it in from the entries', async () => {
    const ua = await published(hub, hub.agencies['UA-NPU'], `ua.${run}`, 'ua-1');
    const pl = await published(hub, hub.agencies['PL-KGP'], `pl.${run}`, 'pl-1');
    const conv = await createConversation(ua, pl, run);
    // A device of pl, as a hub without the expiry hash stored it: its entry and its agency's set.
    const legacy = { ...pl, ref: { ...pl.ref, device: 'pl-legacy' }, keys: await generateDeviceKeys() };
    const jws = await attestationOf(legacy);
    const { exp } = JSON.parse(Buffer.from(jws.split('.')[1] as string, 'base64url').toString()) as { exp: number };
    const keys = directoryKeys(hub, legacy.ref);
    await redis.hset(
      keys.entries,
      'pl-legacy',
      JSON.stringify({
        jws,
        encryptionKey: toBase64url(legacy.keys.encryption.publicKey),
        signingKey: toBase64url(legacy.keys.signing.publicKey),
        expiresAt: exp,
      }),
    );
    await redis.sadd(`${hub.redisPrefix}agency:PL-KGP:officers`, officerAddress(legacy.ref));
    // An expired device of another officer, whose expiry is stored: the start leaves it as it is.
    const expired = await published(hub, hub.agencies['PL-KGP'], `pl.expired.${run}`, 'old');
    await expire(redis, hub, expired);

    const started = await startTestHub({}, { peerOf: hub });
    try {
      expect(await redis.hget(keys.expiries, 'pl-legacy')).toBe(String(exp));
      expect(Number(await redis.hget(directoryKeys(hub, expired.ref).expiries, 'old'))).toBeLessThan(Date.now() / 1000);
      expect(
        await request(ua.socket, EVENTS.messageSend, { envelope: await envelopeFrom(ua, conv, [pl]) }),
      ).toMatchObject({ ok: false, error: { code: 'RECIPIENTS_CHANGED', missing: [deviceAddress(legacy.ref)] } });
    } finally {
      await started.stop();
    }
  });
});
