/**
 * The SDK's AuditClient (`@ncp-hub/client-sdk/audit`) against a real hub: the entries of the
 * auditor's agency with every filter, paged with `next`; the export, verified with the
 * verifier the SDK re-exports; the hub's refusals as the SDK's error classes.
 */
import { ClientError, QueryError, RequestError } from '@ncp-hub/client-sdk';
import { AuditClient, type AuditEntry, verifyAuditExport } from '@ncp-hub/client-sdk/audit';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { tokenFor } from '../helpers/agencies.js';
import { startTestHub, type TestHub } from '../helpers/hub.js';
import { closeAllClients, connectDevice, record, waitForCount } from '../helpers/officers.js';
import { waitFor } from '../helpers/wait-for.js';

let hub: TestHub;
let queryId: string;
let tokensIssued = 0;

/** An AuditClient of an auditor of UA-NPU, with a fresh token for each request (counted). */
function auditClient(url = hub.url): AuditClient {
  return new AuditClient({
    url: `${url}/`,
    token: () => {
      tokensIssued += 1;
      return tokenFor(hub.agencies['UA-NPU'], { officer: 'auditor.sdk', roles: ['auditor'] });
    },
  });
}

/** Every entry, page after page of `limit`. */
async function allEntries(audit: AuditClient, limit: number): Promise<{ entries: AuditEntry[]; pages: number }> {
  const entries: AuditEntry[] = [];
  let pages = 0;
  for (let after = 0; ; ) {
    const page = await audit.entries({ after, limit });
    pages += 1;
    expect(page.entries.length).toBeLessThanOrEqual(limit);
    entries.push(...page.entries);
    if (page.next === null) break;
    after = page.next;
  }
  return { entries, pages };
}

beforeAll(async () => {
  hub = await startTestHub({ AUDIT_CHECKPOINT_EVERY: '5', AUDIT_CHECKPOINT_SECONDS: '0.5' });
  await connectDevice(hub.url, hub.agencies['NCB-UA'], 'ncb.sdk', { roles: ['ncb'] });
  const ua = await connectDevice(hub.url, hub.agencies['UA-NPU'], 'ua.sdk');
  const pl = await connectDevice(hub.url, hub.agencies['PL-KGP'], 'pl.sdk');
  const plMessages = record(pl, 'message');
  const { query, conversation } = await ua.openQuery({
    counterpart: { agency: 'PL-KGP', officer: 'pl.sdk' },
    caseReference: '12026100000000555',
    ground: 'ABSCONDING_RISK',
    statement: 'A one-way ticket for tonight.',
    question: 'Is he registered at a hotel?',
  });
  queryId = query.id;
  await waitForCount(plMessages, 1);
  await pl.send(conversation.id, 'Checking.');
  // PL-KGP's own sign-in involves PL-KGP alone: UA-NPU's export holds it redacted.
  await connectDevice(hub.url, hub.agencies['PL-KGP'], 'pl.sdk.2');
  // Everything chained, and a checkpoint after it.
  const redis = new Redis(inject('redisUrl'));
  try {
    await waitFor(async () => (await redis.xlen(`${hub.redisPrefix}audit:stream`)) <= 1, 10_000);
  } finally {
    redis.disconnect();
  }
  await new Promise((resolveWait) => setTimeout(resolveWait, 700));
});
afterAll(async () => {
  await closeAllClients();
  await hub?.stop();
});

