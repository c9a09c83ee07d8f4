import { CompactSign, exportJWK, generateKeyPair, type JWK } from 'jose';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  AUDIT_CHECKPOINT_TYPE,
  type AuditEntry,
  type AuditEvent,
  type AuditExportLine,
  chainAuditEvent,
  GENESIS_HASH,
  hashAuditEntry,
} from '../src/audit-chain.js';
import { type AuditVerification, verifyAuditExport } from '../src/audit-verify.js';

type KeyPair = Awaited<ReturnType<typeof generateKeyPair>>;

const HUB = 'test-hub';
const KID = 'hub-key-1';
/** Entries this reader sees redacted. */
const REDACTED = new Set([3, 8, 9, 15]);
/** Entries followed by a checkpoint. */
const CHECKPOINTED = new Set([5, 12, 20]);

let hubKey: KeyPair;
let otherKey: KeyPair;
let hubKeys: { keys: JWK[] };

beforeAll(async () => {
  hubKey = await generateKeyPair('EdDSA', { extractable: true });
  otherKey = await generateKeyPair('EdDSA', { extractable: true });
  hubKeys = { keys: [{ ...(await exportJWK(hubKey.publicKey)), kid: KID, alg: 'EdDSA', use: 'sig' }] };
});

function event(seq: number): AuditEvent {
  const at = 1_700_000_000_000 + seq * 1000;
  if (seq % 4 === 0) {
    return { at, type: 'query.REMINDER', actor: 'hub', agencies: ['UA-NPU', 'PL-KGP'], query: `q-${seq}`, data: {} };
  }
  return {
    at,
    type: 'message.relayed',
    actor: { agency: 'UA-NPU', officer: 'o.petrenko', device: 'laptop-1' },
    agencies: ['UA-NPU', 'PL-KGP'],
    conversation: 'c-1',
    data: { message: `m-${seq}`, size: 100 + seq, encrypted: true, reply: null },
  };
}

/** Chains events 1..count, from the start or on from `from` (kept as they are). */
function chain(count: number, from: AuditEntry[] = []): AuditEntry[] {
  const entries = [...from];
  for (let seq = entries.length + 1; seq <= count; seq++) {
    entries.push(chainAuditEvent(event(seq), seq, entries.at(-1)?.hash ?? GENESIS_HASH));
  }
  return entries;
}

/** Recomputes the chain from the entry `from` on, as a forger who edited it would. */
function rechain(entries: AuditEntry[], from: number): AuditEntry[] {
  const result = entries.slice(0, from - 1);
  for (const entry of entries.slice(from - 1)) {
    const { hash: _hash, seq, prev: _prev, ...rest } = entry;
    result.push(chainAuditEvent(rest, seq, result.at(-1)?.hash ?? GENESIS_HASH));
  }
  return result;
}

async function checkpoint(
  entry: { seq: number; hash: string },
  key: KeyPair = hubKey,
  typ = AUDIT_CHECKPOINT_TYPE,
): Promise<AuditExportLine> {
  const at = 1_800_000_000_000 + entry.seq;
  const payload = new TextEncoder().encode(JSON.stringify({ hub: HUB, seq: entry.seq, hash: entry.hash, at }));
  const jws = await new CompactSign(payload).setProtectedHeader({ alg: 'EdDSA', kid: KID, typ }).sign(key.privateKey);
  return { kind: 'checkpoint', seq: entry.seq, hash: entry.hash, at, jws };
}

function line(entry: AuditEntry): AuditExportLine {
  return REDACTED.has(entry.seq)
    ? { kind: 'entry', seq: entry.seq, prev: entry.prev, hash: entry.hash, redacted: true }
    : { kind: 'entry', ...entry };
}

/** The export lines of `entries`, redacted and checkpointed as above. */
async function exportLines(entries: AuditEntry[]): Promise<AuditExportLine[]> {
  const lines: AuditExportLine[] = [];
  for (const entry of entries) {
    lines.push(line(entry));
    if (CHECKPOINTED.has(entry.seq)) lines.push(await checkpoint(entry));
  }
  return lines;
}

function jsonl(lines: unknown[]): string {
  return `${lines.map((value) => (typeof value === 'string' ? value : JSON.stringify(value))).join('\n')}\n`;
}

/** Index in `lines` of the entry line of `seq` (the first one). */
function at(lines: AuditExportLine[], seq: number): number {
  const index = lines.findIndex((l) => l.kind === 'entry' && l.seq === seq);
  if (index < 0) throw new Error(`no entry ${seq}`);
  return index;
}

/** Index in `lines` of the checkpoint line of `seq`. */
function checkpointAt(lines: AuditExportLine[], seq: number): number {
  return lines.findIndex((l) => l.kind === 'checkpoint' && l.seq === seq);
}

