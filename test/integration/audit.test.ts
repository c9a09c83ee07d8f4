/**
 * The audit trail: every metadata event of a query's whole life in one hash chain, signed
 * checkpoints, readable by auditors of the agencies involved only, verifiable offline, and
 * without any content.
 */
import { execFile } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { type AuditEntry, type AuditExportLine, verifyAuditExport } from '@ncp-hub/keys';
import { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, describe, expect, inject, it } from 'vitest';
import { tokenFor } from '../helpers/agencies.js';
import { makeTempDir, startTestHub, type TestHub } from '../helpers/hub.js';
import { closeAllClients, connectDevice, record, waitForCount } from '../helpers/officers.js';
import { writeSecondsPolicy } from '../helpers/policies.js';
import { closeAllSockets, refusal } from '../helpers/sockets.js';
import { waitFor } from '../helpers/wait-for.js';

const NCP_KEYS = resolve(import.meta.dirname, '../../node_modules/.bin/ncp-keys');
const run = promisify(execFile);
const SECRETS = {
  question: 'AUDIT-CANARY-QUESTION where is the van',
  statement: 'AUDIT-CANARY-STATEMENT child taken across the border',
  chat: 'AUDIT-CANARY-CHAT meet at the bridge',
};

let hub: TestHub;
let dir: string;

beforeAll(async () => {
  dir = await makeTempDir();
  const POLICY_FILE = await writeSecondsPolicy(dir, {
    deadline: '6s',
    reminders: ['5s'],
    ack: '1s',
    resend: '1h',
    escalation: '1h',
  });
  hub = await startTestHub({
    POLICY_FILE,
    AUDIT_CHECKPOINT_EVERY: '5',
    AUDIT_CHECKPOINT_SECONDS: '0.5',
    AUDIT_REFUSAL_WINDOW_SECONDS: '0.5',
  });
});
afterEach(async () => {
  await closeAllClients();
  closeAllSockets();
});
afterAll(() => hub?.stop());

async function auditor(agency: 'UA-NPU' | 'PL-KGP' | 'NCB-UA', target: TestHub = hub): Promise<string> {
  return tokenFor(target.agencies[agency], { officer: `auditor.${agency.toLowerCase()}`, roles: ['auditor'] });
}

async function exportFor(agency: 'UA-NPU' | 'PL-KGP' | 'NCB-UA', target: TestHub = hub): Promise<string> {
  const response = await fetch(`${target.url}/v1/audit/export`, {
    headers: { authorization: `Bearer ${await auditor(agency, target)}` },
  });
  expect(response.status).toBe(200);
  expect(response.headers.get('content-type')).toContain('application/x-ndjson');
  return response.text();
}

const linesOf = (text: string) =>
  text
    .split('\n')
    .filter(Boolean)
    .map((line) => JSON.parse(line) as AuditExportLine);

async function hubKeys(target: TestHub = hub) {
  return (await (await fetch(`${target.url}/v1/hub-keys`)).json()) as { keys: Array<Record<string, unknown>> };
}

/** Waits until the chainer has chained everything appended so far, and a checkpoint covers it. */
async function settled(target: TestHub = hub): Promise<void> {
  const redis = new Redis(inject('redisUrl'));
  try {
    await waitFor(async () => (await redis.xlen(`${target.redisPrefix}audit:stream`)) <= 1, 10_000);
    await new Promise((resolveWait) => setTimeout(resolveWait, 700));
  } finally {
    redis.disconnect();
  }
}

