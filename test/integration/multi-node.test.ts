/**
 * Several hub nodes (issue 11): two hub processes (`node server/dist/main.js`, `WORKERS=off`)
 * and one follow-up worker process (`node server/dist/worker.js`) on one Redis and one prefix,
 * sharing the data folder (the hub key: node B is started once node A has made it) and the
 * trust registry, with real SDK clients on loopback. Officers on different nodes exchange
 * messages and receipts (the Socket.IO cluster adapter carries them between the nodes); an NCB
 * desk on node B is told of a query opened on node A, by the worker process (the nodes run no
 * follow-up); an officer revoked with `ncp-keys revoke` in node A's registry has its sessions
 * closed on node B too. Node B reads a copy of the registry (as a second machine would get it
 * distributed), so that node A's reload alone is what closes B's sockets, through Redis; each
 * node learns of a change to its own folder by watching it (TrustRegistryHolder), and B refuses
 * new sessions of the revoked officer once the file reaches its copy.
 */
import { execFile } from 'node:child_process';
import { cp } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import type { HubClient, ReceivedMessage, VerifiedReceipt } from '@ncp-hub/client-sdk';
import type { HubErrorCode, QueryEvent } from '@ncp-hub/protocol';
import { afterAll, afterEach, beforeAll, describe, expect, inject, it } from 'vitest';
import { tokenFor } from '../helpers/agencies.js';
import { type HubChild, startHubChild } from '../helpers/hub-child.js';
import { closeAllClients, connectDevice, record, waitForCount } from '../helpers/officers.js';
import { closeAllSockets, refusal } from '../helpers/sockets.js';
import { waitFor } from '../helpers/wait-for.js';
import { startWorkerProcess, type WorkerProcess } from '../helpers/worker-process.js';

/** The CLI as `npx ncp-keys` runs it. */
const NCP_KEYS = resolve(import.meta.dirname, '../../node_modules/.bin/ncp-keys');
const runCli = promisify(execFile);

let nodeA: HubChild;
let nodeB: HubChild;
let worker: WorkerProcess;
/** Node B's copy of the registry. */
let registryB: string;

beforeAll(async () => {
  nodeA = await startHubChild({ WORKERS: 'off' });
  registryB = join(nodeA.dataDir, 'registry-b');
  await cp(nodeA.registryDir, registryB, { recursive: true });
  nodeB = await startHubChild({ WORKERS: 'off', TRUST_REGISTRY: registryB }, { peerOf: nodeA });
  worker = await startWorkerProcess({
    REDIS_URL: inject('redisUrl'),
    REDIS_PREFIX: nodeA.redisPrefix,
    TRUST_REGISTRY: nodeA.registryDir,
    DATA_DIR: nodeA.dataDir,
    LOG_LEVEL: 'info',
    HOST: '127.0.0.1',
    WORKER_METRICS_PORT: '0',
  });
  await waitFor(() => worker.output().includes('follow-up worker started'), 30_000);
}, 60_000);
afterEach(async () => {
  closeAllSockets();
  await closeAllClients();
});
afterAll(async () => {
  await worker?.stop();
  await nodeB?.stop();
  await nodeA?.stop();
});

