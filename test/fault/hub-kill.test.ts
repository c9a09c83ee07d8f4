/**
 * The hub SIGKILLed mid-stream and started again on the same data folder and Redis (issue 9,
 * fault suite). Three officers of a group keep sending through the kill, each message tried
 * until acknowledged (the same id again, as SendOptions.id says); their SDK clients reconnect
 * and resync from their cursors. Checked over the clients' own histories: every message
 * acknowledged to a sender reaches each other member's application exactly once.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  type RecipientHistory,
  type Sender,
  settleAndCount,
  startSender,
  watchRecipient,
} from '../helpers/delivery-history.js';
import { type HubChild, startHubChild } from '../helpers/hub-child.js';
import { closeAllClients, connectDevice, recorded } from '../helpers/officers.js';

let hub: HubChild;
beforeAll(async () => {
  hub = await startHubChild();
});
afterEach(() => closeAllClients());
afterAll(() => hub?.stop());

describe('the hub SIGKILLed mid-stream', () => {
  it('loses and doubles no acknowledged message: every one reaches each recipient application once', async () => {
    const members = [
      { agency: 'UA-NPU', officer: 'ua.hubkill.a' },
      { agency: 'PL-KGP', officer: 'pl.hubkill.b' },
      { agency: 'UA-NPU', officer: 'ua.hubkill.c' },
    ] as const;
    const clients = await Promise.all(members.map((m) => connectDevice(hub.url, hub.agencies[m.agency], m.officer)));
    const [a, b, c] = clients as [(typeof clients)[0], (typeof clients)[0], (typeof clients)[0]];
    const group = await a.createConversation({
      kind: 'group',
      members: [members[1], members[2]],
      basis: { type: 'formal-request', reference: 'MLA/2026/0901', caseReference: '12026100000000901' },
    });
    const recipients: RecipientHistory[] = clients.map((client, i) =>
      watchRecipient(client, members[i]?.officer ?? ''),
    );
    // Every member has the conversation before anyone sends (b and c learn it live).
    await Promise.all(
      [b, c].map((client) => client.conversations().then((list) => expect(list.map((x) => x.id)).toContain(group.id))),
    );

    const senders: Sender[] = clients.map((client, i) => startSender(client, group.id, members[i]?.officer ?? ''));
    await Promise.all(senders.map((s) => s.acknowledgedAtLeast(15)));

    await hub.kill();
    // The senders keep trying while the hub is down: each has a failed try before it comes back.
    const ackedAtKill = senders.map((s) => s.history.acknowledged.length);
    await Promise.all(
      senders.map((s) =>
        expect
          .poll(() => Object.values(s.history.failures).reduce((x, y) => x + y, 0), { timeout: 15_000 })
          .toBeGreaterThan(0),
      ),
    );
    await hub.restart();
    await Promise.all(senders.map((s, i) => s.acknowledgedAtLeast((ackedAtKill[i] ?? 0) + 15, 30_000)));

    const figures = await settleAndCount('fault hub SIGKILL', senders, recipients);
    expect(figures.lost).toBe(0);
    expect(figures.duplicates).toBe(0);
    expect(figures.unacknowledgedDelivered).toBe(0);
    expect(figures.delivered).toBe(figures.expected);
    expect(figures.acknowledged).toBe(figures.sent);
    // Each client reconnected to the new process and synced (a second `ready`).
    for (const client of clients) expect(recorded(client, 'ready').length).toBeGreaterThanOrEqual(2);
    // The SDK saw no forged or broken message on the way.
    for (const client of clients) expect(recorded(client, 'undecryptable')).toEqual([]);
  }, 90_000);
});