describe('the audit log of a full query lifecycle', () => {
  it('holds every kind of event, verifies offline, gives the officer a receipt, and holds no content', async () => {
    await refusal(hub.url, { token: `${(await tokenFor(hub.agencies['UA-NPU'], { officer: 'x' })).slice(0, -4)}AAAA` });
    const desk = await connectDevice(hub.url, hub.agencies['NCB-UA'], 'ncb.audit', { roles: ['ncb'] });
    const ua = await connectDevice(hub.url, hub.agencies['UA-NPU'], 'ua.audit');
    const pl = await connectDevice(hub.url, hub.agencies['PL-KGP'], 'pl.audit');
    const pgo = await connectDevice(hub.url, hub.agencies['UA-PGO'], 'pgo.audit', { roles: ['central-authority'] });
    const plMessages = record(pl, 'message');

    const { query, conversation, receipt } = await ua.openQuery({
      counterpart: { agency: 'PL-KGP', officer: 'pl.audit' },
      caseReference: '12026100000000777',
      ground: 'THREAT_TO_LIFE',
      statement: SECRETS.statement,
      question: SECRETS.question,
    });
    expect(receipt).toEqual({ seq: expect.any(Number), hash: expect.stringMatching(/^[0-9a-f]{64}$/) });
    await waitForCount(plMessages, 1);
    await pl.send(conversation.id, SECRETS.chat);
    const group = await ua.createConversation({
      kind: 'group',
      members: [{ agency: 'PL-KGP', officer: 'pl.audit' }],
      basis: { type: 'formal-request', reference: 'JIT/2026/1', caseReference: '12026100000000777' },
    });
    await ua.addMember(group.id, { agency: 'NCB-UA', officer: 'ncb.audit' });

    await waitFor(async () => {
      const events = (await ua.getQuery(query.id)).timeline.map((e) => e.event);
      return events.includes('REMINDER') && events.includes('ESCALATED');
    }, 10_000);
    await desk.acknowledgeQuery(query.id);
    await ua.registerFormalRequest(query.id, {
      reference: 'MLA/2026/777',
      instrument: 'MLA_REQUEST',
      centralAuthority: 'UA-PGO',
      date: '2026-11-29',
    });
    expect((await pgo.confirmFormalRequest(query.id)).status).toBe('CLOSED');
    await settled();

    const text = await exportFor('UA-NPU');
    const lines = linesOf(text);
    const entries = lines.filter(
      (line): line is { kind: 'entry' } & AuditEntry => line.kind === 'entry' && !('redacted' in line),
    );
    const types = new Set(entries.map((entry) => entry.type));
    for (const type of [
      'auth.accepted',
      'auth.refused',
      'directory.published',
      'conversation.created',
      'conversation.member-added',
      'message.relayed',
      'receipt.relayed',
      'query.OPENED',
      'query.NCB_NOTIFIED',
      'query.NCB_ACKNOWLEDGED',
      'query.ACK_OVERDUE',
      'query.ANSWERED',
      'query.REMINDER',
      'query.ESCALATED',
      'query.FILED',
      'query.CONFIRMED',
      'query.CLOSED',
    ]) {
      expect(types, type).toContain(type);
    }
    const opened = entries.find((entry) => entry.type === 'query.OPENED' && entry.query === query.id);
    // Refusals need no token: they are counted, one entry per window and kind.
    const refused = entries.filter((entry) => entry.type === 'auth.refused');
    expect(refused[0]).toMatchObject({
      agencies: ['UA-NPU'],
      data: { code: 'AUTH_SIGNATURE_INVALID', count: 1, claimedAgency: 'UA-NPU' },
    });
    expect(opened).toMatchObject({
      seq: receipt?.seq,
      hash: receipt?.hash,
      actor: { agency: 'UA-NPU', officer: 'ua.audit' },
      data: { ground: 'THREAT_TO_LIFE' },
    });
    expect(lines.some((line) => line.kind === 'checkpoint')).toBe(true);
    // The export ends on a signed head: nothing at its end can be cut unnoticed.
    expect(lines.at(-1)?.kind).toBe('checkpoint');

    const verdict = await verifyAuditExport(text, await hubKeys());
    expect(verdict).toMatchObject({ ok: true });

    // Offline, with the CLI, as an oversight body would.
    const file = join(dir, 'export.jsonl');
    const keyFile = join(dir, 'hub-keys.json');
    await writeFile(file, text);
    await writeFile(keyFile, JSON.stringify(await hubKeys()));
    const ok = await run(NCP_KEYS, ['audit', 'verify', file, '--hub-key', keyFile]);
    expect(ok.stdout).toMatch(/^OK: \d+ entries/);
    const tampered = text.replace(/"bytes":(\d+)/, (_m, n: string) => `"bytes":${Number(n) + 1}`);
    await writeFile(file, tampered);
    const failed = await run(NCP_KEYS, ['audit', 'verify', file, '--hub-key', keyFile]).catch(
      (error: { code: number; stdout: string }) => error,
    );
    expect((failed as { code: number }).code).toBe(1);
    expect((failed as { stdout: string }).stdout).toMatch(/^FAIL: line \d+, entry seq \d+: altered/);

    // No content anywhere: not in any export, not in the Redis keys of the audit log.
    const redis = new Redis(inject('redisUrl'));
    try {
      const raw = JSON.stringify([
        await redis.lrange(`${hub.redisPrefix}audit:chain`, 0, -1),
        await redis.xrange(`${hub.redisPrefix}audit:stream`, '-', '+'),
      ]);
      for (const secret of Object.values(SECRETS)) {
        const needle = secret.split(' ')[0] as string;
        expect(raw).not.toContain(needle);
        expect(text).not.toContain(needle);
        expect(await exportFor('PL-KGP')).not.toContain(needle);
      }
    } finally {
      redis.disconnect();
    }
  });
});

