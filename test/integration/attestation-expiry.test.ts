/**
 * A device whose attestation expires: the SDK tells the application ahead of time
 * (`attestationExpiring`), the hub refuses what the device sends once it has expired
 * (DEVICE_NOT_PUBLISHED, which reaches the application as the hub said it), the refused
 * message gives its sequence number back, and a new attestation lets the device send again,
 * its recipients seeing no gap. Real hub, real SDK clients, an attestation of two seconds.
 */
import { issueDeviceAttestation } from '@ncp-hub/keys';
import type { ConversationBasis } from '@ncp-hub/protocol';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startTestHub, type TestHub } from '../helpers/hub.js';
import { closeAllClients, connectDevice, record, waitForCount } from '../helpers/officers.js';
import { waitFor } from '../helpers/wait-for.js';

const basis: ConversationBasis = {
  type: 'formal-request',
  reference: 'MLA/2026/31',
  caseReference: '12026100000000031',
};

let testHub: TestHub;
beforeAll(async () => {
  // No clock tolerance: an attestation of two seconds has expired two seconds later.
  testHub = await startTestHub({ CLOCK_TOLERANCE_SECONDS: '0' });
});
afterEach(() => closeAllClients());
afterAll(() => testHub?.stop());

describe('an attestation that expires', () => {
  it('is announced ahead; then what the device sends is refused with DEVICE_NOT_PUBLISHED, until it is attested again', async () => {
    const agency = testHub.agencies['UA-NPU'];
    const UA = { agency: 'UA-NPU', officer: 'ua.expiring' };
    const PL = { agency: 'PL-KGP', officer: 'pl.recipient' };
    const pl = await connectDevice(testHub.url, testHub.agencies['PL-KGP'], PL.officer);
    const ua = await connectDevice(testHub.url, agency, UA.officer, { unpublished: true });
    const expiring = record(ua, 'attestationExpiring');
    const attest = (ttlSeconds: number) =>
      issueDeviceAttestation({
        agency: agency.id,
        officer: UA.officer,
        ...ua.publicKeys(), // device, encryptionKey, signingKey
        privateJwk: agency.key.privateJwk,
        ttlSeconds,
      });
    // The conversation and the first message under an attestation of an hour (no race with a
    // short one on a loaded machine); then a renewal of two seconds, which is left to expire.
    await ua.publishDevice(await attest(3600));
    const conversation = await ua.createConversation({ kind: 'direct', members: [PL], basis });
    const messages = record(pl, 'message');
    const gaps = record(pl, 'gap');
    await ua.send(conversation.id, 'one');
    await ua.publishDevice(await attest(2));
    const warning = expiring.at(-1);
    expect(expiring).toHaveLength(2); // each attestation with less than 24 hours left is announced once
    expect(warning).toMatchObject({ device: `UA-NPU/${UA.officer}/device-1` });

    await waitFor(() => Date.now() >= (warning?.expiresAt ?? 0) * 1000 + 200, 10_000, 50);
    await expect(ua.send(conversation.id, 'after the expiry')).rejects.toMatchObject({
      name: 'DirectoryError',
      code: 'DEVICE_NOT_PUBLISHED',
    });

    await ua.publishDevice(await attest(3600));
    expect(expiring).toHaveLength(3); // the new one has less than 24 hours left too
    await ua.send(conversation.id, 'two');
    await waitForCount(messages, 2);
    expect(messages.map((m) => [m.seq, m.content])).toEqual([
      [1, { v: 1, type: 'text', text: 'one' }],
      [2, { v: 1, type: 'text', text: 'two' }],
    ]);
    expect(gaps).toEqual([]);
  });
});
