/**
 * An officer with more conversations than the hub lets one socket have requests in flight
 * (MAX_CONCURRENT_REQUESTS_PER_SOCKET, 32 by default): a new device of that officer connects,
 * syncs and lists them all. The SDK keeps at most `maxConcurrentRequests` (16) waiting at once,
 * so the hub's bound is never what an ordinary client runs into.
 */
import type { ConversationBasis } from '@ncp-hub/protocol';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startTestHub, type TestHub } from '../helpers/hub.js';
import { closeAllClients, connectDevice, record } from '../helpers/officers.js';

const basis: ConversationBasis = {
  type: 'formal-request',
  reference: 'MLA/2026/0060',
  caseReference: '12026100000000060',
};
const CONVERSATIONS = 60;

let testHub: TestHub;
beforeAll(async () => {
  testHub = await startTestHub({ MAX_CONCURRENT_REQUESTS_PER_SOCKET: '32' });
});
afterEach(() => closeAllClients());
afterAll(() => testHub?.stop());

describe('an officer with many conversations', () => {
  it(`connects a new device and lists all ${CONVERSATIONS}, under the hub's bound on requests in flight`, async () => {
    const UA = { agency: 'UA-NPU', officer: 'ua.busy' };
    const PL = { agency: 'PL-KGP', officer: 'pl.busy' };
    await connectDevice(testHub.url, testHub.agencies['PL-KGP'], PL.officer);
    const first = await connectDevice(testHub.url, testHub.agencies['UA-NPU'], UA.officer);
    const ids = new Set<string>();
    for (let i = 0; i < CONVERSATIONS; i++) {
      const conversation = await first.createConversation({ kind: 'group', members: [PL], basis });
      await first.send(conversation.id, `case note ${i}`);
      ids.add(conversation.id);
    }

    const second = await connectDevice(testHub.url, testHub.agencies['UA-NPU'], UA.officer, { device: 'device-2' });
    const errors = record(second, 'error');
    const listed = await second.conversations();
    expect(new Set(listed.map((c) => c.id))).toEqual(ids);
    expect(errors).toEqual([]);
  });
});
