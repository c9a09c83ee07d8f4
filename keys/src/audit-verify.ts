/**
 * Verification of an audit export (JSON Lines of {@link AuditExportLine}): the hash chain
 * and the hub's signed checkpoints, line by line, stopping at the first problem and naming
 * it. Browser-safe: entries are hashed with WebCrypto ({@link digestAuditEntry}, over the same
 * canonical bytes as the hub's chainer), signatures checked with jose; nothing of `node:`, so
 * the same function runs in `ncp-keys audit verify`, in Node applications and in browsers
 * (`@ncp-hub/keys/audit`).
 *
 * @packageDocumentation
 */
import { compactVerify, createLocalJWKSet, type JWK } from 'jose';
import { z } from 'zod';
import {
  AUDIT_CHECKPOINT_TYPE,
  AUDIT_EVENT_TYPES,
  type AuditEntry,
  digestAuditEntry,
  GENESIS_HASH,
} from './audit-entry.js';
import { classifyJoseError } from './jose-errors.js';

/**
 * What is wrong with an export, at the first line where something is:
 *
 * - `malformed`: not JSON, or not the shape of an entry, a redacted entry or a checkpoint
 *   (or a checkpoint whose signed payload is not `{ hub, seq, hash, at }`);
 * - `missing`: entries were removed (a gap in `seq` that no later line fills);
 * - `altered`: an entry's content does not match its hash, or a link of the chain is broken
 *   where no entry was added;
 * - `reordered`: entries are out of order (a gap in `seq` filled by a later line);
 * - `inserted`: an extra entry (a `seq` seen twice);
 * - `checkpoint-signature`: a checkpoint's JWS does not verify with the hub keys, or its
 *   `typ` is not {@link AUDIT_CHECKPOINT_TYPE};
 * - `checkpoint-mismatch`: a checkpoint does not sign the entry just before it (or its line
 *   does not say what its JWS signs): the chain was recomputed after an edit.
 */
export type AuditProblem =
  | 'malformed'
  | 'missing'
  | 'altered'
  | 'reordered'
  | 'inserted'
  | 'checkpoint-signature'
  | 'checkpoint-mismatch';

/** The result of {@link verifyAuditExport}. */
export type AuditVerification =
  | {
      ok: true;
      /** Entry lines, redacted ones included. */
      entries: number;
      /** Redacted entry lines. */
      redacted: number;
      /** Checkpoint lines, all verified. */
      checkpoints: number;
      /** The last entry, or `null` for an export without entries. */
      head: { seq: number; hash: string } | null;
    }
  | {
      ok: false;
      /** 1-based line of the file. */
      line: number;
      /** The entry concerned (for a checkpoint: the entry it follows), when known. */
      seq?: number;
      problem: AuditProblem;
      message: string;
    };

/** The hub's public keys, as served by `GET /v1/hub-keys`. */
export interface HubKeySet {
  keys: JWK[];
}

// ---------------------------------------------------------------------------------------------
// Line shapes

const hex64 = z.string().regex(/^[0-9a-f]{64}$/, 'must be 64 lowercase hex digits');
const seqSchema = z.number().int().positive();
const nonEmpty = z.string().min(1);

/**
 * A full entry. Unknown fields are not refused here: they are part of what the entry's hash
 * covers, so one added to an entry makes it `altered`.
 */
const fullEntrySchema = z.object({
  kind: z.literal('entry'),
  seq: seqSchema,
  prev: hex64,
  hash: hex64,
  at: z.number(),
  type: z.enum(AUDIT_EVENT_TYPES),
  actor: z.union([z.literal('hub'), z.object({ agency: nonEmpty, officer: nonEmpty, device: nonEmpty.optional() })]),
  agencies: z.array(nonEmpty),
  query: nonEmpty.optional(),
  conversation: nonEmpty.optional(),
  data: z.record(z.string(), z.union([z.string(), z.number(), z.boolean(), z.null()])),
});