describe('two hub nodes and a worker on one Redis', () => {
  it('share one hub key, and officers on different nodes exchange messages and receipts', async () => {
    const keysOf = async (node: HubChild) => (await (await fetch(`${node.url}/v1/hub-keys`)).json()) as unknown;
    expect(await keysOf(nodeB)).toEqual(await keysOf(nodeA));

    const ua = await connectDevice(nodeA.url, nodeA.agencies['UA-NPU'], 'ua.multi');
    const pl = await connectDevice(nodeB.url, nodeB.agencies['PL-KGP'], 'pl.multi');
    const uaMessages: ReceivedMessage[] = record(ua, 'message');
    const plMessages: ReceivedMessage[] = record(pl, 'message');
    const uaReceipts: VerifiedReceipt[] = record(ua, 'receipt');
    const plReceipts: VerifiedReceipt[] = record(pl, 'receipt');
    const plMemberships = record(pl, 'membership');
    const conversation = await ua.createConversation({
      kind: 'direct',
      members: [{ agency: 'PL-KGP', officer: 'pl.multi' }],
      basis: { type: 'formal-request', reference: 'MLA/2026/1101', caseReference: '12026100000001101' },
    });
    // The membership, made on A, reaches B's socket.
    await waitForCount(plMemberships, 1);

    const sent = await ua.send(conversation.id, 'A to B: the van left Lviv at 09:10');
    const [received] = await waitForCount(plMessages, 1);
    expect(received).toMatchObject({
      id: sent.id,
      from: { agency: 'UA-NPU', officer: 'ua.multi' },
      content: { text: 'A to B: the van left Lviv at 09:10' },
    });
    // B's SDK signs `delivered` by itself; A's SDK verifies it; then B's application marks it read.
    await waitFor(() => uaReceipts.some((r) => r.type === 'delivered' && r.messageIds.includes(sent.id)));
    await pl.markRead(conversation.id, [sent.id]);
    await waitFor(() => uaReceipts.some((r) => r.type === 'read' && r.messageIds.includes(sent.id)));
    expect(uaReceipts.every((r) => r.by.agency === 'PL-KGP' && r.by.officer === 'pl.multi')).toBe(true);

    const reply = await pl.send(conversation.id, 'B to A: seen at the border, lane 3');
    const [answer] = await waitForCount(uaMessages, 1);
    expect(answer).toMatchObject({ id: reply.id, content: { text: 'B to A: seen at the border, lane 3' } });
    await ua.markRead(conversation.id, [reply.id]);
    await waitFor(() => plReceipts.some((r) => r.type === 'read' && r.messageIds.includes(reply.id)));
    expect(uaMessages).toHaveLength(1);
    expect(plMessages).toHaveLength(1);
  }, 60_000);

  it('tells an NCB desk on node B of a query opened on node A, through the worker process', async () => {
    const desk = await connectDevice(nodeB.url, nodeB.agencies['NCB-UA'], 'ncb.multi', { roles: ['ncb'] });
    const deskEvents: QueryEvent[] = record(desk, 'query');
    const ua = await connectDevice(nodeA.url, nodeA.agencies['UA-NPU'], 'ua.query.multi');
    await connectDevice(nodeA.url, nodeA.agencies['PL-KGP'], 'pl.query.multi');
    const { query } = await ua.openQuery({
      counterpart: { agency: 'PL-KGP', officer: 'pl.query.multi' },
      caseReference: '12026100000001102',
      ground: 'ABSCONDING_RISK',
      statement: 'The suspect bought a one-way ticket Warsaw-Dubai for tonight.',
      question: 'Is the suspect registered at a hotel in Warsaw?',
    });
    // The desk was connected before the opening: this is the live notification, not the replay at connection.
    await waitFor(() => deskEvents.some((e) => e.type === 'notification' && e.query.id === query.id), 20_000);
    expect(await desk.readStatement(query)).toEqual({
      v: 1,
      type: 'text',
      text: 'The suspect bought a one-way ticket Warsaw-Dubai for tonight.',
    });
    // The step is the worker's: recorded on the query's timeline once.
    const timeline = async () => (await ua.getQuery(query.id)).timeline.map((entry) => entry.event);
    await waitFor(async () => (await timeline()).includes('NCB_NOTIFIED'));
    expect((await timeline()).filter((event) => event === 'NCB_NOTIFIED')).toHaveLength(1);
    expect(deskEvents.filter((e) => e.type === 'notification' && e.query.id === query.id)).toHaveLength(1);

    // The worker's own /metrics (WORKER_METRICS_PORT) counts the job it ran; the hub nodes, whose
    // workers are off, count none.
    const metricsUrl = /"metrics":"(http:\/\/[^"]+)"/.exec(worker.output())?.[1];
    expect(metricsUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/metrics$/);
    const completed = (text: string) =>
      Number(/^ncp_hub_followup_jobs_total\{job="ncb-notify",outcome="completed"\} (\d+)$/m.exec(text)?.[1] ?? 0);
    await waitFor(async () => completed(await (await fetch(metricsUrl as string)).text()) >= 1);
    expect(completed(await (await fetch(`${nodeA.url}/metrics`)).text())).toBe(0);
  }, 60_000);

  it("closes on node B the sessions of an officer revoked in node A's registry", async () => {
    const officer = 'pl.revoked.multi';
    const agency = nodeA.agencies['PL-KGP'];
    const onB = await connectDevice(nodeB.url, agency, officer, { device: 'phone' });
    const onA = await connectDevice(nodeA.url, agency, officer, { device: 'laptop' });
    const colleague = await connectDevice(nodeB.url, agency, 'pl.colleague.multi');
    const endings = new Map<HubClient, HubErrorCode | undefined>();
    for (const client of [onB, onA, colleague]) {
      client.on('disconnected', (_reason, error) => endings.set(client, error?.code));
    }

    const { stdout } = await runCli(NCP_KEYS, [
      'revoke',
      '--registry',
      nodeA.registryDir,
      '--id',
      'PL-KGP',
      '--officer',
      officer,
    ]);
    expect(stdout).toContain(`revoked officer ${officer} of agency PL-KGP`);
    // Node A sees its folder change, reloads, and ends the officer's sessions on every node.
    await waitFor(() => endings.has(onA) && endings.has(onB), 20_000);
    expect(endings.get(onB)).toBe('AUTH_OFFICER_REVOKED');
    expect(endings.get(onA)).toBe('AUTH_OFFICER_REVOKED');
    expect(endings.has(colleague)).toBe(false);
    expect(await refusal(nodeA.url, { token: await tokenFor(agency, { officer }), device: 'phone' })).toMatchObject({
      code: 'AUTH_OFFICER_REVOKED',
    });

    // The entry distributed to node B's copy: B refuses new sessions of the officer too.
    await cp(join(nodeA.registryDir, 'PL-KGP.json'), join(registryB, 'PL-KGP.json'));
    await waitFor(
      async () =>
        (
          await refusal(nodeB.url, { token: await tokenFor(agency, { officer }), device: 'phone' }).catch(
            () => undefined,
          )
        )?.code === 'AUTH_OFFICER_REVOKED',
      20_000,
      200,
    );
    expect(endings.has(colleague)).toBe(false);
  }, 60_000);
});
