/**
 * The hub's own checks on the messaging path: every bad request gets its error code, and the
 * connection — and everything accepted before — survives it.
 */

import { randomBytes } from 'node:crypto';
import {
  type DeviceKeys,
  generateDeviceKeys,
  hashMembershipRecord,
  sealEnvelope,
  signMembershipRecord,
  signReceipt,
  toBase64url,
} from '@ncp-hub/client-sdk';
import { issueDeviceAttestation } from '@ncp-hub/keys';
import {
  type Ack,
  type ConversationBasis,
  type DeviceRef,
  deviceAddress,
  EVENTS,
  type MembershipRecord,
} from '@ncp-hub/protocol';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { type TestAgency, tokenFor } from '../helpers/agencies.js';
import { startTestHub, type TestHub } from '../helpers/hub.js';
import { createRecord, request } from '../helpers/raw-devices.js';
import { type ClientSocket, closeAllSockets, connectOfficer, createSocket } from '../helpers/sockets.js';

const basis: ConversationBasis = { type: 'formal-request', reference: 'MLA/1', caseReference: 'CASE-1' };

let testHub: TestHub;
let run = 0;
beforeAll(async () => {
  testHub = await startTestHub({ RATE_LIMIT_PER_SECOND: '1', RATE_LIMIT_BURST: '40', MAX_ENVELOPE_BYTES: '4096' });
});
beforeEach(() => {
  run += 1;
});
afterEach(() => closeAllSockets());
afterAll(() => testHub?.stop());

interface RawDevice {
  socket: ClientSocket;
  keys: DeviceKeys;
  ref: DeviceRef;
}

/** A device speaking the wire protocol directly, without the SDK's client. */
async function rawDevice(agency: TestAgency, officer: string, options: { publish?: boolean } = {}): Promise<RawDevice> {
  const keys = await generateDeviceKeys();
  const device = 'raw-1';
  const socket = createSocket(testHub.url, { token: await tokenFor(agency, { officer }), device });
  await new Promise<void>((resolve, reject) => {
    socket.once(EVENTS.sessionWelcome, () => resolve());
    socket.once('connect_error', reject);
    socket.connect();
  });
  if (options.publish !== false) {
    const attestation = await issueDeviceAttestation({
      agency: agency.id,
      officer,
      device,
      encryptionKey: toBase64url(keys.encryption.publicKey),
      signingKey: toBase64url(keys.signing.publicKey),
      privateJwk: agency.key.privateJwk,
    });
    expect(await request(socket, EVENTS.directoryPublish, { attestation })).toMatchObject({ ok: true });
  }
  return { socket, keys, ref: { agency: agency.id, officer, device } };
}

async function createConversation(creator: RawDevice, members: DeviceRef[], kind: 'direct' | 'group' = 'direct') {
  const { conv, signed } = await createRecord(creator, members, basis, kind);
  const answer = await request(creator.socket, EVENTS.conversationCreate, { record: signed });
  expect(answer).toMatchObject({ ok: true });
  return { conv, signed };
}

async function envelopeFrom(sender: RawDevice, conv: string, to: RawDevice[], text = 'hello', seq = 1) {
  return sealEnvelope({
    header: { id: toBase64url(randomBytes(16)), conv, from: sender.ref, ts: Date.now(), seq, kind: 'chat' },
    content: { v: 1, type: 'text', text },
    recipients: to.map((r) => ({ address: deviceAddress(r.ref), encryptionKey: r.keys.encryption.publicKey })),
    signingSecretKey: sender.keys.signing.secretKey,
  });
}

async function twoOfficers() {
  const ua = await rawDevice(testHub.agencies['UA-NPU'], `ua.${run}`);
  const pl = await rawDevice(testHub.agencies['PL-KGP'], `pl.${run}`);
  const { conv, signed } = await createConversation(ua, [pl.ref]);
  return { ua, pl, conv, signed };
}

function expectError(answer: Ack<Record<string, unknown>>, code: string) {
  expect(answer).toEqual({ ok: false, error: expect.objectContaining({ code, message: expect.any(String) }) });
}