/** A redacted entry: nothing beyond what it must carry, since no hash covers it here. */
const redactedEntrySchema = z.strictObject({
  kind: z.literal('entry'),
  seq: seqSchema,
  prev: hex64,
  hash: hex64,
  redacted: z.literal(true),
});

const checkpointSchema = z.strictObject({
  kind: z.literal('checkpoint'),
  seq: seqSchema,
  hash: hex64,
  at: z.number(),
  jws: nonEmpty,
});

const checkpointPayloadSchema = z.object({ hub: nonEmpty, seq: seqSchema, hash: hex64, at: z.number() });

interface EntryLine {
  kind: 'entry';
  line: number;
  seq: number;
  prev: string;
  hash: string;
  redacted: boolean;
  /** The entry as read, `kind` removed: what {@link digestAuditEntry} hashes. */
  entry: Record<string, unknown>;
}

interface CheckpointLine {
  kind: 'checkpoint';
  line: number;
  seq: number;
  hash: string;
  at: number;
  jws: string;
}

interface MalformedLine {
  kind: 'malformed';
  line: number;
  seq?: number;
  message: string;
}

type ParsedLine = EntryLine | CheckpointLine | MalformedLine;

function issueText(error: z.ZodError): string {
  const issue = error.issues[0];
  if (!issue) return 'invalid';
  return issue.path.length > 0 ? `${issue.path.join('.')}: ${issue.message}` : issue.message;
}

function parseLine(text: string, line: number): ParsedLine {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return { kind: 'malformed', line, message: 'the line is not valid JSON' };
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    return { kind: 'malformed', line, message: 'the line is not a JSON object' };
  }
  const raw = value as Record<string, unknown>;
  const seq = seqSchema.safeParse(raw.seq).success ? (raw.seq as number) : undefined;
  const malformed = (what: string, error: z.ZodError): MalformedLine => ({
    kind: 'malformed',
    line,
    ...(seq === undefined ? {} : { seq }),
    message: `not a valid ${what}: ${issueText(error)}`,
  });

  if (raw.kind === 'checkpoint') {
    const parsed = checkpointSchema.safeParse(raw);
    if (!parsed.success) return malformed('checkpoint', parsed.error);
    const { seq: cpSeq, hash, at, jws } = parsed.data;
    return { kind: 'checkpoint', line, seq: cpSeq, hash, at, jws };
  }
  if (raw.kind === 'entry') {
    const redacted = raw.redacted === true;
    const parsed = (redacted ? redactedEntrySchema : fullEntrySchema).safeParse(raw);
    if (!parsed.success) return malformed(redacted ? 'redacted entry' : 'entry', parsed.error);
    const { kind: _kind, ...entry } = raw;
    const { seq: entrySeq, prev, hash } = parsed.data;
    return { kind: 'entry', line, seq: entrySeq, prev, hash, redacted, entry };
  }
  return {
    kind: 'malformed',
    line,
    ...(seq === undefined ? {} : { seq }),
    message: 'the line is neither an entry nor a checkpoint ("kind")',
  };
}

function parseLines(text: string): ParsedLine[] {
  const parsed: ParsedLine[] = [];
  text.split('\n').forEach((raw, index) => {
    const line = raw.endsWith('\r') ? raw.slice(0, -1) : raw;
    if (line.trim() !== '') parsed.push(parseLine(line, index + 1));
  });
  return parsed;
}

// ---------------------------------------------------------------------------------------------
// Checkpoint signatures

/** What the verifier says of each jose failure of a checkpoint's signature. */
function signatureFailure(error: unknown): string {
  switch (classifyJoseError(error).kind) {
    case 'signature-invalid':
      return 'the checkpoint signature does not verify with the hub keys';
    case 'no-matching-key':
      return 'no hub key matches the checkpoint (kid)';
    case 'several-matching-keys':
      return 'several hub keys match the checkpoint (kid)';
    case 'alg-not-allowed':
      return 'the checkpoint alg is not EdDSA';
    case 'malformed':
      return 'the checkpoint is not a valid compact JWS';
    default:
      return 'the checkpoint could not be verified with the hub keys';
  }
}

