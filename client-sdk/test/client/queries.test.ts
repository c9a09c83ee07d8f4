import { once } from 'node:events';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { openEnvelope } from '@ncp-hub/crypto';
import {
  type DeviceRef,
  deviceAddress,
  type Envelope,
  type QueryEvent,
  type QueryView,
  queryViewSchema,
} from '@ncp-hub/protocol';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { waitFor } from '../../../test/helpers/wait-for.js';
import { Conversations } from '../../src/client/conversations.js';
import { Directory } from '../../src/client/directory.js';
import { KnownChains } from '../../src/client/known-chains.js';
import { Outbox } from '../../src/client/outbox.js';
import { type OpenQueryOptions, QUERY_EVENT_IDS_PER_QUERY, Queries } from '../../src/client/queries.js';
import { ReceiveState } from '../../src/client/receive-state.js';
import { TaskQueue } from '../../src/client/task-queue.js';
import { MemoryKeyStore } from '../../src/store/index.js';
import {
  directoryOf,
  type FakeAgency,
  FakeHub,
  fakeAgency,
  hubErrorOf,
  pinnedTrust,
  type TestDevice,
  testDevice,
} from './fakes.js';

let ua: FakeAgency;
let pl: FakeAgency;
let ncbUa: FakeAgency;
let a1: TestDevice;
let b1: TestDevice;
let b2: TestDevice;
let desk: TestDevice;

beforeAll(async () => {
  [ua, pl, ncbUa] = await Promise.all([fakeAgency('UA-NPU'), fakeAgency('PL-KGP'), fakeAgency('NCB-UA')]);
  [a1, b1, b2, desk] = await Promise.all([
    testDevice(ua, 'a', 'a1'),
    testDevice(pl, 'b', 'b1', 'PL'),
    testDevice(pl, 'b', 'b2', 'PL'),
    testDevice(ncbUa, 'desk', 'desk-1'),
  ]);
});

const agencies = [
  { id: 'UA-NPU', name: 'UA police', country: 'UA', kind: 'police' },
  { id: 'PL-KGP', name: 'PL police', country: 'PL', kind: 'police' },
  { id: 'NCB-UA', name: 'NCB Kyiv', country: 'UA', kind: 'ncb' },
  { id: 'UA-PGO', name: 'PGO', country: 'UA', kind: 'central-authority' },
];

const question: OpenQueryOptions = {
  counterpart: { agency: 'PL-KGP', officer: 'b' },
  caseReference: '12026100000000042',
  ground: 'ABSCONDING_RISK',
  statement: 'One-way ticket for tonight.',
  question: 'Is he at a hotel in Warsaw?',
};

/**
 * The queries of a1 against a hub that refuses, as the hub does, a question leaving out a
 * published device of b, or a statement leaving out one of b's or of the requesting state's NCB
 * desk (listing every device left out); `beforeOpen` runs as the hub receives `query:open`.
 */