describe('message:send refusals', () => {
  it('a structurally bad envelope is BAD_REQUEST, and the connection then still sends', async () => {
    const { ua, pl, conv } = await twoOfficers();
    const good = await envelopeFrom(ua, conv, [pl]);
    const bad = [
      {},
      { envelope: null },
      { envelope: { ...good, nonce: 'short' } },
      { envelope: { ...good, sig: undefined } },
      { envelope: { ...good, extra: 1 } },
      { envelope: { ...good, header: { ...good.header, v: 2 } } },
      { envelope: { ...good, header: { ...good.header, seq: 0 } } },
      { envelope: { ...good, header: { ...good.header, to: [...good.header.to, ...good.header.to] } } },
      { envelope: { ...good, keys: {} } },
      'a string',
    ];
    for (const payload of bad) expectError(await request(ua.socket, EVENTS.messageSend, payload), 'BAD_REQUEST');
    expect(await request(ua.socket, EVENTS.messageSend, { envelope: good })).toMatchObject({
      ok: true,
      duplicate: false,
    });
  });

  it('a query kind on message:send is BAD_REQUEST: queries are opened with query:open', async () => {
    const { ua, pl, conv } = await twoOfficers();
    const good = await envelopeFrom(ua, conv, [pl]);
    const question = { ...good, header: { ...good.header, kind: 'query-question' } };
    expectError(await request(ua.socket, EVENTS.messageSend, { envelope: question }), 'BAD_REQUEST');
  });

  it('an envelope over MAX_ENVELOPE_BYTES is PAYLOAD_TOO_LARGE', async () => {
    const { ua, pl, conv } = await twoOfficers();
    const big = await envelopeFrom(ua, conv, [pl], 'x'.repeat(8000));
    expectError(await request(ua.socket, EVENTS.messageSend, { envelope: big }), 'PAYLOAD_TOO_LARGE');
  });

  it('a sender that is not a member is NOT_A_MEMBER; an unknown conversation is CONVERSATION_NOT_FOUND', async () => {
    const { ua, conv } = await twoOfficers();
    const outsider = await rawDevice(testHub.agencies['PL-PK'], `outsider.${run}`);
    expectError(
      await request(outsider.socket, EVENTS.messageSend, { envelope: await envelopeFrom(outsider, conv, [ua]) }),
      'NOT_A_MEMBER',
    );
    expectError(await request(outsider.socket, EVENTS.conversationSync, { conv, after: null }), 'NOT_A_MEMBER');
    const nowhere = toBase64url(randomBytes(16));
    expectError(
      await request(outsider.socket, EVENTS.messageSend, { envelope: await envelopeFrom(outsider, nowhere, [ua]) }),
      'CONVERSATION_NOT_FOUND',
    );
  });

  it('an envelope from another device than the connection is SENDER_MISMATCH', async () => {
    const { ua, pl, conv } = await twoOfficers();
    const forged = await envelopeFrom(pl, conv, [ua]);
    expectError(await request(ua.socket, EVENTS.messageSend, { envelope: forged }), 'SENDER_MISMATCH');
  });

  it('a re-sent message id is stored once and answered with the same cursor', async () => {
    const { ua, pl, conv } = await twoOfficers();
    const envelope = await envelopeFrom(ua, conv, [pl]);
    const first = await request(ua.socket, EVENTS.messageSend, { envelope });
    const again = await request(ua.socket, EVENTS.messageSend, { envelope });
    expect(again).toEqual({ ok: true, cursor: (first as unknown as { cursor: string }).cursor, duplicate: true });
    const synced = await request(pl.socket, EVENTS.conversationSync, { conv, after: null });
    expect((synced as unknown as { items: unknown[] }).items).toHaveLength(1);
  });

  it('a connection without a device is DEVICE_REQUIRED; an unpublished device DEVICE_NOT_PUBLISHED', async () => {
    const { ua, pl, conv } = await twoOfficers();
    const { socket } = await connectOfficer(
      testHub.url,
      await tokenFor(testHub.agencies['UA-NPU'], { officer: `ua.${run}` }),
    );
    expectError(
      await request(socket, EVENTS.messageSend, { envelope: await envelopeFrom(ua, conv, [pl]) }),
      'DEVICE_REQUIRED',
    );
    const unpublished = await rawDevice(testHub.agencies['PL-KGP'], `pl.${run}.b`, { publish: false });
    expectError(
      await request(unpublished.socket, EVENTS.messageSend, { envelope: await envelopeFrom(unpublished, conv, [ua]) }),
      'DEVICE_NOT_PUBLISHED',
    );
  });

  it('a sender over the rate limit is RATE_LIMITED with retryAfter, and nothing before is lost', async () => {
    const { ua, pl, conv } = await twoOfficers();
    const answers = [];
    for (let seq = 1; seq <= 45; seq++) {
      answers.push(
        await request(ua.socket, EVENTS.messageSend, { envelope: await envelopeFrom(ua, conv, [pl], 'm', seq) }),
      );
    }
    const accepted = answers.filter((a) => a.ok).length;
    const refused = answers.filter((a) => !a.ok);
    expect(accepted).toBeGreaterThanOrEqual(35);
    expect(refused.length).toBeGreaterThan(0);
    expect(refused[0]).toEqual({
      ok: false,
      error: { code: 'RATE_LIMITED', message: expect.any(String), retryAfter: expect.any(Number) },
    });
    expect((refused[0] as { error: { retryAfter: number } }).error.retryAfter).toBeGreaterThan(0);
    const synced = await request(pl.socket, EVENTS.conversationSync, { conv, after: null, limit: 500 });
    expect((synced as unknown as { items: unknown[] }).items).toHaveLength(accepted);
  });
});