type Verified =
  | { ok: true; payload: z.infer<typeof checkpointPayloadSchema> }
  | { ok: false; problem: 'checkpoint-signature' | 'malformed'; message: string };

async function verifyCheckpointJws(jws: string, keySet: ReturnType<typeof createLocalJWKSet>): Promise<Verified> {
  let payload: Uint8Array;
  try {
    const verified = await compactVerify(jws, keySet, { algorithms: ['EdDSA'] });
    if (verified.protectedHeader.typ !== AUDIT_CHECKPOINT_TYPE) {
      return {
        ok: false,
        problem: 'checkpoint-signature',
        message: `the checkpoint typ is not ${AUDIT_CHECKPOINT_TYPE}`,
      };
    }
    payload = verified.payload;
  } catch (error) {
    return { ok: false, problem: 'checkpoint-signature', message: signatureFailure(error) };
  }
  let claims: unknown;
  try {
    claims = JSON.parse(new TextDecoder().decode(payload));
  } catch {
    claims = undefined;
  }
  const parsed = checkpointPayloadSchema.safeParse(claims);
  if (!parsed.success) {
    // Signed by the hub, yet not a checkpoint.
    const message = `the signed checkpoint payload is not { hub, seq, hash, at }: ${issueText(parsed.error)}`;
    return { ok: false, problem: 'malformed', message };
  }
  return { ok: true, payload: parsed.data };
}

// ---------------------------------------------------------------------------------------------
// The walk

function short(hash: string): string {
  return `${hash.slice(0, 12)}…`;
}

function range(from: number, to: number): string {
  return from === to ? `entry ${from} is` : `entries ${from}..${to} are`;
}

/**
 * Verifies an audit export (JSON Lines of {@link AuditExportLine}: entries in chain order,
 * each checkpoint right after the entry it signs; empty lines ignored) against the hub's
 * public keys, and stops at the first problem. The export must start at entry 1.
 *
 * The walk keeps `expected` (the previous entry's `seq` + 1; 1 at the start) and `prevHash`
 * (the previous entry's `hash`; {@link GENESIS_HASH} at the start). For each **entry line**,
 * in this order:
 *
 * 1. not JSON, or not the shape of a full entry, a redacted entry (`redacted: true`, and
 *    nothing but `kind seq prev hash redacted`) or a checkpoint → `malformed`;
 * 2. `seq > expected`: if an entry with a `seq` from `expected` to `seq - 1` comes on a later
 *    line → `reordered`, else → `missing` (those entries were removed);
 * 3. `seq < expected`: a `seq` already seen → `inserted`, reported at this line, except for
 *    two adjacent entries of the same `seq` where the next entry links to this one and not
 *    to the first: then the first is the extra one, and its line is reported. (A `seq` not
 *    seen yet is `reordered`; it cannot happen after rule 2, which stops at any gap.)
 * 4. a full entry whose recomputed {@link digestAuditEntry} (of the line without `kind`)
 *    differs from its `hash` → `altered` (so an edited entry is named here, before its
 *    link is checked). A redacted entry's `hash` is taken as given.
 * 5. `prev !== prevHash` (the link to the previous entry is broken):
 *    - if the next entry line has the same `seq` and links to `prevHash` → `inserted` at this
 *      line (an extra entry placed before the real one);
 *    - else, for entry 1 → `altered` at this line (its `prev` is not the genesis hash);
 *    - else, if this entry is full (its `prev` is covered by its verified hash) → `altered`
 *      at the **previous** entry: its stored hash is not the one this entry was chained to
 *      (a redacted entry's hash changed, or a full one rewritten with a recomputed hash);
 *    - else (this entry is redacted, its `prev` covered by nothing here) → `altered` at this
 *      line; the message says that this `prev` or the previous entry's hash was changed.
 *
 * For each **checkpoint line**: not the checkpoint shape → `malformed`; the JWS must verify
 * with `hubKeys` (alg EdDSA only, `typ` exactly {@link AUDIT_CHECKPOINT_TYPE}), else
 * `checkpoint-signature`; a signed payload that is not `{ hub, seq, hash, at }` →
 * `malformed`; the line's `seq`, `hash` and `at` must equal the payload's, the payload's `seq`
 * and `hash` those of the last entry line before it (and there must be one), else
 * `checkpoint-mismatch` — for a hash that differs, the message names the entries the edit
 * must be in: after the previous checkpoint, up to this one.
 *
 * What it cannot see: entries after the last checkpoint are signed by nothing, so their
 * removal from the end, or an edit there with the chain recomputed, goes unnoticed; and a
 * redacted entry's content is not checked, only its place in the chain.
 *
 * Throws a `TypeError` when `hubKeys` is not a key set of public keys.
 *
 * @example
 * ```ts
 * const keys = await (await fetch(`${hub}/v1/hub-keys`)).json();
 * const result = await verifyAuditExport(await readFile('audit.jsonl', 'utf8'), keys);
 * if (!result.ok) console.error(`line ${result.line}: ${result.problem}: ${result.message}`);
 * ```
 */