function setUp(
  published: { now: TestDevice[] },
  options: { url?: string; token?: string; beforeOpen?: () => void; store?: MemoryKeyStore } = {},
) {
  const hub = new FakeHub(({ event, payload }) => {
    switch (event) {
      case 'directory:agencies':
        return { agencies };
      case 'directory:devices': {
        const all = directoryOf(published.now);
        if ('agency' in payload) {
          return {
            devices: Object.fromEntries(Object.entries(all).filter(([k]) => k.startsWith(`${payload.agency}/`))),
          };
        }
        return { devices: all };
      }
      case 'query:open': {
        options.beforeOpen?.();
        const left = (agencies: string[], to: string[]) =>
          published.now
            .filter((d) => agencies.includes(d.ref.agency))
            .map((d) => d.device.address)
            .filter((a) => !to.includes(a));
        const missing = [
          ...new Set([
            ...left(['PL-KGP'], payload.question.header.to),
            ...left(['PL-KGP', 'NCB-UA'], payload.statement.header.to),
          ]),
        ].sort();
        if (missing.length > 0) throw hubErrorOf('RECIPIENTS_CHANGED', missing);
        const { record } = payload.conversation;
        return {
          query: { id: record.basis.query, status: 'OPEN' },
          conversation: {
            id: record.conv,
            kind: record.kind,
            basis: record.basis,
            members: ['PL-KGP/b', 'UA-NPU/a'],
            records: [payload.conversation],
            createdAt: 1,
            last: null,
            acked: null,
          },
          receipt: { seq: 7, hash: 'h' },
        };
      }
      default:
        throw new Error(`unexpected ${event}`);
    }
  });
  const store = options.store ?? new MemoryKeyStore();
  const directory = new Directory(
    async (q) => (await hub.request('directory:devices', q)).devices,
    pinnedTrust([ua, pl, ncbUa]),
    30_000,
  );
  const keys = new Map([[a1.device.address, a1.device.keys.signing.publicKey]]);
  const queue = new TaskQueue(() => {});
  const conversations = new Conversations({
    hub,
    device: a1.device,
    signingKeyOf: async (by: DeviceRef) => keys.get(deviceAddress(by)),
    known: new KnownChains(store),
    queue,
    emit: () => {},
  });
  const received = new ReceiveState(store);
  const outbox = new Outbox({ hub, device: a1.device, store, conversations, directory, received });
  const events: QueryEvent[] = [];
  const errors: unknown[] = [];
  const queries = new Queries({
    hub,
    device: a1.device,
    directory,
    conversations,
    outbox,
    store,
    url: options.url ?? 'http://127.0.0.1:9',
    token: async () => options.token ?? 'the-token',
    emit: (name, value) => (name === 'query' ? events.push(value as QueryEvent) : errors.push(value)),
  });
  return { hub, queries, store, events, errors, directory };
}

/** The hub's view of a query opened with `sent` (the payload of \`query:open\`), valid by its schema. */
function viewOf(sent: { conversation: { record: { conv: string; basis: { query: string } } }; statement: Envelope }) {
  const requester = { agency: 'UA-NPU', officer: 'a' };
  const counterpart = { agency: 'PL-KGP', officer: 'b' };
  return queryViewSchema.parse({
    id: sent.conversation.record.basis.query,
    status: 'OPEN',
    ground: 'ABSCONDING_RISK',
    caseReference: question.caseReference,
    requester,
    requesterCountry: 'UA',
    counterpart,
    counterpartCountry: 'PL',
    conversation: sent.conversation.record.conv,
    statement: sent.statement,
    ncb: {
      agency: 'NCB-UA',
      alsoInformed: [],
      state: 'NOTIFIED',
      dueAt: 1,
      acknowledgedBy: null,
      acknowledgedAt: null,
    },
    formalRequest: { state: 'AWAITING', deadline: 2, filing: null, confirmedBy: null, confirmedAt: null },
    answeredAt: null,
    withdrawal: null,
    openedAt: 1,
    closedAt: null,
  });
}

async function readable(envelope: Envelope, by: TestDevice) {
  return openEnvelope({
    envelope,
    recipient: { address: by.device.address, encryption: by.device.keys.encryption },
    senderSigningKey: a1.device.keys.signing.publicKey,
  });
}

