/**
 * A device moved with a passphrase-protected export (exportDevice / importDevice) is the same
 * device: same public keys, it decrypts what is sent to it after the move, and its send
 * sequence continues (its correspondent does not refuse its next message as a replay).
 * Real hub, real sockets, real Redis; Argon2id at the interactive floor to keep the test short.
 */
import { MemoryKeyStore } from '@ncp-hub/client-sdk';
import { exportDevice, importDevice, PASSPHRASE_LIMITS } from '@ncp-hub/client-sdk/device-export';
import type { ConversationBasis } from '@ncp-hub/protocol';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startTestHub, type TestHub } from '../helpers/hub.js';
import { closeAllClients, connectDevice, record, waitForCount } from '../helpers/officers.js';

const basis: ConversationBasis = {
  type: 'formal-request',
  reference: 'MLA/2026/77',
  caseReference: '12026100000000077',
};
const passphrase = 'a long passphrase for the move';

let testHub: TestHub;
beforeAll(async () => {
  testHub = await startTestHub();
});
afterEach(() => closeAllClients());
afterAll(() => testHub?.stop());

describe('a device moved by a passphrase-protected export', () => {
  it('keeps its keys, decrypts what is sent to it after the move, and continues its sequence', async () => {
    const UA = { agency: 'UA-NPU', officer: 'ua.export.1' };
    const PL = { agency: 'PL-KGP', officer: 'pl.export.1' };
    const ua = await connectDevice(testHub.url, testHub.agencies['UA-NPU'], UA.officer);
    const oldStore = new MemoryKeyStore();
    const plOld = await connectDevice(testHub.url, testHub.agencies['PL-KGP'], PL.officer, { store: oldStore });
    const uaMessages = record(ua, 'message');
    const plOldMemberships = record(plOld, 'membership');
    const conversation = await ua.createConversation({ kind: 'direct', members: [PL], basis });
    await waitForCount(plOldMemberships, 1);
    await plOld.send(conversation.id, 'before the move');
    await waitForCount(uaMessages, 1);
    const keysBefore = plOld.publicKeys();
    const exported = await exportDevice(oldStore, 'device-1', passphrase, { limits: PASSPHRASE_LIMITS.interactive });
    await plOld.close();

    const newStore = new MemoryKeyStore();
    expect(await importDevice(newStore, exported, passphrase)).toBe('device-1');
    const plNew = await connectDevice(testHub.url, testHub.agencies['PL-KGP'], PL.officer, {
      store: newStore,
      unpublished: true,
    });
    expect(plNew.publicKeys()).toEqual(keysBefore);

    const plNewMessages = record(plNew, 'message');
    await ua.send(conversation.id, 'after the move');
    const [received] = await waitForCount(plNewMessages, 1);
    expect(received).toMatchObject({ content: { type: 'text', text: 'after the move' } });

    await plNew.send(conversation.id, 'from the moved device');
    const [, second] = await waitForCount(uaMessages, 2);
    expect(second).toMatchObject({ seq: 2, content: { text: 'from the moved device' } });
  });
});