describe('receipts, membership and the directory', () => {
  it('a receipt signed for another device is SENDER_MISMATCH; from a non-member NOT_A_MEMBER', async () => {
    const { ua, pl, conv } = await twoOfficers();
    const ids = [toBase64url(randomBytes(16))];
    const forged = await signReceipt(
      { v: 1, conv, type: 'read', ids, by: ua.ref, ts: Date.now() },
      pl.keys.signing.secretKey,
    );
    expectError(await request(pl.socket, EVENTS.receiptSend, { receipt: forged }), 'SENDER_MISMATCH');
    const outsider = await rawDevice(testHub.agencies['PL-PK'], `outsider.r.${run}`);
    const stranger = await signReceipt(
      { v: 1, conv, type: 'read', ids, by: outsider.ref, ts: Date.now() },
      outsider.keys.signing.secretKey,
    );
    expectError(await request(outsider.socket, EVENTS.receiptSend, { receipt: stranger }), 'NOT_A_MEMBER');
  });

  it('a membership change by a non-member, or badly linked, or unsigned, is MEMBERSHIP_INVALID', async () => {
    const ua = await rawDevice(testHub.agencies['UA-NPU'], `ua.g.${run}`);
    const pl = await rawDevice(testHub.agencies['PL-KGP'], `pl.g.${run}`);
    const outsider = await rawDevice(testHub.agencies['PL-PK'], `outsider.g.${run}`);
    const { conv, signed } = await createConversation(ua, [pl.ref], 'group');
    const add = async (by: RawDevice, prev: string, seq = 2): Promise<Ack<Record<string, unknown>>> => {
      const record: MembershipRecord = {
        v: 1,
        conv,
        seq,
        prev,
        op: 'add',
        member: { agency: outsider.ref.agency, officer: outsider.ref.officer },
        by: by.ref,
        ts: Date.now(),
      };
      return request(by.socket, EVENTS.conversationChange, {
        record: await signMembershipRecord(record, by.keys.signing.secretKey),
      });
    };
    const prev = await hashMembershipRecord(signed);
    expectError(await add(outsider, prev), 'MEMBERSHIP_INVALID');
    expectError(await add(pl, 'A'.repeat(86)), 'MEMBERSHIP_INVALID');
    expectError(await add(pl, prev, 3), 'MEMBERSHIP_INVALID');
    expect(await add(pl, prev)).toMatchObject({ ok: true });
  });

  it('a direct conversation needs exactly two members, and its id cannot be taken twice', async () => {
    const { ua, pl, signed } = await twoOfficers();
    expectError(await request(ua.socket, EVENTS.conversationCreate, { record: signed }), 'CONVERSATION_EXISTS');
    const third = await rawDevice(testHub.agencies['NCB-UA'], `ncb.${run}`);
    const { signed: threeInDirect } = await createRecord(ua, [pl.ref, third.ref], basis, 'direct');
    expectError(await request(ua.socket, EVENTS.conversationCreate, { record: threeInDirect }), 'MEMBERSHIP_INVALID');
  });

  it("publishing another officer's attestation, or new keys for a known device, is ATTESTATION_INVALID", async () => {
    const ua = await rawDevice(testHub.agencies['UA-NPU'], `ua.d.${run}`);
    const otherKeys = await generateDeviceKeys();
    const attest = (officer: string, keys: DeviceKeys) =>
      issueDeviceAttestation({
        agency: 'UA-NPU',
        officer,
        device: 'raw-1',
        encryptionKey: toBase64url(keys.encryption.publicKey),
        signingKey: toBase64url(keys.signing.publicKey),
        privateJwk: testHub.agencies['UA-NPU'].key.privateJwk,
      });
    expectError(
      await request(ua.socket, EVENTS.directoryPublish, { attestation: await attest('someone.else', ua.keys) }),
      'ATTESTATION_INVALID',
    );
    expectError(
      await request(ua.socket, EVENTS.directoryPublish, { attestation: await attest(`ua.d.${run}`, otherKeys) }),
      'ATTESTATION_INVALID',
    );
    expectError(await request(ua.socket, EVENTS.directoryPublish, { attestation: 'not.a.jws' }), 'ATTESTATION_INVALID');
    const devices = await request(ua.socket, EVENTS.directoryDevices, {
      officers: [{ agency: 'UA-NPU', officer: `ua.d.${run}` }],
    });
    expect((devices as unknown as { devices: Record<string, string[]> }).devices[`UA-NPU/ua.d.${run}`]).toHaveLength(1);
  });

  it("lists agencies with their public keys, and an agency's published devices", async () => {
    const ua = await rawDevice(testHub.agencies['UA-NPU'], `ua.l.${run}`);
    const agencies = (await request(ua.socket, EVENTS.directoryAgencies, {})) as unknown as {
      agencies: Array<{ id: string; jwks?: { keys: Array<{ kid: string; d?: string }> } }>;
    };
    const npu = agencies.agencies.find((a) => a.id === 'UA-NPU');
    expect(npu?.jwks?.keys[0]?.kid).toBe(testHub.agencies['UA-NPU'].key.kid);
    expect(JSON.stringify(agencies)).not.toContain('"d"');
    const byAgency = await request(ua.socket, EVENTS.directoryDevices, { agency: 'UA-NPU' });
    expect(Object.keys((byAgency as unknown as { devices: Record<string, string[]> }).devices)).toContain(
      `UA-NPU/ua.l.${run}`,
    );
  });
});

