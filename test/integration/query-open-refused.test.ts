/**
 * A refused `query:open` uses up nothing (issue 9, item 7; PROTOCOL §6.2: nothing is created
 * before every check has passed). Refused at the membership record's check — a bad signature,
 * a `record.by` of another device — or for a `conv` that exists, the query id is not claimed
 * (`query:get`: QUERY_NOT_FOUND) and the intact payload with the same ids (query, conversation,
 * question and statement) opens afterwards. Over raw Socket.IO against the real hub.
 */
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { type EnvelopeRecipient, signMembershipRecord } from '@ncp-hub/crypto';
import { readRegistryEntry, writeRegistryEntry } from '@ncp-hub/keys';
import { EVENTS, type MembershipRecord, type SignedMembershipRecord, toBase64url } from '@ncp-hub/protocol';
import { Queue } from 'bullmq';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { startTestHub, type TestHub } from '../helpers/hub.js';
import {
  createConversation,
  devicesOfAgency,
  envelopeFrom,
  published,
  type RawDevice,
  request,
  type SealTarget,
} from '../helpers/raw-devices.js';
import { closeAllSockets } from '../helpers/sockets.js';
import { waitFor } from '../helpers/wait-for.js';

let hub: TestHub;
let run = 0;
beforeAll(async () => {
  hub = await startTestHub();
});
beforeEach(() => {
  run += 1;
});
afterEach(() => closeAllSockets());
afterAll(() => hub?.stop());

/** The ids of one opening: the query, its conversation, the question and the statement. */
interface OpeningIds {
  query: string;
  conv: string;
  question: string;
  statement: string;
}

function freshIds(): OpeningIds {
  const id = () => toBase64url(randomBytes(16));
  return { query: id(), conv: id(), question: id(), statement: id() };
}

/** The `create` record of a query's conversation by `by` (the requester's device unless given). */
function queryRecord(requester: RawDevice, counterpart: RawDevice, ids: OpeningIds, by = requester): MembershipRecord {
  return {
    v: 1,
    conv: ids.conv,
    seq: 1,
    prev: null,
    op: 'create',
    kind: 'direct',
    basis: { type: 'operational-query', query: ids.query, ground: 'THREAT_TO_LIFE', caseReference: `CASE-${run}` },
    members: [requester.ref, counterpart.ref].map(({ agency, officer }) => ({ agency, officer })),
    by: by.ref,
    ts: Date.now(),
  };
}

/** A `query:open` payload from `requester` with these ids and this record. */
async function payload(
  requester: RawDevice,
  ids: OpeningIds,
  conversation: SignedMembershipRecord,
  to: { question: SealTarget[]; statement: SealTarget[] },
) {
  return {
    conversation,
    statement: await envelopeFrom(requester, ids.conv, to.statement, { id: ids.statement, kind: 'query-statement' }),
    question: await envelopeFrom(requester, ids.conv, to.question, { id: ids.question, kind: 'query-question' }),
  };
}

/** The requester (with a second device), the counterpart, and the NCB-UA desks the statement must reach. */
async function parties() {
  const ua = await published(hub, hub.agencies['UA-NPU'], `ua.${run}`, 'ua-1');
  const uaOther = await published(hub, hub.agencies['UA-NPU'], `ua.${run}`, 'ua-2');
  const pl = await published(hub, hub.agencies['PL-KGP'], `pl.${run}`, 'pl-1');
  await published(hub, hub.agencies['NCB-UA'], `desk.${run}`, 'desk-1');
  const desks: EnvelopeRecipient[] = await devicesOfAgency(ua, 'NCB-UA');
  return { ua, uaOther, pl, to: { question: [uaOther, pl], statement: [pl, ...desks] } };
}

async function queryGet(device: RawDevice, query: string) {
  return request(device.socket, EVENTS.queryGet, { query });
}

const NOT_FOUND = { ok: false, error: { code: 'QUERY_NOT_FOUND', message: expect.any(String) } };

