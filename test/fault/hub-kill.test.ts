/**
 * The hub SIGKILLed mid-stream and started again on the same data folder and Redis (issue 9,
 * fault suite). Two officers of a group keep sending through the kill, each message tried until
 * acknowledged (the same id again, as SendOptions.id says); their SDK clients reconnect and
 * resync from their cursors; the third member's device, offline from before the kill, syncs
 * after the restart. Checked over the clients' own histories: every message acknowledged to a
 * sender reaches each other member's application exactly once.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { streamThroughFault } from '../helpers/delivery-history.js';
import { type HubChild, startHubChild } from '../helpers/hub-child.js';
import { closeAllClients, recorded } from '../helpers/officers.js';

let hub: HubChild;
beforeAll(async () => {
  hub = await startHubChild();
});
afterEach(() => closeAllClients());
afterAll(() => hub?.stop());

describe('the hub SIGKILLed mid-stream', () => {
  it('loses and doubles no acknowledged message: every one reaches each recipient application once', async () => {
    const { figures, clients } = await streamThroughFault(
      hub,
      { name: 'fault hub SIGKILL', inflict: () => hub.kill(), recover: () => hub.restart() },
      'hubkill',
    );
    expect(figures.lost).toBe(0);
    expect(figures.duplicates).toBe(0);
    expect(figures.unacknowledgedDelivered).toBe(0);
    expect(figures.delivered).toBe(figures.expected);
    expect(figures.acknowledged).toBe(figures.sent);
    // The senders reconnected to the new process and synced (a second `ready`).
    for (const client of clients.slice(0, 2)) expect(recorded(client, 'ready').length).toBeGreaterThanOrEqual(2);
    for (const client of clients) expect(recorded(client, 'undecryptable')).toEqual([]);
  }, 90_000);
});