describe('retention', () => {
  it('keeps at most RETENTION_MAX_ITEMS per conversation, and nothing older than RETENTION_DAYS', async () => {
    const retained = await startTestHub({ RETENTION_MAX_ITEMS: '10', RETENTION_DAYS: String(2 / 86_400) });
    const previous = testHub;
    testHub = retained;
    try {
      const { ua, pl, conv } = await twoOfficers();
      for (let seq = 1; seq <= 25; seq++) {
        expect(
          await request(ua.socket, EVENTS.messageSend, { envelope: await envelopeFrom(ua, conv, [pl], 'm', seq) }),
        ).toMatchObject({ ok: true });
      }
      const counted = await request(pl.socket, EVENTS.conversationSync, { conv, after: null, limit: 500 });
      const items = (counted as unknown as { items: Array<{ envelope: { header: { seq: number } } }> }).items;
      expect(items.map((item) => item.envelope.header.seq)).toEqual([16, 17, 18, 19, 20, 21, 22, 23, 24, 25]);

      await new Promise((resolve) => setTimeout(resolve, 2100));
      expect(
        await request(ua.socket, EVENTS.messageSend, { envelope: await envelopeFrom(ua, conv, [pl], 'm', 26) }),
      ).toMatchObject({ ok: true });
      const aged = await request(pl.socket, EVENTS.conversationSync, { conv, after: null, limit: 500 });
      expect((aged as unknown as { items: unknown[] }).items).toHaveLength(1);
    } finally {
      testHub = previous;
      await retained.stop();
    }
  });
});
