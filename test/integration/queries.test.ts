/**
 * Operational queries end to end: the legal rules at opening, the NCB notification, both
 * tracks through real Socket.IO clients, a real Redis and real BullMQ workers.
 */

import { once } from 'node:events';
import { rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import type { HubClient } from '@ncp-hub/client-sdk';
import { readRegistryEntry, writeRegistryEntry } from '@ncp-hub/keys';
import { EVENTS, type QueryEvent, type TimelineEvent } from '@ncp-hub/protocol';
import { compactVerify, createLocalJWKSet, type JWK } from 'jose';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { tokenFor } from '../helpers/agencies.js';
import { makeTempDir, startTestHub, type TestHub } from '../helpers/hub.js';
import { closeAllClients, connectDevice, record, recorded, waitForCount } from '../helpers/officers.js';
import { writeSecondsPolicy } from '../helpers/policies.js';
import { createSocket } from '../helpers/sockets.js';
import { waitFor } from '../helpers/wait-for.js';

let hub: TestHub;
let run = 0;
let names: { ua: string; pl: string; ncb: string; pgo: string; supervisor: string };

beforeAll(async () => {
  hub = await startTestHub();
});
beforeEach(() => {
  run += 1;
  names = {
    ua: `ua.inv.${run}`,
    pl: `pl.liaison.${run}`,
    ncb: `ncb.desk.${run}`,
    pgo: `pgo.clerk.${run}`,
    supervisor: `ua.sup.${run}`,
  };
});
afterEach(() => closeAllClients());
afterAll(() => hub?.stop());

async function officers(target: TestHub = hub) {
  const ua = await connectDevice(target.url, target.agencies['UA-NPU'], names.ua);
  const pl = await connectDevice(target.url, target.agencies['PL-KGP'], names.pl);
  return { ua, pl };
}

function ncbDesk(target: TestHub = hub) {
  return connectDevice(target.url, target.agencies['NCB-UA'], names.ncb, { roles: ['ncb'] });
}

function openQuery(ua: HubClient, overrides: Partial<Parameters<HubClient['openQuery']>[0]> = {}) {
  return ua.openQuery({
    counterpart: { agency: 'PL-KGP', officer: names.pl },
    caseReference: '12026100000000042',
    ground: 'ABSCONDING_RISK',
    statement: 'The suspect bought a one-way ticket Warsaw-Dubai for tonight.',
    question: 'Is Ivan Horbenko registered at a hotel in Warsaw?',
    ...overrides,
  });
}

const eventsOf = (timeline: Array<{ event: TimelineEvent }>) => timeline.map((entry) => entry.event);

describe('an operational query, with the default policy', () => {
  it('runs its whole lifecycle: opened, NCB told and acknowledging, answered, filed, confirmed, closed', async () => {
    const desk = await ncbDesk();
    const deskEvents = record(desk, 'query');
    const { ua, pl } = await officers();
    const plMessages = record(pl, 'message');
    const uaMessages = record(ua, 'message');

    const { query, conversation } = await openQuery(ua);
    expect(query).toMatchObject({
      status: 'OPEN',
      ground: 'ABSCONDING_RISK',
      requester: { agency: 'UA-NPU', officer: names.ua },
      counterpart: { agency: 'PL-KGP', officer: names.pl },
      ncb: { agency: 'NCB-UA', state: 'NOTIFIED' },
      formalRequest: { state: 'AWAITING', filing: null },
    });
    expect(conversation.basis).toEqual({
      type: 'operational-query',
      query: query.id,
      ground: 'ABSCONDING_RISK',
      caseReference: '12026100000000042',
    });

    // The NCB desk is told, with the specific grounds it alone (and the counterpart) can read.
    await waitFor(() => deskEvents.some((e) => e.type === 'notification'));
    const notification = deskEvents.find((e) => e.type === 'notification') as QueryEvent;
    expect(await desk.readStatement(notification.query)).toEqual({
      v: 1,
      type: 'text',
      text: 'The suspect bought a one-way ticket Warsaw-Dubai for tonight.',
    });

    // The counterpart gets the question, and can read the grounds too.
    const [question] = await waitForCount(plMessages, 1);
    expect(question?.content).toEqual({
      v: 1,
      type: 'text',
      text: 'Is Ivan Horbenko registered at a hotel in Warsaw?',
    });
    expect((await pl.readStatement(query)).type).toBe('text');
    await pl.send(conversation.id, 'Yes: Hotel Bristol, room 214, checked in yesterday.');
    await waitForCount(uaMessages, 1);

    expect((await desk.acknowledgeQuery(query.id)).ncb).toMatchObject({
      state: 'ACKNOWLEDGED',
      acknowledgedBy: { agency: 'NCB-UA', officer: names.ncb },
    });
    const filed = await ua.registerFormalRequest(query.id, {
      reference: 'MLA/2026/0042',
      instrument: 'MLA_REQUEST',
      centralAuthority: 'UA-PGO',
      date: '2026-11-30',
    });
    expect(filed.formalRequest).toMatchObject({
      state: 'FILED',
      filing: { reference: 'MLA/2026/0042', filedBy: { officer: names.ua } },
    });

    const pgo = await connectDevice(hub.url, hub.agencies['UA-PGO'], names.pgo, { roles: ['central-authority'] });
    const confirmed = await pgo.confirmFormalRequest(query.id);
    expect(confirmed).toMatchObject({
      status: 'CLOSED',
      formalRequest: { state: 'CONFIRMED', confirmedBy: { agency: 'UA-PGO' } },
    });

    const { timeline } = await ua.getQuery(query.id);
    expect(eventsOf(timeline)).toEqual([
      'OPENED',
      'NCB_NOTIFIED',
      'ANSWERED',
      'NCB_ACKNOWLEDGED',
      'FILED',
      'CONFIRMED',
      'CLOSED',
    ]);
    expect(timeline.find((e) => e.event === 'NCB_ACKNOWLEDGED')?.actor).toEqual({
      agency: 'NCB-UA',
      officer: names.ncb,
    });
    expect(timeline.every((e) => typeof e.at === 'number')).toBe(true);
  });

  it('hands an NCB desk that was offline its pending notifications when it connects', async () => {
    const { ua } = await officers();
    const { query } = await openQuery(ua);
    const desk = await ncbDesk();
    await waitFor(
      () => recorded(desk, 'query').some((e) => e.type === 'notification' && e.query.id === query.id),
      3000,
    );
    expect((await desk.pendingQueries()).map((e) => e.query.id)).toContain(query.id);
    await desk.acknowledgeQuery(query.id);
    expect((await desk.pendingQueries()).map((e) => e.query.id)).not.toContain(query.id);
  });

  it('refuses each unlawful opening with its code', async () => {
    const { ua } = await officers();
    const desk = await ncbDesk();
    const refuse = (promise: Promise<unknown>) => expect(promise).rejects;
    await refuse(openQuery(ua, { ground: 'CURIOSITY' as never })).toMatchObject({ code: 'QUERY_GROUND_INVALID' });
    await refuse(openQuery(ua, { statement: '   ' })).toMatchObject({ code: 'QUERY_STATEMENT_REQUIRED' });
    await refuse(openQuery(ua, { counterpart: { agency: 'UA-PGO', officer: 'someone' } })).toMatchObject({
      code: 'QUERY_SAME_STATE',
    });
    await refuse(openQuery(ua, { counterpart: { agency: 'XX-NONE', officer: 'someone' } })).toMatchObject({
      code: 'AGENCY_UNKNOWN',
    });
    await refuse(openQuery(desk)).toMatchObject({ code: 'ROLE_REQUIRED' });
  });

  it('refuses at the hub, with its code, a query without ground or statement, whatever the client', async () => {
    await officers();
    const socket = createSocket(hub.url, {
      token: await tokenFor(hub.agencies['UA-NPU'], { officer: names.ua }),
      device: 'device-1',
    });
    await new Promise<void>((resolve) => {
      socket.once(EVENTS.sessionWelcome, () => resolve());
      socket.connect();
    });
    const send = (payload: unknown) =>
      (
        socket as unknown as {
          emitWithAck: (e: string, p: unknown) => Promise<{ ok: boolean; error?: { code: string } }>;
        }
      ).emitWithAck(EVENTS.queryOpen, payload);
    const record = { record: { basis: { type: 'operational-query' } } };
    expect((await send({ conversation: record, question: {} })).error?.code).toBe('QUERY_GROUND_INVALID');
    expect(
      (
        await send({
          conversation: { record: { basis: { type: 'operational-query', ground: 'THREAT_TO_LIFE' } } },
          question: {},
        })
      ).error?.code,
    ).toBe('QUERY_STATEMENT_REQUIRED');
    expect(
      (
        await send({
          conversation: { record: { basis: { type: 'operational-query', ground: 'THREAT_TO_LIFE' } } },
          statement: {},
          question: {},
        })
      ).error?.code,
    ).toBe('BAD_REQUEST');
    socket.close();
  });

  it('refuses illegal transitions, and hides a query from those who may not see it', async () => {
    const desk = await ncbDesk();
    const { ua, pl } = await officers();
    const { query, conversation } = await openQuery(ua);
    await expect(ua.acknowledgeQuery(query.id)).rejects.toMatchObject({ code: 'ROLE_REQUIRED' });
    await expect(pl.acknowledgeQuery(query.id)).rejects.toMatchObject({ code: 'ROLE_REQUIRED' });
    const pgo = await connectDevice(hub.url, hub.agencies['UA-PGO'], names.pgo, { roles: ['central-authority'] });
    await expect(pgo.confirmFormalRequest(query.id)).rejects.toMatchObject({ code: 'QUERY_NOT_FOUND' });
    await expect(
      pl.registerFormalRequest(query.id, {
        reference: 'X-1',
        instrument: 'OTHER',
        centralAuthority: 'UA-PGO',
        date: '2026-11-30',
      }),
    ).rejects.toMatchObject({
      code: 'ROLE_REQUIRED',
    });
    await expect(
      ua.registerFormalRequest(query.id, {
        reference: 'X-1',
        instrument: 'OTHER',
        centralAuthority: 'NCB-UA',
        date: '2026-11-30',
      }),
    ).rejects.toMatchObject({
      code: 'AGENCY_UNKNOWN',
    });
    const outsider = await connectDevice(hub.url, hub.agencies['PL-PK'], `outsider.${run}`);
    await expect(outsider.getQuery(query.id)).rejects.toMatchObject({ code: 'QUERY_NOT_FOUND' });

    await desk.acknowledgeQuery(query.id);
    await expect(desk.acknowledgeQuery(query.id)).rejects.toMatchObject({ code: 'QUERY_TRANSITION_INVALID' });

    // answered: no withdrawal any more
    await pl.send(conversation.id, 'Looking into it.');
    await waitFor(async () => (await ua.getQuery(query.id)).query.answeredAt !== null);
    await expect(ua.withdrawQuery(query.id, 'no longer needed')).rejects.toMatchObject({
      code: 'QUERY_TRANSITION_INVALID',
    });
  });

  it('can be withdrawn with a reason before the counterpart answers, which stops the follow-up', async () => {
    await ncbDesk();
    const { ua } = await officers();
    const { query } = await openQuery(ua);
    const withdrawn = await ua.withdrawQuery(query.id, 'Suspect arrested in Ukraine');
    expect(withdrawn).toMatchObject({ status: 'WITHDRAWN', withdrawal: { reason: 'Suspect arrested in Ukraine' } });
    await expect(
      ua.registerFormalRequest(query.id, {
        reference: 'X-1',
        instrument: 'OTHER',
        centralAuthority: 'UA-PGO',
        date: '2026-11-30',
      }),
    ).rejects.toMatchObject({
      code: 'QUERY_TRANSITION_INVALID',
    });
  });
});

describe('the query list and detail over HTTP', () => {
  it('shows each user the queries they may see, filtered by state and overdue, and 404s the rest', async () => {
    const desk = await ncbDesk();
    const { ua, pl } = await officers();
    const { query } = await openQuery(ua);
    const { query: other } = await openQuery(ua, { caseReference: 'SECOND-1' });
    await ua.withdrawQuery(other.id, 'duplicate');

    const mine = await ua.listQueries();
    expect(mine.map((q) => q.id)).toEqual(expect.arrayContaining([query.id, other.id]));
    expect((await ua.listQueries({ status: 'WITHDRAWN' })).map((q) => q.id)).toContain(other.id);
    expect((await ua.listQueries({ status: 'OPEN' })).map((q) => q.id)).not.toContain(other.id);
    expect((await ua.listQueries({ overdue: true })).map((q) => q.id)).not.toContain(query.id);
    expect((await pl.listQueries()).map((q) => q.id)).toContain(query.id);
    expect((await desk.listQueries({ status: 'OPEN' })).map((q) => q.id)).toContain(query.id);
    const outsider = await connectDevice(hub.url, hub.agencies['PL-PK'], `outsider.http.${run}`);
    expect((await outsider.listQueries()).map((q) => q.id)).not.toContain(query.id);

    const token = await tokenFor(hub.agencies['UA-NPU'], { officer: names.ua });
    const detail = await fetch(`${hub.url}/v1/queries/${query.id}`, { headers: { authorization: `Bearer ${token}` } });
    expect(detail.status).toBe(200);
    const body = (await detail.json()) as { query: { id: string }; timeline: Array<{ event: string }> };
    expect(body.query.id).toBe(query.id);
    expect(body.timeline[0]?.event).toBe('OPENED');

    const outsiderToken = await tokenFor(hub.agencies['PL-PK'], { officer: 'someone' });
    const hidden = await fetch(`${hub.url}/v1/queries/${query.id}`, {
      headers: { authorization: `Bearer ${outsiderToken}` },
    });
    expect(hidden.status).toBe(404);
    expect(((await hidden.json()) as { error: { code: string } }).error.code).toBe('QUERY_NOT_FOUND');
    const bad = await fetch(`${hub.url}/v1/queries?status=SLEEPING`, { headers: { authorization: `Bearer ${token}` } });
    expect(bad.status).toBe(400);
    expect((await fetch(`${hub.url}/v1/queries`)).status).toBe(401);
  });
});

describe("a policy that informs the requested state's NCB too", () => {
  it("notifies both NCBs, both can read the grounds, only the requesting state's acknowledges", async () => {
    const dir = await makeTempDir();
    const file = join(dir, 'policy.json');
    await writeFile(file, JSON.stringify({ informRequestedStateNcb: true }));
    const both = await startTestHub({ POLICY_FILE: file });
    try {
      const uaDesk = await connectDevice(both.url, both.agencies['NCB-UA'], `ncb.ua.${run}`, { roles: ['ncb'] });
      const plDesk = await connectDevice(both.url, both.agencies['NCB-PL'], `ncb.pl.${run}`, { roles: ['ncb'] });
      const { ua } = await officers(both);
      const { query } = await openQuery(ua);
      expect(query.ncb).toMatchObject({ agency: 'NCB-UA', alsoInformed: ['NCB-PL'] });
      for (const desk of [uaDesk, plDesk]) {
        await waitFor(() => recorded(desk, 'query').some((e) => e.type === 'notification' && e.query.id === query.id));
        expect((await desk.readStatement(query)).type).toBe('text');
      }
      await expect(plDesk.acknowledgeQuery(query.id)).rejects.toMatchObject({ code: 'QUERY_TRANSITION_INVALID' });
      expect((await uaDesk.acknowledgeQuery(query.id)).ncb.state).toBe('ACKNOWLEDGED');
    } finally {
      await closeAllClients();
      await both.stop();
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe("an NCB's own system", () => {
  it('receives the notification by webhook, signed by the hub, retried until accepted, with an idempotency key', async () => {
    const received: Array<{ body: string; headers: Record<string, string | string[] | undefined> }> = [];
    const receiver = createServer((req, res) => {
      let body = '';
      req.on('data', (chunk: Buffer) => {
        body += chunk.toString();
      });
      req.on('end', () => {
        received.push({ body, headers: req.headers });
        res.statusCode = received.length === 1 ? 503 : 202; // the first delivery fails
        res.end();
      });
    });
    receiver.listen(0, '127.0.0.1');
    await once(receiver, 'listening');
    const webhook = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/interpol/notifications`;
    try {
      const entry = await readRegistryEntry(hub.registryDir, 'NCB-UA');
      await writeRegistryEntry(hub.registryDir, { ...entry, webhook });
      expect(await hub.hub.registry.reload()).toBe(true);
      const { ua } = await officers();
      const { query } = await openQuery(ua);

      await waitFor(() => received.length >= 2, 15_000);
      const [first, second] = received as [(typeof received)[0], (typeof received)[0]];
      expect(second.headers['content-type']).toBe('application/jose');
      expect(second.headers['idempotency-key']).toBe(`notification.${query.id}`);
      expect(first.headers['idempotency-key']).toBe(second.headers['idempotency-key']);

      const hubKeys = (await (await fetch(`${hub.url}/v1/hub-keys`)).json()) as { keys: JWK[] };
      const { payload, protectedHeader } = await compactVerify(second.body, createLocalJWKSet(hubKeys as never), {
        algorithms: ['EdDSA'],
      });
      expect(protectedHeader.typ).toBe('ncp-notification+jws');
      const notification = JSON.parse(new TextDecoder().decode(payload));
      expect(notification).toMatchObject({
        ncb: 'NCB-UA',
        event: {
          id: `notification.${query.id}`,
          type: 'notification',
          query: { id: query.id, ground: 'ABSCONDING_RISK' },
        },
      });
      await waitFor(async () =>
        (await ua.getQuery(query.id)).timeline.some(
          (e) => e.event === 'NCB_NOTIFIED' && e.detail?.channel === 'webhook',
        ),
      );
    } finally {
      const entry = await readRegistryEntry(hub.registryDir, 'NCB-UA');
      const { webhook: _removed, ...withoutWebhook } = entry;
      await writeRegistryEntry(hub.registryDir, withoutWebhook);
      await hub.hub.registry.reload();
      receiver.close();
    }
  });
});

describe("an NCB's system that refuses the webhook", () => {
  it('gets the failure recorded and escalated', async () => {
    const receiver = createServer((_req, res) => {
      res.statusCode = 400;
      res.end();
    });
    receiver.listen(0, '127.0.0.1');
    await once(receiver, 'listening');
    const webhook = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/refuse`;
    const entry = await readRegistryEntry(hub.registryDir, 'NCB-UA');
    try {
      await writeRegistryEntry(hub.registryDir, { ...entry, webhook });
      expect(await hub.hub.registry.reload()).toBe(true);
      const { ua } = await officers();
      const { query } = await openQuery(ua);
      await waitFor(async () =>
        (await ua.getQuery(query.id)).timeline.some(
          (e) => e.event === 'ESCALATED' && e.detail?.reason === 'WEBHOOK_FAILED',
        ),
      );
      const { timeline } = await ua.getQuery(query.id);
      expect(timeline.find((e) => e.detail?.reason === 'WEBHOOK_FAILED')?.detail).toMatchObject({
        ncb: 'NCB-UA',
        cause: expect.stringContaining('HTTP 400'),
      });
    } finally {
      const { webhook: _removed, ...withoutWebhook } = await readRegistryEntry(hub.registryDir, 'NCB-UA');
      await writeRegistryEntry(hub.registryDir, withoutWebhook);
      await hub.hub.registry.reload();
      receiver.close();
    }
  });
});

describe('the follow-up, with a policy in seconds', () => {
  let fast: TestHub;
  beforeAll(async () => {
    const dir = await makeTempDir();
    const policy = await writeSecondsPolicy(dir, {
      deadline: '4s',
      reminders: ['3s', '2s'],
      ack: '2s',
      resend: '1s',
      escalation: '1s',
    });
    fast = await startTestHub({ POLICY_FILE: policy });
  });
  afterAll(() => fast?.stop());

  it('delivers the notification to an NCB desk that connects later, and escalates a late acknowledgement', async () => {
    const { ua } = await officers(fast);
    const supervisor = await connectDevice(fast.url, fast.agencies['UA-NPU'], names.supervisor, {
      roles: ['supervisor'],
    });
    const escalations = record(supervisor, 'query');
    const { query } = await openQuery(ua);

    await waitFor(async () => (await ua.getQuery(query.id)).query.ncb.state === 'ACK_OVERDUE', 10_000);
    await waitFor(() => escalations.some((e) => e.type === 'escalation' && e.entry?.detail?.reason === 'ACK_OVERDUE'));

    const desk = await ncbDesk(fast);
    await waitFor(() => recorded(desk, 'query').some((e) => e.type === 'notification' && e.query.id === query.id));
    expect((await desk.acknowledgeQuery(query.id)).ncb.state).toBe('ACKNOWLEDGED');
    const { timeline } = await ua.getQuery(query.id);
    const ncbTrack = timeline.filter(
      (e) => e.event.startsWith('NCB_') || e.event === 'ACK_OVERDUE' || e.detail?.reason === 'ACK_OVERDUE',
    );
    expect(eventsOf(ncbTrack)).toEqual(['NCB_NOTIFIED', 'ACK_OVERDUE', 'ESCALATED', 'NCB_ACKNOWLEDGED']);
  });

  it('reminds before the deadline, once each, then marks it OVERDUE and escalates again and again', async () => {
    await ncbDesk(fast);
    const { ua } = await officers(fast);
    const supervisor = await connectDevice(fast.url, fast.agencies['UA-NPU'], names.supervisor, {
      roles: ['supervisor'],
    });
    const escalations = record(supervisor, 'query');
    const reminders = record(ua, 'query');
    const { query } = await openQuery(ua);
    await waitFor(async () => {
      const { timeline } = await ua.getQuery(query.id);
      return (
        timeline.filter((e) => e.event === 'ESCALATED' && e.detail?.reason === 'FORMAL_REQUEST_OVERDUE').length >= 3
      );
    }, 15_000);
    const { query: late, timeline } = await ua.getQuery(query.id);
    expect(late.formalRequest.state).toBe('OVERDUE');
    expect(timeline.filter((e) => e.event === 'REMINDER').map((e) => e.detail?.index)).toEqual([0, 1]);
    expect(timeline.filter((e) => e.event === 'OVERDUE')).toHaveLength(1);
    expect(reminders.filter((e) => e.type === 'reminder').map((e) => e.id)).toEqual([
      `reminder.${query.id}.0`,
      `reminder.${query.id}.1`,
    ]);
    expect(
      escalations.filter((e) => e.entry?.detail?.reason === 'FORMAL_REQUEST_OVERDUE').length,
    ).toBeGreaterThanOrEqual(2);

    // Filing late is still possible, and stops the escalations.
    await ua.registerFormalRequest(query.id, {
      reference: 'LR/77',
      instrument: 'LETTERS_ROGATORY',
      centralAuthority: 'UA-PGO',
      date: '2026-11-29',
    });
    const escalated = (await ua.getQuery(query.id)).timeline.filter((e) => e.event === 'ESCALATED').length;
    await new Promise((resolve) => setTimeout(resolve, 2500));
    expect((await ua.getQuery(query.id)).timeline.filter((e) => e.event === 'ESCALATED').length).toBe(escalated);
  });

  it('cancels the reminders and the deadline when the formal request is registered', async () => {
    await ncbDesk(fast);
    const { ua } = await officers(fast);
    const { query } = await openQuery(ua);
    await ua.registerFormalRequest(query.id, {
      reference: 'EIO/9',
      instrument: 'EUROPEAN_INVESTIGATION_ORDER',
      centralAuthority: 'UA-PGO',
      date: '2026-11-29',
    });
    await new Promise((resolve) => setTimeout(resolve, 5000));
    const { query: after, timeline } = await ua.getQuery(query.id);
    expect(after.formalRequest.state).toBe('FILED');
    expect(eventsOf(timeline).filter((e) => e === 'REMINDER' || e === 'OVERDUE')).toEqual([]);
  });
});