describe('Queries', () => {
  it('opens a query: the question sealed to the counterpart, the statement also to the NCB desk', async () => {
    const { hub, queries, store } = setUp({ now: [a1, b1, desk] });
    const opened = await queries.open(question);
    expect(opened.receipt).toEqual({ seq: 7, hash: 'h' });
    expect(opened.conversation.basis).toMatchObject({ type: 'operational-query', ground: 'ABSCONDING_RISK' });
    const [sent] = hub.sent('query:open');
    expect(sent.question.header).toMatchObject({ kind: 'query-question', seq: 1, to: ['PL-KGP/b/b1'] });
    expect(sent.statement.header.to).toEqual(['NCB-UA/desk/desk-1', 'PL-KGP/b/b1']);
    expect(await readable(sent.statement, desk)).toMatchObject({ text: question.statement });
    expect(await readable(sent.question, b1)).toMatchObject({ text: question.question });
    expect(await store.get(`seq:${opened.conversation.id}`)).toBe(1);
  });

  it('seals question and statement again, same ids, when the counterpart published a device since', async () => {
    const published = { now: [a1, b1, desk] };
    const { hub, queries, directory } = setUp(published);
    await directory.devicesOf([b1.officer]); // cached: b1 only
    published.now = [a1, b1, b2, desk];
    await queries.open(question);
    const [refused, accepted] = hub.sent('query:open');
    expect(refused.question.header.to).toEqual(['PL-KGP/b/b1']);
    expect(accepted.question.header.to).toEqual(['PL-KGP/b/b1', 'PL-KGP/b/b2']);
    expect(accepted.question.header.id).toBe(refused.question.header.id);
    expect(accepted.statement.header.id).toBe(refused.statement.header.id);
    expect(accepted.conversation).toEqual(refused.conversation);
    expect(await readable(accepted.question, b2)).toMatchObject({ text: question.question });
  });

  it("seals the statement again to an NCB desk's device published since, the question unchanged", async () => {
    const desk2 = await testDevice(ncbUa, 'desk', 'desk-2');
    const published = { now: [a1, b1, desk] };
    const { hub, queries } = setUp(published, {
      beforeOpen: () => {
        published.now = [a1, b1, desk, desk2]; // the desk publishes a second device meanwhile
      },
    });
    await queries.open(question);
    const [refused, accepted] = hub.sent('query:open');
    expect(refused.statement.header.to).toEqual(['NCB-UA/desk/desk-1', 'PL-KGP/b/b1']);
    expect(accepted.statement.header.to).toEqual(['NCB-UA/desk/desk-1', 'NCB-UA/desk/desk-2', 'PL-KGP/b/b1']);
    expect(accepted.question.header.to).toEqual(['PL-KGP/b/b1']);
    expect(accepted.statement.header.id).toBe(refused.statement.header.id);
    expect(await readable(accepted.statement, desk2)).toMatchObject({ text: question.statement });
  });

  it('refuses, before asking the hub, a query without a lawful ground or a statement', async () => {
    const { hub, queries } = setUp({ now: [a1, b1] });
    await expect(queries.open({ ...question, ground: 'CURIOSITY' as never })).rejects.toMatchObject({
      name: 'QueryError',
      code: 'QUERY_GROUND_INVALID',
    });
    await expect(queries.open({ ...question, statement: '  ' })).rejects.toMatchObject({
      code: 'QUERY_STATEMENT_REQUIRED',
    });
    expect(hub.calls).toEqual([]);
  });

  it('refuses a counterpart of the same state, of an unknown agency, or without a device', async () => {
    const { queries, hub } = setUp({ now: [a1, desk] });
    await expect(queries.open({ ...question, counterpart: { agency: 'UA-PGO', officer: 'x' } })).rejects.toMatchObject({
      code: 'QUERY_SAME_STATE',
    });
    await expect(queries.open({ ...question, counterpart: { agency: 'XX-NONE', officer: 'x' } })).rejects.toMatchObject(
      { name: 'DirectoryError', code: 'AGENCY_UNKNOWN' },
    );
    await expect(queries.open(question)).rejects.toMatchObject({ code: 'DEVICE_NOT_PUBLISHED' });
    expect(hub.sent('query:open')).toEqual([]);
  });

  it('refuses a statement that is not one, of another conversation, or not from the requester, with its reason', async () => {
    const { hub, queries } = setUp({ now: [a1, b1, desk] });
    await queries.open(question);
    const [sent] = hub.sent('query:open');
    const view: QueryView = viewOf(sent);
    const reasonOf = (query: QueryView) => queries.readStatement(query).catch((error: { reason?: string }) => error);
    expect(await reasonOf({ ...view, statement: sent.question })).toMatchObject({
      name: 'UndecryptableError',
      reason: 'MALFORMED',
    });
    expect(await reasonOf({ ...view, statement: { junk: true } as never })).toMatchObject({ reason: 'MALFORMED' });
    expect(await reasonOf({ ...view, conversation: 'BBBBBBBBBBBBBBBBBBBBBA' })).toMatchObject({
      reason: 'CONVERSATION_MISMATCH',
    });
    expect(await reasonOf({ ...view, requester: { agency: 'UA-NPU', officer: 'someone.else' } })).toMatchObject({
      reason: 'NOT_A_MEMBER',
    });
  });

  it('delivers each query event once, in the order they came, and again none after a restart', async () => {
    const store = new MemoryKeyStore();
    const { queries, events } = setUp({ now: [] }, { store });
    const event = { id: 'e1', type: 'notification', query: { id: 'q1' } } as QueryEvent;
    const other = { id: 'f1', type: 'escalation', query: { id: 'q2' } } as QueryEvent;
    for (const e of [event, other, event, { ...event, id: 'e2' }, other, { ...event, id: 'e3' }]) queries.onEvent(e);
    await waitFor(() => events.some((e) => e.id === 'e3'));
    expect(events.map((e) => e.id)).toEqual(['e1', 'f1', 'e2', 'e3']);

    // Another client of the same device (the same key store) drops them; a new id passes.
    const restarted = setUp({ now: [] }, { store });
    for (const e of [event, other, { ...event, id: 'e4' }]) restarted.queries.onEvent(e);
    await waitFor(() => restarted.events.length > 0);
    expect(restarted.events.map((e) => e.id)).toEqual(['e4']);
  });

  it('keeps the latest ids of each query, and reports a key store that fails', async () => {
    const store = new MemoryKeyStore();
    const { queries, events, errors } = setUp({ now: [] }, { store });
    const ids = Array.from({ length: QUERY_EVENT_IDS_PER_QUERY + 1 }, (_, i) => `e${i}`);
    for (const id of ids) queries.onEvent({ id, type: 'updated', query: { id: 'q1' } } as QueryEvent);
    await waitFor(() => events.length === ids.length);
    expect(await store.get('qevents:q1')).toEqual(ids.slice(1));

    await store.close();
    queries.onEvent({ id: 'x', type: 'updated', query: { id: 'q3' } } as QueryEvent);
    await waitFor(() => errors.length === 1);
    expect(events).toHaveLength(ids.length);
  });

  describe('over HTTP', () => {
    /** The server's 200 answer (by default the query view, the request's URL as its case reference). */
    let answer: ((url: string) => string) | undefined;
    let view: QueryView;
    beforeAll(async () => {
      const { hub, queries } = setUp({ now: [a1, b1, desk] });
      await queries.open(question);
      view = viewOf(hub.sent('query:open')[0]);
    });
    const server = createServer((req, res) => {
      res.setHeader('content-type', 'application/json');
      if (req.headers.authorization !== 'Bearer the-token') {
        res.statusCode = 401;
        res.end(JSON.stringify({ error: { code: 'AUTH_TOKEN_EXPIRED', message: 'expired' } }));
        return;
      }
      if (req.url?.includes('status=CLOSED')) {
        res.statusCode = 503;
        res.end('<html>Service Unavailable</html>');
        return;
      }
      res.end(answer?.(req.url ?? '') ?? JSON.stringify({ queries: [{ ...view, caseReference: req.url }] }));
    });
    let url = '';
    beforeAll(async () => {
      server.listen(0, '127.0.0.1');
      await once(server, 'listening');
      url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
    });
    afterAll(() => server.close());

    it('lists the queries with the filter as query string', async () => {
      answer = undefined;
      const { queries } = setUp({ now: [] }, { url });
      expect(await queries.list({ status: 'OPEN', overdue: true })).toEqual([
        { ...view, caseReference: '/v1/queries?status=OPEN&overdue=true' },
      ]);
    });

    it("rejects with the hub's error, INTERNAL for an error that is not the hub's, or HUB_UNREACHABLE", async () => {
      answer = undefined;
      const expired = setUp({ now: [] }, { url, token: 'old' });
      await expect(expired.queries.list()).rejects.toMatchObject({ name: 'AuthError', code: 'AUTH_TOKEN_EXPIRED' });
      const proxy = setUp({ now: [] }, { url });
      await expect(proxy.queries.list({ status: 'CLOSED' })).rejects.toMatchObject({
        name: 'InternalError',
        code: 'INTERNAL',
      });
      const unreachable = setUp({ now: [] }, { url: 'http://127.0.0.1:1' });
      await expect(unreachable.queries.list()).rejects.toMatchObject({ name: 'ClientError', code: 'HUB_UNREACHABLE' });
    });

    it('rejects an answer that is not a list of query views with INTERNAL, not as data', async () => {
      const { queries } = setUp({ now: [] }, { url });
      for (const malformed of [{ queries: [{ id: 'q1' }] }, { queries: 'none' }, { rows: [] }]) {
        answer = () => JSON.stringify(malformed);
        await expect(queries.list()).rejects.toMatchObject({ name: 'InternalError', code: 'INTERNAL' });
      }
      answer = undefined;
    });
  });
});