async function verify(lines: unknown[]): Promise<AuditVerification> {
  return verifyAuditExport(jsonl(lines), hubKeys);
}

let entries: AuditEntry[];
let lines: AuditExportLine[];

beforeAll(async () => {
  entries = chain(20);
  lines = await exportLines(entries);
});

describe('verifyAuditExport: an untouched export', () => {
  it('passes, counting entries, redacted entries and checkpoints', async () => {
    expect(lines).toHaveLength(23);
    expect(await verify(lines)).toEqual({
      ok: true,
      entries: 20,
      redacted: 4,
      checkpoints: 3,
      head: { seq: 20, hash: entries[19]?.hash },
    });
  });

  it('ignores empty lines and accepts CRLF, and a key set of several keys', async () => {
    const text = `\n${lines.map((l) => JSON.stringify(l)).join('\r\n\r\n')}\r\n\n`;
    const keys = { keys: [{ ...(await exportJWK(otherKey.publicKey)), kid: 'old' }, ...hubKeys.keys] };
    expect(await verifyAuditExport(text, keys)).toMatchObject({ ok: true, entries: 20, checkpoints: 3 });
  });

  it('passes an empty export with no head', async () => {
    expect(await verifyAuditExport('', hubKeys)).toEqual({
      ok: true,
      entries: 0,
      redacted: 0,
      checkpoints: 0,
      head: null,
    });
  });

  it('refuses a private key among the hub keys', async () => {
    const keys = { keys: [{ ...(await exportJWK(hubKey.privateKey)), kid: KID }] };
    await expect(verifyAuditExport(jsonl(lines), keys)).rejects.toThrow(TypeError);
  });
});

