/**
 * A member added to a group while a sender still has the group cached without them: the hub
 * refuses the sender's envelope (RECIPIENTS_CHANGED, naming the new member's device), and the
 * SDK takes the conversation again from the hub (its chain verified), seals the same message
 * to the members as they now are, and sends it again. The sender talks to the hub through a
 * relay (test/helpers/tampering-relay.ts) that drops the hub's `conversation:updated`, so its
 * cache is stale for certain, and records the hub's answers. Real hub, real SDK clients.
 */
import { type ConversationBasis, EVENTS } from '@ncp-hub/protocol';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { startTestHub, type TestHub } from '../helpers/hub.js';
import { closeAllClients, connectDevice, record, waitForCount } from '../helpers/officers.js';
import { startTamperingRelay, type TamperingRelay } from '../helpers/tampering-relay.js';

const basis: ConversationBasis = {
  type: 'formal-request',
  reference: 'JIT/2026/12',
  caseReference: '12026100000000012',
};

let testHub: TestHub;
let relay: TamperingRelay;
let run = 0;
let A = { agency: 'UA-NPU', officer: '' };
let B = { agency: 'PL-KGP', officer: '' };
let C = { agency: 'PL-KGP', officer: '' };

beforeAll(async () => {
  testHub = await startTestHub();
});
beforeEach(async () => {
  run += 1;
  A = { agency: 'UA-NPU', officer: `ua.sender.${run}` };
  B = { agency: 'PL-KGP', officer: `pl.member.${run}` };
  C = { agency: 'PL-KGP', officer: `pl.added.${run}` };
  relay = await startTamperingRelay(testHub.url);
});
afterEach(async () => {
  await closeAllClients();
  await relay.close();
});
afterAll(() => testHub?.stop());

describe('a member added to a group concurrently', () => {
  it("gets the sender's next message, although the sender's cache still lists the members before", async () => {
    const answers: Array<{ ok: boolean; error?: { code: string; missing?: string[] } }> = [];
    const dropped: unknown[] = [];
    relay.ackToClient = (event, answer) => {
      if (event === EVENTS.messageSend) answers.push(answer as (typeof answers)[number]);
      return answer;
    };
    relay.toClient = (event, args) => {
      if (event !== EVENTS.conversationUpdated) return args;
      dropped.push(args[0]);
      return null;
    };
    const a = await connectDevice(relay.url, testHub.agencies['UA-NPU'], A.officer);
    const b = await connectDevice(testHub.url, testHub.agencies['PL-KGP'], B.officer);
    const c = await connectDevice(testHub.url, testHub.agencies['PL-KGP'], C.officer);
    const group = await a.createConversation({ kind: 'group', members: [B], basis });
    const aMemberships = record(a, 'membership');
    const cMessages = record(c, 'message');

    const added = await b.addMember(group.id, C); // A does not hear of it
    expect(added.members).toEqual([A, B, C]);
    const sent = await a.send(group.id, 'for the three of us');

    const [message] = await waitForCount(cMessages, 1);
    expect(message).toMatchObject({ id: sent.id, seq: 1, content: { text: 'for the three of us' } });
    expect(answers).toMatchObject([
      { ok: false, error: { code: 'RECIPIENTS_CHANGED', missing: [`PL-KGP/${C.officer}/device-1`] } },
      { ok: true },
    ]);
    // A took the conversation again from the hub (not from the dropped update), with C in it.
    expect(dropped.length).toBeGreaterThan(0);
    expect(aMemberships).toMatchObject([{ id: group.id, members: [A, B, C] }]);
  });
});
