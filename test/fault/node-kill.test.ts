/**
 * One of two hub nodes SIGKILLed mid-stream (issue 11). Two hub processes share one Redis,
 * prefix, data folder (hub key) and registry, behind a TCP load balancer that sends each new
 * connection to the first node that accepts it (test/helpers/tcp-balancer.ts, as nginx or
 * HAProxy with a backup would): every client is on node A until A is killed; their SDK clients
 * then reconnect, through the same address, to node B, which was running all along and is not
 * restarted. Two officers of a group keep sending through the kill (each message tried until
 * acknowledged, the same id again); the third member's device, offline from before the kill,
 * syncs from node B. Checked over the clients' own histories: every message acknowledged to a
 * sender reaches each other member's application exactly once.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { streamThroughFault } from '../helpers/delivery-history.js';
import { type HubChild, startHubChild } from '../helpers/hub-child.js';
import { closeAllClients, recorded } from '../helpers/officers.js';
import { startTcpBalancer, type TcpBalancer } from '../helpers/tcp-balancer.js';
import { waitFor } from '../helpers/wait-for.js';

let nodeA: HubChild;
let nodeB: HubChild;
let balancer: TcpBalancer;
beforeAll(async () => {
  nodeA = await startHubChild({ WORKERS: 'off' });
  // Started once A is ready: A has made the hub key in the shared folder, B reads it.
  nodeB = await startHubChild({ WORKERS: 'off' }, { peerOf: nodeA });
  balancer = await startTcpBalancer([nodeA.port, nodeB.port]);
}, 60_000);
afterEach(() => closeAllClients());
afterAll(async () => {
  await balancer?.close();
  await nodeB?.stop();
  await nodeA?.stop();
});

describe('a hub node SIGKILLed mid-stream, its clients moving to the other node', () => {
  it('loses and doubles no acknowledged message: every one reaches each recipient application once', async () => {
    const toB = () => balancer.forwarded.get(nodeB.port)?.length ?? 0;
    let killedAt = 0;
    let onBBeforeKill = -1;
    const { figures, clients, resumedMs } = await streamThroughFault(
      { url: balancer.url, agencies: nodeA.agencies },
      {
        name: 'fault node SIGKILL',
        async inflict() {
          onBBeforeKill = toB();
          killedAt = Date.now();
          await nodeA.kill();
        },
        // Nothing to restart: node B serves all along (asked directly, so that every connection
        // the balancer forwards to B is a client's).
        async recover() {
          await waitFor(async () => (await fetch(`${nodeB.url}/readyz`)).ok, 20_000, 50);
        },
      },
      'nodekill',
    );
    const firstOnB = balancer.forwarded.get(nodeB.port)?.[0] ?? Number.NaN;
    console.log(
      `fault node SIGKILL timing: ${JSON.stringify({
        firstConnectionToBMs: firstOnB - killedAt,
        sendersAcknowledgedAgainMs: resumedMs,
        connectionsToA: balancer.forwarded.get(nodeA.port)?.length,
        connectionsToB: toB(),
      })}`,
    );
    // Until the kill every client was on node A, so that the kill is what moved them.
    expect(onBBeforeKill).toBe(0);
    expect(figures.lost).toBe(0);
    expect(figures.duplicates).toBe(0);
    expect(figures.unacknowledgedDelivered).toBe(0);
    expect(figures.delivered).toBe(figures.expected);
    expect(figures.acknowledged).toBe(figures.sent);
    // The senders reconnected (to B: A is dead) and synced, a second `ready`; the third device came back on B.
    expect(nodeA.current.child.exitCode === null && nodeA.current.child.signalCode === 'SIGKILL').toBe(true);
    expect(toB()).toBeGreaterThanOrEqual(3);
    for (const client of clients.slice(0, 2)) expect(recorded(client, 'ready').length).toBeGreaterThanOrEqual(2);
    for (const client of clients) expect(recorded(client, 'undecryptable')).toEqual([]);
    expect(resumedMs).toBeLessThan(20_000);
  }, 60_000);
});
