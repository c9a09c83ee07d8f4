/**
 * Bad input of any kind, on every client event: a clear error with a stable code, and the
 * connection, the hub and what was accepted before all survive it.
 */
import { CLIENT_EVENTS, EVENTS, isHubErrorCode } from '@ncp-hub/protocol';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tokenFor } from '../helpers/agencies.js';
import { startTestHub, type TestHub } from '../helpers/hub.js';
import { closeAllClients, connectDevice, recorded, waitForCount } from '../helpers/officers.js';
import { closeAllSockets, createSocket } from '../helpers/sockets.js';

let hub: TestHub;
beforeAll(async () => {
  hub = await startTestHub();
});
afterAll(async () => {
  await closeAllClients();
  closeAllSockets();
  await hub?.stop();
});

let nested: unknown = 'deep';
for (let i = 0; i < 200; i++) nested = { a: nested };

const BAD_PAYLOADS: unknown[] = [
  null,
  42,
  'text',
  [],
  [1, 2, 3],
  { unexpected: true },
  { envelope: { header: 'x' } },
  { record: { record: {}, sig: 'x' } },
  { conv: 'not-an-id' },
  { query: '../../etc/passwd' },
  { officers: [{ agency: '<script>', officer: '\u0000' }] },
  nested,
  { big: 'x'.repeat(200_000) },
];

describe('every client event, given bad input', () => {
  it('answers with a stable error code, and the connection and earlier messages survive', async () => {
    const ua = await connectDevice(hub.url, hub.agencies['UA-NPU'], 'ua.fuzz');
    const pl = await connectDevice(hub.url, hub.agencies['PL-KGP'], 'pl.fuzz');
    const conversation = await ua.createConversation({
      kind: 'direct',
      members: [{ agency: 'PL-KGP', officer: 'pl.fuzz' }],
      basis: { type: 'formal-request', reference: 'FUZZ-1', caseReference: 'FUZZ-1' },
    });
    await ua.send(conversation.id, 'accepted before the garbage');

    const raw = createSocket(hub.url, {
      token: await tokenFor(hub.agencies['UA-NPU'], { officer: 'ua.fuzz' }),
      device: 'device-1',
    });
    await new Promise<void>((resolve) => {
      raw.once(EVENTS.sessionWelcome, () => resolve());
      raw.connect();
    });
    const emit = raw as unknown as { timeout(ms: number): { emitWithAck(e: string, p: unknown): Promise<unknown> } };
    let answered = 0;
    for (const event of CLIENT_EVENTS) {
      for (const payload of BAD_PAYLOADS) {
        const answer = (await emit.timeout(5000).emitWithAck(event, payload)) as {
          ok: boolean;
          error?: { code: string; message: string };
        };
        answered += 1;
        if (answer.ok) {
          // Only an event without fields may accept `null`, which stands for "no payload".
          expect([
            EVENTS.sessionWhoami,
            EVENTS.directoryAgencies,
            EVENTS.conversationList,
            EVENTS.queryPending,
          ]).toContain(event);
          expect(payload).toBeNull();
          continue;
        }
        expect(isHubErrorCode(answer.error?.code), `${event} ${JSON.stringify(payload).slice(0, 40)}`).toBe(true);
        expect(answer.error?.code).not.toBe('INTERNAL');
        expect(typeof answer.error?.message).toBe('string');
      }
    }
    expect(answered).toBe(CLIENT_EVENTS.length * BAD_PAYLOADS.length);
    expect(raw.connected).toBe(true);

    // The hub still works, and what was accepted before is still there.
    await ua.send(conversation.id, 'after the garbage');
    const plMessages = recorded(pl, 'message');
    await waitForCount(plMessages, 2);
    expect(plMessages.map((m) => m.content)).toEqual([
      { v: 1, type: 'text', text: 'accepted before the garbage' },
      { v: 1, type: 'text', text: 'after the garbage' },
    ]);
    expect((await fetch(`${hub.url}/readyz`)).status).toBe(200);
  }, 60_000);
});
