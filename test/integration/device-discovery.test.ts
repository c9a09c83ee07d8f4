/**
 * Device discovery that cannot lose a message: when an officer publishes a second device, the
 * very next message of anyone who shares a conversation with them is readable on it, whether
 * the sender heard of the new device (`directory:updated`, its cache dropped before the next
 * send) or not (the hub refuses the envelope with RECIPIENTS_CHANGED, stores nothing, and the
 * SDK seals the same message again to the devices it looks up again).
 *
 * The sender talks to the hub through a relay (test/helpers/tampering-relay.ts) that records
 * its requests and the hub's answers, and in the race drops the announcement, so that the
 * sender's cache is stale for certain. Real hub, real SDK clients, real Redis.
 */
import type { HubClient } from '@ncp-hub/client-sdk';
import { type ConversationBasis, type Envelope, EVENTS } from '@ncp-hub/protocol';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { startTestHub, type TestHub } from '../helpers/hub.js';
import { closeAllClients, connectDevice, record, waitForCount } from '../helpers/officers.js';
import { startTamperingRelay, type TamperingRelay } from '../helpers/tampering-relay.js';
import { waitFor } from '../helpers/wait-for.js';

const basis: ConversationBasis = {
  type: 'formal-request',
  reference: 'MLA/2026/77',
  caseReference: '12026100000000077',
};

let testHub: TestHub;
let relay: TamperingRelay;
let run = 0;
let A = { agency: 'UA-NPU', officer: '' };
let B = { agency: 'PL-KGP', officer: '' };

beforeAll(async () => {
  testHub = await startTestHub();
});
beforeEach(async () => {
  run += 1;
  A = { agency: 'UA-NPU', officer: `ua.sender.${run}` };
  B = { agency: 'PL-KGP', officer: `pl.recipient.${run}` };
  relay = await startTamperingRelay(testHub.url);
});
afterEach(async () => {
  await closeAllClients();
  await relay.close();
});
afterAll(() => testHub?.stop());

/** What passes the relay between the sender and the hub. */
interface Traffic {
  /** Every `message:send` envelope the sender sent, in order. */
  sent: Envelope[];
  /** The hub's answer to each, in order. */
  answers: Array<{ ok: boolean; error?: { code: string; missing?: string[] } }>;
  /** The `directory:updated` events the hub sent the sender (forwarded or dropped). */
  announced: Array<{ officer: { agency: string; officer: string }; device: string }>;
}

function watch(options: { dropAnnouncements: boolean }): Traffic {
  const traffic: Traffic = { sent: [], answers: [], announced: [] };
  relay.toHub = (event, args) => {
    if (event === EVENTS.messageSend) traffic.sent.push((args[0] as { envelope: Envelope }).envelope);
    return args;
  };
  relay.ackToClient = (event, answer) => {
    if (event === EVENTS.messageSend) traffic.answers.push(answer as Traffic['answers'][number]);
    return answer;
  };
  relay.toClient = (event, args) => {
    if (event !== EVENTS.directoryUpdated) return args;
    traffic.announced.push(args[0] as Traffic['announced'][number]);
    return options.dropAnnouncements ? null : args;
  };
  return traffic;
}

/**
 * A (behind the relay) and B's first device B1 (behind it too with `b1ViaRelay`) in a
 * conversation; A has sent once, so A has looked B up and cached B's devices.
 */
async function conversationWithOneDevice(options: { b1ViaRelay?: boolean } = {}) {
  const a = await connectDevice(relay.url, testHub.agencies['UA-NPU'], A.officer);
  const b1Url = options.b1ViaRelay ? relay.url : testHub.url;
  const b1 = await connectDevice(b1Url, testHub.agencies['PL-KGP'], B.officer, { device: 'b1' });
  const conversation = await a.createConversation({ kind: 'direct', members: [B], basis });
  const b1Messages = record(b1, 'message');
  await a.send(conversation.id, 'before the second device');
  await waitForCount(b1Messages, 1);
  return { a, b1, b1Messages, conversation };
}

/** B publishes a second device: another HubClient of the same officer, its own key store. */
function publishSecondDevice(): Promise<HubClient> {
  return connectDevice(testHub.url, testHub.agencies['PL-KGP'], B.officer, { device: 'b2' });
}

const devicesOf = (envelope: Envelope | undefined) => envelope?.header.to;