describe('a refused query:open claims nothing', () => {
  it('refused at the record check (a bad signature, record.by of another device), the intact payload with the same ids opens', async () => {
    const { ua, uaOther, pl, to } = await parties();
    const ids = freshIds();
    const record = queryRecord(ua, pl, ids);
    const intact = await signMembershipRecord(record, ua.keys.signing.secretKey);

    // A bad signature: the requester's record, signed by the counterpart's key.
    const forged = { record, sig: (await signMembershipRecord(record, pl.keys.signing.secretKey)).sig };
    expect(await request(ua.socket, EVENTS.queryOpen, await payload(ua, ids, forged, to))).toMatchObject({
      ok: false,
      error: { code: 'MEMBERSHIP_INVALID' },
    });
    expect(await queryGet(ua, ids.query)).toEqual(NOT_FOUND);

    // record.by another device (the officer's other one, which signs it): not this connection's device.
    const byOther = await signMembershipRecord(queryRecord(ua, pl, ids, uaOther), uaOther.keys.signing.secretKey);
    expect(await request(ua.socket, EVENTS.queryOpen, await payload(ua, ids, byOther, to))).toMatchObject({
      ok: false,
      error: { code: 'SENDER_MISMATCH' },
    });
    expect(await queryGet(ua, ids.query)).toEqual(NOT_FOUND);

    const opened = await request(ua.socket, EVENTS.queryOpen, await payload(ua, ids, intact, to));
    expect(opened).toMatchObject({ ok: true, query: { id: ids.query, conversation: ids.conv } });
    expect(await queryGet(ua, ids.query)).toMatchObject({ ok: true, query: { id: ids.query, status: 'OPEN' } });
  });

  it('refused for a conv that exists, the query id is free: with its own conversation the same query opens', async () => {
    const { ua, pl, to } = await parties();
    const existing = await createConversation(ua, pl, run);
    const ids = freshIds();
    const taken = { ...ids, conv: existing };
    const onExisting = await signMembershipRecord(queryRecord(ua, pl, taken), ua.keys.signing.secretKey);
    expect(await request(ua.socket, EVENTS.queryOpen, await payload(ua, taken, onExisting, to))).toMatchObject({
      ok: false,
      error: { code: 'CONVERSATION_EXISTS' },
    });
    expect(await queryGet(ua, ids.query)).toEqual(NOT_FOUND);

    const intact = await signMembershipRecord(queryRecord(ua, pl, ids), ua.keys.signing.secretKey);
    expect(await request(ua.socket, EVENTS.queryOpen, await payload(ua, ids, intact, to))).toMatchObject({
      ok: true,
      query: { id: ids.query, conversation: ids.conv },
    });
    // Once opened, the same ids are taken for good.
    expect(await request(ua.socket, EVENTS.queryOpen, await payload(ua, ids, intact, to))).toMatchObject({
      ok: false,
      error: { code: 'CONVERSATION_EXISTS' },
    });
  });
});

describe('a follow-up job that runs before its query is stored', () => {
  // The jobs of an opening are scheduled before the query is written (an OPEN query never lacks
  // them), so one may run first. It must be retried, like every step, not done without its
  // effect: here the NCB's webhook job, put on the queue before its query:open, under the job id
  // the opening schedules (so the opening's own copy is the same job, kept, not a second one).
  it('is retried once the query is there: the webhook is POSTed and recorded', async () => {
    const posted: string[] = [];
    const receiver = createServer((req, res) => {
      req.resume();
      req.on('end', () => {
        posted.push(String(req.headers['idempotency-key']));
        res.statusCode = 202;
        res.end();
      });
    });
    receiver.listen(0, '127.0.0.1');
    await once(receiver, 'listening');
    const queue = new Queue('followup', {
      connection: { url: hub.hub.config.redisUrl },
      prefix: `${hub.redisPrefix}{bull}`,
    });
    try {
      const entry = await readRegistryEntry(hub.registryDir, 'NCB-UA');
      await writeRegistryEntry(hub.registryDir, {
        ...entry,
        webhook: `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/notifications`,
      });
      expect(await hub.hub.registry.reload()).toBe(true);
      const { ua, pl, to } = await parties();
      const ids = freshIds();
      const job = await queue.add(
        'ncb-webhook',
        { query: ids.query, ncb: 'NCB-UA' },
        { jobId: `ncb-webhook.${ids.query}.NCB-UA`, attempts: 10, backoff: { type: 'exponential', delay: 1000 } },
      );
      // It ran and found no query: failed, to be tried again (it was marked done before the fix).
      await waitFor(async () => (await job.isDelayed()) || (await job.isCompleted()), 10_000);
      expect(await job.isCompleted()).toBe(false);

      const intact = await signMembershipRecord(queryRecord(ua, pl, ids), ua.keys.signing.secretKey);
      expect(await request(ua.socket, EVENTS.queryOpen, await payload(ua, ids, intact, to))).toMatchObject({
        ok: true,
      });
      await waitFor(() => posted.includes(`notification.${ids.query}`), 20_000);
      await waitFor(async () => {
        const got = await queryGet(ua, ids.query);
        return JSON.stringify(got).includes('"channel":"webhook"');
      }, 10_000);
      expect(posted.filter((key) => key === `notification.${ids.query}`)).toHaveLength(1);
    } finally {
      await queue.close();
      receiver.close();
    }
  });
});