describe('refused authentications', () => {
  it('are counted, not recorded one by one: a flood without a token cannot grow the log', async () => {
    const redis = new Redis(inject('redisUrl'));
    try {
      await settled();
      const before = await redis.llen(`${hub.redisPrefix}audit:chain`);
      await Promise.all(Array.from({ length: 30 }, () => fetch(`${hub.url}/v1/whoami`)));
      await new Promise((resolveWait) => setTimeout(resolveWait, 800));
      await settled();
      const added = (await redis.lrange(`${hub.redisPrefix}audit:chain`, before, -1)).map(
        (raw) => JSON.parse(raw) as AuditEntry,
      );
      const refusals = added.filter((entry) => entry.type === 'auth.refused');
      expect(refusals.reduce((sum, entry) => sum + Number(entry.data.count), 0)).toBe(30);
      expect(refusals.length).toBeLessThanOrEqual(2);
      expect(refusals[0]?.data).toMatchObject({ transport: 'http', code: 'AUTH_TOKEN_MISSING', claimedAgency: null });
    } finally {
      redis.disconnect();
    }
  });
});

describe('a tampered export of the real log', () => {
  it('is caught, naming the first bad entry, for each kind of tampering', async () => {
    await connectDevice(hub.url, hub.agencies['UA-NPU'], 'ua.tamper');
    await settled();
    const text = await exportFor('UA-NPU');
    const keys = await hubKeys();
    expect(await verifyAuditExport(text, keys)).toMatchObject({ ok: true });
    const lines = text.split('\n').filter(Boolean);
    const entryAt = (seq: number) =>
      lines.findIndex((line) => JSON.parse(line).kind === 'entry' && JSON.parse(line).seq === seq);
    const fullEntry = lines.findIndex(
      (line, index) => index > 3 && !line.includes('"redacted"') && line.includes('"kind":"entry"'),
    );
    const seqOf = (index: number) => JSON.parse(lines[index] as string).seq as number;
    const join = (edited: string[]) => `${edited.join('\n')}\n`;

    // An entry that a checkpoint does not follow at once (the checkpoint timer may have fired just
    // after any entry: removing that one is a checkpoint-mismatch, named first, not a gap).
    const gone = [3, 4, 5, 6].find(
      (seq) => JSON.parse(lines[entryAt(seq) + 1] as string).kind === 'entry' && entryAt(seq + 1) > 0,
    ) as number;
    const removed = lines.filter((_, index) => index !== entryAt(gone));
    expect(await verifyAuditExport(join(removed), keys)).toMatchObject({
      ok: false,
      problem: 'missing',
      seq: gone + 1,
    });

    const altered = [...lines];
    altered[fullEntry] = (altered[fullEntry] as string).replace('"at":', '"at":1');
    expect(await verifyAuditExport(join(altered), keys)).toMatchObject({
      ok: false,
      problem: 'altered',
      seq: seqOf(fullEntry),
    });

    const reordered = [...lines];
    const [a, b] = [entryAt(2), entryAt(3)];
    [reordered[a], reordered[b]] = [reordered[b] as string, reordered[a] as string];
    expect(await verifyAuditExport(join(reordered), keys)).toMatchObject({ ok: false, problem: 'reordered' });

    const inserted = [...lines];
    inserted.splice(entryAt(3), 0, lines[entryAt(2)] as string);
    expect(await verifyAuditExport(join(inserted), keys)).toMatchObject({ ok: false, problem: 'inserted' });

    const checkpointLine = lines.findIndex((line) => JSON.parse(line).kind === 'checkpoint');
    const forged = [...lines];
    const checkpoint = JSON.parse(lines[checkpointLine] as string);
    const [header, payload] = (checkpoint.jws as string).split('.');
    forged[checkpointLine] = JSON.stringify({ ...checkpoint, jws: `${header}.${payload}.${'A'.repeat(86)}` });
    expect(await verifyAuditExport(join(forged), keys)).toMatchObject({ ok: false, problem: 'checkpoint-signature' });
  });
});