describe('verifyAuditExport: tampering', () => {
  it('names a removed entry missing, at the line after the gap', async () => {
    const tampered = lines.filter((_, i) => i !== at(lines, 7));
    expect(await verify(tampered)).toEqual({
      ok: false,
      line: at(tampered, 8) + 1,
      seq: 8,
      problem: 'missing',
      message: expect.stringContaining('entry 7 is missing (removed): entry 8 follows entry 6'),
    });
  });

  it('names the range of several removed entries, and a removed first entry', async () => {
    const tampered = lines.filter((_, i) => i !== at(lines, 10) && i !== at(lines, 11));
    expect(await verify(tampered)).toMatchObject({
      line: at(tampered, 12) + 1,
      seq: 12,
      problem: 'missing',
      message: expect.stringContaining('entries 10..11 are missing (removed)'),
    });
    expect(await verify(lines.slice(1))).toMatchObject({
      line: 1,
      seq: 2,
      problem: 'missing',
      message: expect.stringContaining('entry 1 is missing (removed): the export starts at entry 2'),
    });
  });

  it('names an entry whose field was changed altered, at its line', async () => {
    const tampered = structuredClone(lines);
    const target = tampered[at(tampered, 10)] as AuditEntry;
    expect(target.data.size).toBe(110);
    target.data.size = 9;
    expect(await verify(tampered)).toEqual({
      ok: false,
      line: at(lines, 10) + 1,
      seq: 10,
      problem: 'altered',
      message: expect.stringContaining('entry 10 was altered'),
    });
  });

  it('names a field added to an entry altered', async () => {
    const tampered = structuredClone(lines);
    (tampered[at(tampered, 2)] as unknown as Record<string, unknown>).note = 'added';
    expect(await verify(tampered)).toMatchObject({ line: at(lines, 2) + 1, seq: 2, problem: 'altered' });
  });

  it('names a redacted entry whose hash was changed altered, at its line when the next entry is full', async () => {
    const tampered = structuredClone(lines);
    const target = tampered[at(tampered, 3)] as { hash: string };
    target.hash = `${'f'.repeat(8)}${target.hash.slice(8)}`;
    expect(await verify(tampered)).toEqual({
      ok: false,
      line: at(lines, 3) + 1,
      seq: 3,
      problem: 'altered',
      message: expect.stringContaining('entry 3 was altered (its hash was changed)'),
    });
  });

  it('names the next, redacted, entry altered when both are redacted, naming both', async () => {
    const tampered = structuredClone(lines);
    const target = tampered[at(tampered, 8)] as { hash: string };
    target.hash = `${'0'.repeat(8)}${target.hash.slice(8)}`;
    expect(await verify(tampered)).toEqual({
      ok: false,
      line: at(lines, 9) + 1,
      seq: 9,
      problem: 'altered',
      message: expect.stringContaining('the prev of entry 9 or the hash of entry 8 was altered'),
    });
  });

  it('names a full entry rewritten with a recomputed hash altered, at its line', async () => {
    const tampered = structuredClone(lines);
    const index = at(tampered, 10);
    const { kind: _kind, ...entry } = tampered[index] as { kind: 'entry' } & AuditEntry;
    entry.data.size = 9;
    tampered[index] = { kind: 'entry', ...entry, hash: hashAuditEntry(entry) };
    expect(await verify(tampered)).toMatchObject({
      line: index + 1,
      seq: 10,
      problem: 'altered',
      message: expect.stringContaining('entry 10 was altered (rewritten with a recomputed hash)'),
    });
  });

  it('names a first entry that does not link to the genesis hash altered', async () => {
    const tampered = structuredClone(lines);
    tampered[0] = { kind: 'entry', ...chainAuditEvent(event(1), 1, 'a'.repeat(64)) };
    expect(await verify(tampered)).toMatchObject({
      line: 1,
      seq: 1,
      problem: 'altered',
      message: expect.stringContaining('genesis'),
    });
  });

  it('names two swapped entries reordered, at the first of them', async () => {
    const tampered = [...lines];
    const [i, j] = [at(lines, 10), at(lines, 11)];
    [tampered[i], tampered[j]] = [lines[j] as AuditExportLine, lines[i] as AuditExportLine];
    expect(await verify(tampered)).toEqual({
      ok: false,
      line: i + 1,
      seq: 11,
      problem: 'reordered',
      message: expect.stringContaining('entry 11 comes before entry 10'),
    });
  });

  it('names an entry moved further down reordered', async () => {
    const tampered = lines.filter((_, i) => i !== at(lines, 14));
    tampered.splice(at(tampered, 17), 0, lines[at(lines, 14)] as AuditExportLine);
    expect(await verify(tampered)).toMatchObject({ line: at(lines, 14) + 1, seq: 15, problem: 'reordered' });
  });

  describe('a forged entry, correctly hashed, duplicating a seq', () => {
    const forged = () => {
      const original = entries[10] as AuditEntry;
      const { hash: _hash, seq, prev, ...rest } = original;
      return chainAuditEvent({ ...rest, data: { ...rest.data, size: 1 } }, seq, prev);
    };

    it('is inserted, at its line, after the real entry', async () => {
      const tampered = [...lines];
      const index = at(lines, 11) + 1;
      tampered.splice(index, 0, { kind: 'entry', ...forged() });
      expect(await verify(tampered)).toEqual({
        ok: false,
        line: index + 1,
        seq: 11,
        problem: 'inserted',
        message: expect.stringContaining(`entry 11 at line ${index + 1} is an extra entry`),
      });
    });

    it('is inserted, at its line, before the real entry (which the next entry links to)', async () => {
      const tampered = [...lines];
      const index = at(lines, 11);
      tampered.splice(index, 0, { kind: 'entry', ...forged() });
      expect(await verify(tampered)).toEqual({
        ok: false,
        line: index + 1,
        seq: 11,
        problem: 'inserted',
        message: expect.stringContaining(`entry 11 at line ${index + 1} is an extra entry: entry 11 comes again`),
      });
    });

    it('is inserted, at its line, before the real entry when it does not link', async () => {
      const tampered = [...lines];
      const index = at(lines, 11);
      const unlinked = chainAuditEvent(event(11), 11, 'b'.repeat(64));
      tampered.splice(index, 0, { kind: 'entry', ...unlinked });
      expect(await verify(tampered)).toMatchObject({
        line: index + 1,
        seq: 11,
        problem: 'inserted',
        message: expect.stringContaining('it does not link to entry 10, and entry 11 at line'),
      });
    });

    it('is inserted when it duplicates an entry further back', async () => {
      const tampered = [...lines];
      const index = at(lines, 16);
      tampered.splice(index, 0, { kind: 'entry', ...forged() });
      expect(await verify(tampered)).toMatchObject({
        line: index + 1,
        seq: 11,
        problem: 'inserted',
        message: expect.stringContaining(`entry 11 is already at line ${at(lines, 11) + 1}`),
      });
    });
  });

  it('names a chain recomputed after an edit checkpoint-mismatch, with the range of the edit', async () => {
    const edited = structuredClone(entries);
    (edited[13] as AuditEntry).data.size = 1;
    const rebuilt = rechain(edited, 14);
    const tampered = (await exportLines(rebuilt)).map((l) =>
      l.kind === 'checkpoint' ? (lines[checkpointAt(lines, l.seq)] as AuditExportLine) : l,
    );
    expect(await verify(tampered)).toEqual({
      ok: false,
      line: checkpointAt(lines, 20) + 1,
      seq: 20,
      problem: 'checkpoint-mismatch',
      message: expect.stringContaining('the chain was recomputed after an edit in entries 13..20'),
    });
  });

  it('names a chain recomputed from the start checkpoint-mismatch at the first checkpoint', async () => {
    const edited = structuredClone(entries);
    (edited[1] as AuditEntry).data.size = 1;
    const tampered = (await exportLines(rechain(edited, 2))).map((l) =>
      l.kind === 'checkpoint' ? (lines[checkpointAt(lines, l.seq)] as AuditExportLine) : l,
    );
    expect(await verify(tampered)).toMatchObject({
      line: checkpointAt(lines, 5) + 1,
      seq: 5,
      problem: 'checkpoint-mismatch',
      message: expect.stringContaining('edit in entries 1..5'),
    });
  });

  it('names a checkpoint signed with another key checkpoint-signature', async () => {
    const tampered = [...lines];
    const index = checkpointAt(lines, 12);
    tampered[index] = await checkpoint(entries[11] as AuditEntry, otherKey);
    expect(await verify(tampered)).toEqual({
      ok: false,
      line: index + 1,
      seq: 12,
      problem: 'checkpoint-signature',
      message: 'the checkpoint signature does not verify with the hub keys',
    });
  });

  it('names a checkpoint of another typ, or not a JWS, checkpoint-signature', async () => {
    const index = checkpointAt(lines, 5);
    const wrongTyp = [...lines];
    wrongTyp[index] = await checkpoint(entries[4] as AuditEntry, hubKey, 'JWT');
    expect(await verify(wrongTyp)).toMatchObject({
      line: index + 1,
      problem: 'checkpoint-signature',
      message: expect.stringContaining('typ'),
    });
    const notJws = structuredClone(lines);
    (notJws[index] as { jws: string }).jws = 'not.a.jws';
    expect(await verify(notJws)).toMatchObject({ line: index + 1, problem: 'checkpoint-signature' });
  });

  it('names a checkpoint whose seq was changed checkpoint-mismatch', async () => {
    const tampered = structuredClone(lines);
    const index = checkpointAt(lines, 12);
    (tampered[index] as { seq: number }).seq = 11;
    expect(await verify(tampered)).toEqual({
      ok: false,
      line: index + 1,
      seq: 12,
      problem: 'checkpoint-mismatch',
      message: 'the checkpoint line says seq 11, but the hub signed seq 12',
    });
  });

  it('names a genuine checkpoint after the wrong entry checkpoint-mismatch', async () => {
    const tampered = [...lines];
    const index = checkpointAt(lines, 12);
    const [moved] = tampered.splice(index, 1) as [AuditExportLine];
    tampered.splice(at(tampered, 13) + 1, 0, moved);
    expect(await verify(tampered)).toMatchObject({
      line: at(tampered, 13) + 2,
      seq: 13,
      problem: 'checkpoint-mismatch',
      message: 'the checkpoint signs entry 12 but follows entry 13',
    });
    expect(await verify([lines[checkpointAt(lines, 5)], ...lines])).toMatchObject({
      line: 1,
      problem: 'checkpoint-mismatch',
    });
  });

  it('names a line that is not JSON, or not an entry, malformed', async () => {
    const notJson: unknown[] = [...lines];
    notJson.splice(4, 0, '{"kind":"entry",');
    expect(await verify(notJson)).toEqual({
      ok: false,
      line: 5,
      problem: 'malformed',
      message: 'the line is not valid JSON',
    });

    const upper = structuredClone(lines);
    const target = upper[at(upper, 6)] as { prev: string };
    target.prev = target.prev.toUpperCase();
    expect(await verify(upper)).toMatchObject({
      line: at(lines, 6) + 1,
      seq: 6,
      problem: 'malformed',
      message: expect.stringContaining('prev: must be 64 lowercase hex digits'),
    });

    const extraRedacted = structuredClone(lines);
    (extraRedacted[at(extraRedacted, 3)] as unknown as Record<string, unknown>).type = 'message.relayed';
    expect(await verify(extraRedacted)).toMatchObject({ line: at(lines, 3) + 1, problem: 'malformed' });

    for (const bad of ['[1]', '{"kind":"other","seq":1}', '{"kind":"entry","seq":0}']) {
      expect(await verify([lines[0], bad]), bad).toMatchObject({ ok: false, line: 2, problem: 'malformed' });
    }
  });

  it('stops at the first problem', async () => {
    const tampered = structuredClone(lines);
    (tampered[at(tampered, 17)] as AuditEntry).data.size = 0;
    tampered.splice(at(tampered, 4), 1);
    expect(await verify(tampered)).toMatchObject({ seq: 5, problem: 'missing' });
  });
});
