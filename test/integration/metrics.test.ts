/**
 * The operations metrics of `/metrics` (docs/OPERATIONS.md) after real traffic: SDK clients on
 * a real hub exchange messages and receipts, a query is opened (its follow-up jobs run on the
 * hub's BullMQ workers, its NCB's webhook refused once then accepted), and officers spend
 * their budgets over a socket and over HTTP. The counters moved, the histograms have samples,
 * the queue gauges read the queue in Redis.
 */
import { once } from 'node:events';
import { readFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { readRegistryEntry, writeRegistryEntry } from '@ncp-hub/keys';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tokenFor } from '../helpers/agencies.js';
import { startTestHub, type TestHub } from '../helpers/hub.js';
import { closeAllClients, connectDevice, record, waitForCount } from '../helpers/officers.js';
import { closeAllSockets, connectOfficer } from '../helpers/sockets.js';
import { waitFor } from '../helpers/wait-for.js';

let hub: TestHub;
let receiver: Server;
let webhookCalls = 0;

beforeAll(async () => {
  // The NCB's own system: refuses the first delivery (503: tried again), accepts the next.
  receiver = createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      webhookCalls += 1;
      res.statusCode = webhookCalls === 1 ? 503 : 202;
      res.end();
    });
  });
  receiver.listen(0, '127.0.0.1');
  await once(receiver, 'listening');
  hub = await startTestHub();
  const entry = await readRegistryEntry(hub.registryDir, 'NCB-UA');
  const webhook = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/notifications`;
  await writeRegistryEntry(hub.registryDir, { ...entry, webhook });
  await hub.hub.registry.reload();
});
afterAll(async () => {
  closeAllSockets();
  await closeAllClients();
  await hub?.stop();
  receiver?.close();
});

/** The samples of a Prometheus text exposition: `name{labels}` -> value. */
async function scrape(url: string): Promise<Map<string, number>> {
  const text = await (await fetch(`${url}/metrics`)).text();
  const samples = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const cut = line.lastIndexOf(' ');
    samples.set(line.slice(0, cut), Number(line.slice(cut + 1)));
  }
  return samples;
}

/** The sum of the samples of `name` whose labels include every one of `labels`. */
function total(samples: Map<string, number>, name: string, labels: Record<string, string> = {}): number {
  let sum = 0;
  for (const [key, value] of samples) {
    const brace = key.indexOf('{');
    if ((brace === -1 ? key : key.slice(0, brace)) !== name) continue;
    if (Object.entries(labels).every(([label, wanted]) => key.includes(`${label}="${wanted}"`))) sum += value;
  }
  return sum;
}

describe('the operations metrics', () => {
  it('count messages and receipts relayed, and time their delivery to the recipients', async () => {
    const before = await scrape(hub.url);
    const ua = await connectDevice(hub.url, hub.agencies['UA-NPU'], 'ua.metrics');
    const pl = await connectDevice(hub.url, hub.agencies['PL-KGP'], 'pl.metrics');
    const plMessages = record(pl, 'message');
    const uaReceipts = record(ua, 'receipt');
    const conversation = await ua.createConversation({
      kind: 'direct',
      members: [{ agency: 'PL-KGP', officer: 'pl.metrics' }],
      basis: { type: 'formal-request', reference: 'MLA/2026/17', caseReference: '12025000000000123' },
    });
    for (const text of ['one', 'two', 'three']) await ua.send(conversation.id, text);
    await waitForCount(plMessages, 3);
    // PL's SDK sends signed `delivered` receipts for them (one may cover several).
    await waitFor(() => uaReceipts.flatMap((receipt) => receipt.messageIds).length >= 3);

    const after = await scrape(hub.url);
    const moved = (name: string, labels?: Record<string, string>) =>
      total(after, name, labels) - total(before, name, labels);
    expect(moved('ncp_hub_messages_relayed_total')).toBe(3);
    expect(moved('ncp_hub_receipts_relayed_total')).toBeGreaterThanOrEqual(uaReceipts.length);
    // Each message reached PL's one socket live, and each receipt UA's.
    expect(moved('ncp_hub_delivery_latency_seconds_count', { type: 'message' })).toBe(3);
    expect(moved('ncp_hub_delivery_latency_seconds_count', { type: 'receipt' })).toBeGreaterThanOrEqual(
      uaReceipts.length,
    );
    const seconds = moved('ncp_hub_delivery_latency_seconds_sum', { type: 'message' });
    expect(seconds).toBeGreaterThanOrEqual(0);
    expect(seconds).toBeLessThan(30);
    // Every scrape times a PING to Redis.
    expect(moved('ncp_hub_redis_round_trip_seconds_count')).toBeGreaterThanOrEqual(1);
    expect(total(after, 'ncp_hub_redis_round_trip_seconds_bucket', { le: '+Inf' })).toBeGreaterThanOrEqual(2);
  });

  it("count the follow-up jobs and the NCB's webhook deliveries, and read the queue's depths", async () => {
    const ua = await connectDevice(hub.url, hub.agencies['UA-NPU'], 'ua.followup');
    await connectDevice(hub.url, hub.agencies['PL-KGP'], 'pl.followup');
    await ua.openQuery({
      counterpart: { agency: 'PL-KGP', officer: 'pl.followup' },
      caseReference: '12026100000000042',
      ground: 'ABSCONDING_RISK',
      statement: 'The suspect bought a one-way ticket.',
      question: 'Is he registered at a hotel in Warsaw?',
    });
    await waitFor(
      async () => total(await scrape(hub.url), 'ncp_hub_webhooks_total', { outcome: 'delivered' }) >= 1,
      15_000,
    );
    const samples = await scrape(hub.url);
    expect(total(samples, 'ncp_hub_webhooks_total', { outcome: 'retry' })).toBe(1);
    expect(total(samples, 'ncp_hub_webhooks_total', { outcome: 'delivered' })).toBe(1);
    expect(total(samples, 'ncp_hub_followup_jobs_total', { job: 'ncb-webhook', outcome: 'failed' })).toBe(1);
    expect(total(samples, 'ncp_hub_followup_jobs_total', { job: 'ncb-webhook', outcome: 'completed' })).toBe(1);
    expect(
      total(samples, 'ncp_hub_followup_jobs_total', { job: 'ncb-notify', outcome: 'completed' }),
    ).toBeGreaterThanOrEqual(1);
    // The deadline, the reminders and the next NCB notification wait in the queue, delayed.
    expect(total(samples, 'ncp_hub_followup_jobs', { state: 'delayed' })).toBeGreaterThanOrEqual(3);
    expect(total(samples, 'ncp_hub_followup_jobs', { state: 'completed' })).toBeGreaterThanOrEqual(2);
    expect(samples.has('ncp_hub_followup_jobs{state="failed"}')).toBe(true);
  });

  it('count the RATE_LIMITED refusals by kind and transport', async () => {
    const tight = await startTestHub({ RATE_LIMIT_READS_PER_SECOND: '0.1', RATE_LIMIT_READS_BURST: '3' });
    try {
      const token = await tokenFor(tight.agencies['UA-NPU'], { officer: 'ua.budget' });
      const { socket } = await connectOfficer(tight.url, token);
      const answers = [];
      for (let i = 0; i < 5; i++) answers.push(await socket.emitWithAck('session:whoami', {}));
      expect(answers.filter((answer) => !answer.ok)).toHaveLength(2);
      // The same officer's read budget, spent: over HTTP too.
      expect((await fetch(`${tight.url}/v1/whoami`, { headers: { authorization: `Bearer ${token}` } })).status).toBe(
        429,
      );
      // An address's budget, without a token.
      const statuses = [];
      for (let i = 0; i < 4; i++) statuses.push((await fetch(`${tight.url}/v1/hub-keys`)).status);
      expect(statuses.filter((status) => status === 429)).toHaveLength(1);

      const samples = await scrape(tight.url);
      expect(total(samples, 'ncp_hub_rate_limited_total', { kind: 'read', transport: 'socket' })).toBe(2);
      expect(total(samples, 'ncp_hub_rate_limited_total', { kind: 'read', transport: 'http' })).toBe(1);
      expect(total(samples, 'ncp_hub_rate_limited_total', { kind: 'address', transport: 'http' })).toBe(1);
    } finally {
      closeAllSockets();
      await tight.stop();
    }
  });

  it("are each documented in docs/OPERATIONS.md's table (the process's default metrics aside)", async () => {
    const text = await (await fetch(`${hub.url}/metrics`)).text();
    const names = [...text.matchAll(/^# HELP (ncp_hub_\w+)/gm)]
      .map(([, name]) => name as string)
      .filter((name) => !/^ncp_hub_(process|nodejs)_/.test(name));
    expect(names).toContain('ncp_hub_delivery_latency_seconds');
    const operations = await readFile(new URL('../../docs/OPERATIONS.md', import.meta.url), 'utf8');
    const table = operations.slice(operations.indexOf('## 6. What to watch'));
    expect(names.filter((name) => !table.includes(`\`${name}`))).toEqual([]);
  });
});