export async function verifyAuditExport(text: string, hubKeys: HubKeySet): Promise<AuditVerification> {
  if (typeof hubKeys !== 'object' || hubKeys === null || !Array.isArray(hubKeys.keys)) {
    throw new TypeError('hub keys must be a key set { "keys": [...] }');
  }
  if (hubKeys.keys.some((key) => typeof key !== 'object' || key === null || 'd' in key)) {
    throw new TypeError('hub keys must be public keys (a key has "d")');
  }
  const keySet = createLocalJWKSet({ keys: hubKeys.keys });
  const lines = parseLines(text);

  const fail = (line: number, seq: number | undefined, problem: AuditProblem, message: string): AuditVerification => ({
    ok: false,
    line,
    ...(seq === undefined ? {} : { seq }),
    problem,
    message,
  });
  /** The next entry line after index `i`, skipping checkpoints; none past a malformed line. */
  const nextEntry = (i: number): EntryLine | undefined => {
    for (const item of lines.slice(i + 1)) {
      if (item.kind === 'entry') return item;
      if (item.kind === 'malformed') return undefined;
    }
    return undefined;
  };

  let previous: EntryLine | undefined;
  /** seq of the last checkpoint that matched; 0 before the first. */
  let checkpointed = 0;
  const seen = new Map<number, number>();
  let redacted = 0;
  let checkpoints = 0;

  for (const [i, item] of lines.entries()) {
    if (item.kind === 'malformed') return fail(item.line, item.seq, 'malformed', item.message);

    if (item.kind === 'checkpoint') {
      const after = previous?.seq;
      const verified = await verifyCheckpointJws(item.jws, keySet);
      if (!verified.ok) return fail(item.line, after, verified.problem, verified.message);
      const signed = verified.payload;
      for (const field of ['seq', 'hash', 'at'] as const) {
        if (item[field] !== signed[field]) {
          return fail(
            item.line,
            after,
            'checkpoint-mismatch',
            `the checkpoint line says ${field} ${item[field]}, but the hub signed ${field} ${signed[field]}`,
          );
        }
      }
      if (!previous) {
        return fail(
          item.line,
          undefined,
          'checkpoint-mismatch',
          `a checkpoint of entry ${signed.seq} before any entry`,
        );
      }
      if (signed.seq !== previous.seq) {
        return fail(
          item.line,
          previous.seq,
          'checkpoint-mismatch',
          `the checkpoint signs entry ${signed.seq} but follows entry ${previous.seq}`,
        );
      }
      if (signed.hash !== previous.hash) {
        return fail(
          item.line,
          previous.seq,
          'checkpoint-mismatch',
          `entry ${previous.seq} has hash ${short(previous.hash)} but the hub signed ${short(signed.hash)}: ` +
            `the chain was recomputed after an edit in entries ${checkpointed + 1}..${previous.seq}`,
        );
      }
      checkpointed = previous.seq;
      checkpoints += 1;
      continue;
    }

    const entry = item;
    const expected = (previous?.seq ?? 0) + 1;
    const prevHash = previous?.hash ?? GENESIS_HASH;

    // Rule 2: a gap.
    if (entry.seq > expected) {
      const later = lines
        .slice(i + 1)
        .find((other): other is EntryLine => other.kind === 'entry' && other.seq >= expected && other.seq < entry.seq);
      if (later) {
        return fail(
          entry.line,
          entry.seq,
          'reordered',
          `entry ${entry.seq} comes before entry ${later.seq} (line ${later.line}): entries are out of order`,
        );
      }
      const where = previous
        ? `entry ${entry.seq} follows entry ${previous.seq}`
        : `the export starts at entry ${entry.seq}`;
      return fail(entry.line, entry.seq, 'missing', `${range(expected, entry.seq - 1)} missing (removed): ${where}`);
    }

    // Rule 3: a seq seen before.
    if (entry.seq < expected) {
      const first = seen.get(entry.seq);
      if (first === undefined) {
        return fail(
          entry.line,
          entry.seq,
          'reordered',
          `entry ${entry.seq} comes after entry ${expected - 1}: entries are out of order`,
        );
      }
      if (previous && previous.seq === entry.seq) {
        const next = nextEntry(i);
        if (next && next.prev === entry.hash && next.prev !== previous.hash) {
          return fail(
            previous.line,
            entry.seq,
            'inserted',
            `entry ${entry.seq} at line ${previous.line} is an extra entry: entry ${entry.seq} comes again at line ` +
              `${entry.line}, and entry ${next.seq} (line ${next.line}) links to that one`,
          );
        }
      }
      return fail(
        entry.line,
        entry.seq,
        'inserted',
        `entry ${entry.seq} at line ${entry.line} is an extra entry: entry ${entry.seq} is already at line ${first}`,
      );
    }

    // Rule 4: the content of a full entry against its hash.
    if (!entry.redacted && (await digestAuditEntry(entry.entry as unknown as AuditEntry)) !== entry.hash) {
      return fail(
        entry.line,
        entry.seq,
        'altered',
        `entry ${entry.seq} was altered: its content does not match its hash`,
      );
    }

    // Rule 5: the link to the previous entry.
    if (entry.prev !== prevHash) {
      const next = nextEntry(i);
      if (next && next.seq === entry.seq && next.prev === prevHash) {
        const to = previous ? `entry ${previous.seq}` : 'the start of the chain';
        return fail(
          entry.line,
          entry.seq,
          'inserted',
          `entry ${entry.seq} at line ${entry.line} is an extra entry: it does not link to ${to}, and entry ` +
            `${next.seq} at line ${next.line} does`,
        );
      }
      if (!previous) {
        return fail(entry.line, entry.seq, 'altered', `entry ${entry.seq} does not link to the genesis hash`);
      }
      const link = `entry ${entry.seq} (line ${entry.line}) links to ${short(entry.prev)}, but entry ${previous.seq} (line ${previous.line}) has hash ${short(prevHash)}`;
      if (!entry.redacted) {
        const how = previous.redacted ? 'its hash was changed' : 'rewritten with a recomputed hash';
        return fail(previous.line, previous.seq, 'altered', `entry ${previous.seq} was altered (${how}): ${link}`);
      }
      return fail(
        entry.line,
        entry.seq,
        'altered',
        `the prev of entry ${entry.seq} or the hash of entry ${previous.seq} was altered: ${link}`,
      );
    }

    seen.set(entry.seq, entry.line);
    if (entry.redacted) redacted += 1;
    previous = entry;
  }

  return {
    ok: true,
    entries: seen.size,
    redacted,
    checkpoints,
    head: previous ? { seq: previous.seq, hash: previous.hash } : null,
  };
}