describe('a second device of a recipient', () => {
  it('is announced to the sender, who drops its cache: the next message reaches it, with no refusal', async () => {
    const traffic = watch({ dropAnnouncements: false });
    const { a, b1Messages, conversation } = await conversationWithOneDevice();
    const b2 = await publishSecondDevice();
    const b2Messages = record(b2, 'message');
    await waitFor(() => traffic.announced.some((e) => e.officer.officer === B.officer && e.device === 'b2'));
    // A round trip on the sender's connection: the announcement, sent before its answer, has arrived.
    await a.conversations();

    const sent = await a.send(conversation.id, 'for both of your devices');
    const [received] = await waitForCount(b2Messages, 1);
    expect(received).toMatchObject({ id: sent.id, content: { text: 'for both of your devices' } });
    await waitForCount(b1Messages, 2);
    expect(b1Messages.map((m) => m.id)).toContain(sent.id);
    // One envelope, accepted at once: the event path, not the refusal.
    expect(traffic.sent).toHaveLength(2);
    expect(devicesOf(traffic.sent[1])).toEqual([`PL-KGP/${B.officer}/b1`, `PL-KGP/${B.officer}/b2`]);
    expect(traffic.answers.map((answer) => answer.ok)).toEqual([true, true]);
  });

  it('reaches it when the sender sends before hearing of it: refused, sealed again, same id and seq', async () => {
    const traffic = watch({ dropAnnouncements: true });
    const { a, b1, b1Messages, conversation } = await conversationWithOneDevice();
    const b1Duplicates = record(b1, 'duplicate');
    const b2 = await publishSecondDevice();
    const b2Messages = record(b2, 'message');

    // At once, with the cached devices (b1 only) and no announcement.
    const sent = await a.send(conversation.id, 'sent in the race');
    const [received] = await waitForCount(b2Messages, 1);
    expect(received).toMatchObject({ id: sent.id, seq: 2, content: { text: 'sent in the race' } });
    await waitForCount(b1Messages, 2);
    expect(b1Messages.filter((m) => m.id === sent.id)).toHaveLength(1);

    const [, refused, accepted] = traffic.sent;
    expect(traffic.answers[1]).toMatchObject({
      ok: false,
      error: { code: 'RECIPIENTS_CHANGED', missing: [`PL-KGP/${B.officer}/b2`] },
    });
    expect(traffic.answers[2]).toMatchObject({ ok: true });
    expect(devicesOf(refused)).toEqual([`PL-KGP/${B.officer}/b1`]);
    expect(devicesOf(accepted)).toEqual([`PL-KGP/${B.officer}/b1`, `PL-KGP/${B.officer}/b2`]);
    expect(accepted?.header).toMatchObject({
      id: refused?.header.id,
      seq: refused?.header.seq,
      ts: refused?.header.ts,
    });
    expect(traffic.sent).toHaveLength(3);
    expect(b1Duplicates).toEqual([]);
  });

  it('gets the question of a query opened before the sender heard of it: refused, sealed again', async () => {
    const traffic = watch({ dropAnnouncements: true });
    const queryOpenings: Array<{ ok: boolean; error?: { code: string } }> = [];
    const forwardAck = relay.ackToClient;
    relay.ackToClient = (event, answer) => {
      if (event === EVENTS.queryOpen) queryOpenings.push(answer as (typeof queryOpenings)[number]);
      return forwardAck(event, answer);
    };
    const { a } = await conversationWithOneDevice();
    const b2 = await publishSecondDevice();
    const b2Messages = record(b2, 'message');
    const { query, conversation } = await a.openQuery({
      counterpart: B,
      caseReference: '12026100000000078',
      ground: 'THREAT_TO_LIFE',
      statement: 'The victim was last seen boarding a bus to Warsaw.',
      question: 'Is she registered at a hotel in Warsaw?',
    });
    const [question] = await waitForCount(b2Messages, 1);
    expect(question).toMatchObject({
      conversation: conversation.id,
      seq: 1,
      content: { text: 'Is she registered at a hotel in Warsaw?' },
    });
    expect(queryOpenings.map((answer) => answer.ok)).toEqual([false, true]);
    expect(queryOpenings[0]?.error?.code).toBe('RECIPIENTS_CHANGED');
    expect((await b2.readStatement(query)).type).toBe('text');
    expect(traffic.announced.some((e) => e.device === 'b2')).toBe(true);
  });

  it("is announced to the officer's other devices too: B1's next message reaches B2, with no refusal", async () => {
    // B1 behind the relay as well: the relay sees the announcement to it, and the hub's answers to its sends.
    const traffic = watch({ dropAnnouncements: false });
    const { a, b1, conversation } = await conversationWithOneDevice({ b1ViaRelay: true });
    const aMessages = record(a, 'message');
    await b1.send(conversation.id, 'B1 has looked up its own officer too');
    const b2 = await publishSecondDevice();
    const b2Messages = record(b2, 'message');
    // Announced to A (a member of a conversation with B) and to B1 (B's other device) ...
    await waitFor(
      () => traffic.announced.filter((e) => e.officer.officer === B.officer && e.device === 'b2').length >= 2,
    );
    // ... and arrived at B1: a round trip on its connection, the announcement sent before the answer.
    await b1.conversations();
    const before = traffic.sent.length;
    const sent = await b1.send(conversation.id, 'from my first device');
    await waitForCount(aMessages, 2);
    const [own] = await waitForCount(b2Messages, 1);
    expect(own).toMatchObject({ id: sent.id, from: { officer: B.officer, device: 'b1' } });
    // One envelope, accepted at once: B1 had dropped its cache (the announcement), not been refused.
    expect(traffic.sent.slice(before).map((envelope) => envelope.header.id)).toEqual([sent.id]);
    expect(traffic.answers.slice(before)).toEqual([expect.objectContaining({ ok: true })]);
    expect(devicesOf(traffic.sent.at(-1))).toEqual([`PL-KGP/${B.officer}/b2`, `UA-NPU/${A.officer}/device-1`]);
  });
});