describe('auditors', () => {
  it('see only the entries that involve their own agency; others are redacted in their export, which still verifies', async () => {
    await connectDevice(hub.url, hub.agencies['UA-NPU'], 'ua.only');
    await settled();
    const headers = { authorization: `Bearer ${await auditor('PL-KGP')}` };
    let after = 0;
    const seen: AuditEntry[] = [];
    for (;;) {
      const page = (await (await fetch(`${hub.url}/v1/audit/entries?after=${after}&limit=50`, { headers })).json()) as {
        entries: AuditEntry[];
        next: number | null;
      };
      seen.push(...page.entries);
      if (page.next === null) break;
      after = page.next;
    }
    expect(seen.length).toBeGreaterThan(0);
    expect(seen.every((entry) => entry.agencies.includes('PL-KGP'))).toBe(true);
    expect(
      seen.some(
        (entry) => entry.type === 'auth.accepted' && entry.actor !== 'hub' && entry.actor.officer === 'ua.only',
      ),
    ).toBe(false);

    const text = await exportFor('PL-KGP');
    const lines = linesOf(text);
    expect(lines.some((line) => line.kind === 'entry' && 'redacted' in line)).toBe(true);
    const full = lines.filter((line) => line.kind === 'entry' && !('redacted' in line)) as AuditEntry[];
    expect(full.every((entry) => entry.agencies.includes('PL-KGP'))).toBe(true);
    expect(await verifyAuditExport(text, await hubKeys())).toMatchObject({ ok: true });

    const filtered = (await (
      await fetch(`${hub.url}/v1/audit/entries?limit=500&officer=pl.audit`, { headers })
    ).json()) as {
      entries: AuditEntry[];
    };
    expect(filtered.entries.length).toBeGreaterThan(0);
    expect(
      filtered.entries.every(
        (entry) => (entry.actor !== 'hub' && entry.actor.officer === 'pl.audit') || entry.data.officer === 'pl.audit',
      ),
    ).toBe(true);
  });

  it('is a role: anyone else is refused with ROLE_REQUIRED', async () => {
    const token = await tokenFor(hub.agencies['UA-NPU'], { officer: 'not.an.auditor' });
    for (const path of ['/v1/audit/entries', '/v1/audit/export']) {
      const response = await fetch(`${hub.url}${path}`, { headers: { authorization: `Bearer ${token}` } });
      expect(response.status).toBe(403);
      expect(((await response.json()) as { error: { code: string } }).error.code).toBe('ROLE_REQUIRED');
    }
  });
});

describe('the chain across hub restarts', () => {
  it('continues where it stopped, and the whole export still verifies', async () => {
    const first = await startTestHub({ AUDIT_CHECKPOINT_EVERY: '3', AUDIT_CHECKPOINT_SECONDS: '0.5' });
    await connectDevice(first.url, first.agencies['UA-NPU'], 'ua.before');
    await settled(first);
    await closeAllClients();
    const before = linesOf(await exportFor('UA-NPU', first)).filter((line) => line.kind === 'entry').length;
    await first.stop({ keepFiles: true });

    const second = await startTestHub(
      { AUDIT_CHECKPOINT_EVERY: '3', AUDIT_CHECKPOINT_SECONDS: '0.5' },
      { successorOf: first },
    );
    try {
      await connectDevice(second.url, second.agencies['UA-NPU'], 'ua.after');
      await settled(second);
      const text = await exportFor('UA-NPU', second);
      const entries = linesOf(text).filter((line) => line.kind === 'entry') as AuditEntry[];
      expect(entries.length).toBeGreaterThan(before);
      expect(entries.map((entry) => entry.seq)).toEqual(entries.map((_, index) => index + 1));
      expect(await verifyAuditExport(text, await hubKeys(second))).toMatchObject({ ok: true });
    } finally {
      await closeAllClients();
      await second.stop();
    }
  });
});