describe('AuditClient', () => {
  it('lists the entries of its agency, oldest first, page after page with next', async () => {
    const audit = auditClient();
    const before = tokensIssued;
    const whole = await audit.entries({ limit: 500 });
    expect(tokensIssued).toBe(before + 1);
    expect(whole.next).toBeNull();
    expect(whole.entries.length).toBeGreaterThan(6);
    expect(whole.entries.every((entry) => entry.agencies.includes('UA-NPU'))).toBe(true);
    const seqs = whole.entries.map((entry) => entry.seq);
    expect(seqs).toEqual([...seqs].sort((a, b) => a - b));

    const paged = await allEntries(audit, 3);
    expect(paged.pages).toBeGreaterThanOrEqual(Math.ceil(whole.entries.length / 3));
    // Each request of an auditor is itself logged (auth.accepted): the chain grows at its end.
    expect(paged.entries.slice(0, whole.entries.length)).toEqual(whole.entries);
  });

  it('filters by query, by officer and by time', async () => {
    const audit = auditClient();
    const ofQuery = (await audit.entries({ query: queryId })).entries;
    expect(ofQuery.map((entry) => entry.type)).toContain('query.OPENED');
    expect(ofQuery.every((entry) => entry.query === queryId)).toBe(true);

    const ofOfficer = (await audit.entries({ officer: 'pl.sdk', limit: 500 })).entries;
    expect(ofOfficer.map((entry) => entry.type)).toContain('message.relayed');
    expect(
      ofOfficer.every(
        (entry) => (entry.actor !== 'hub' && entry.actor.officer === 'pl.sdk') || entry.data.officer === 'pl.sdk',
      ),
    ).toBe(true);

    const all = (await audit.entries({ limit: 500 })).entries;
    const from = (all[2] as AuditEntry).at;
    const to = (all.at(-2) as AuditEntry).at;
    const between = (await audit.entries({ from, to, limit: 500 })).entries;
    expect(between.length).toBeGreaterThan(0);
    expect(between.length).toBeLessThan(all.length);
    expect(between).toEqual(all.filter((entry) => entry.at >= from && entry.at <= to));
  });

  it("exports the chain, which verifies against the hub's keys with the re-exported verifier", async () => {
    const audit = auditClient();
    const text = await audit.export();
    const keys = await audit.hubKeys();
    expect(keys.keys[0]).toMatchObject({ kty: 'OKP', crv: 'Ed25519' });
    const verdict = await verifyAuditExport(text, keys);
    const lines = text.split('\n').filter(Boolean);
    expect(verdict).toEqual({
      ok: true,
      entries: lines.filter((line) => line.includes('"kind":"entry"')).length,
      redacted: lines.filter((line) => line.includes('"redacted":true')).length,
      checkpoints: lines.filter((line) => line.includes('"kind":"checkpoint"')).length,
      head: expect.objectContaining({ seq: expect.any(Number) }),
    });
    expect(verdict.ok && verdict.redacted).toBeGreaterThan(0);
    expect(verdict.ok && verdict.checkpoints).toBeGreaterThan(0);

    const tampered = text.replace(/"bytes":(\d+)/, (_m, n: string) => `"bytes":${Number(n) + 1}`);
    expect(await verifyAuditExport(tampered, keys)).toMatchObject({ ok: false, problem: 'altered' });
  });

  it("refuses others with the hub's code as the SDK's error class", async () => {
    const officer = new AuditClient({
      url: hub.url,
      token: () => tokenFor(hub.agencies['UA-NPU'], { officer: 'ua.x' }),
    });
    for (const call of [() => officer.entries(), () => officer.export()]) {
      const error = await call().catch((failure: unknown) => failure);
      expect(error).toBeInstanceOf(QueryError);
      expect(error).toMatchObject({ code: 'ROLE_REQUIRED' });
    }
    const badFilter = await auditClient()
      .entries({ limit: 0 })
      .catch((failure: unknown) => failure);
    expect(badFilter).toBeInstanceOf(RequestError);
    expect(badFilter).toMatchObject({ code: 'BAD_REQUEST' });
    const unreachable = await auditClient('http://127.0.0.1:9')
      .entries()
      .catch((failure: unknown) => failure);
    expect(unreachable).toBeInstanceOf(ClientError);
    expect(unreachable).toMatchObject({ code: 'HUB_UNREACHABLE' });
  });
});
