import canonicalize from 'canonicalize';

/**
 * The hub's audit log: a hash chain of metadata events. Each entry holds the hash of the one
 * before, so an entry removed, altered, reordered or inserted breaks the chain; the hub signs
 * checkpoints of the chain head with its own key, so a chain rebuilt from the altered point
 * on no longer matches them. Content never enters the log: only ids, sizes, codes and times.
 *
 * Browser-safe: only `canonicalize`, `TextEncoder` and WebCrypto, nothing of `node:`; the
 * verifier (audit-verify.ts) builds on this module, the hub's chainer on audit-chain.ts.
 */

/** What an audit entry records. */
export const AUDIT_EVENT_TYPES = [
  'auth.accepted',
  'auth.refused',
  'directory.published',
  'directory.withdrawn',
  'conversation.created',
  'conversation.member-added',
  'conversation.member-removed',
  'message.relayed',
  'receipt.relayed',
  'query.OPENED',
  'query.NCB_NOTIFIED',
  'query.NCB_ACKNOWLEDGED',
  'query.ACK_OVERDUE',
  'query.ANSWERED',
  'query.REMINDER',
  'query.OVERDUE',
  'query.ESCALATED',
  'query.FILED',
  'query.CONFIRMED',
  'query.CLOSED',
  'query.WITHDRAWN',
] as const;
export type AuditEventType = (typeof AUDIT_EVENT_TYPES)[number];

/** Who did it: an officer (with the device, when there was one), or the hub itself. */
export type AuditActor = { agency: string; officer: string; device?: string } | 'hub';

/** An event as the hub records it, before it takes its place in the chain. */
export interface AuditEvent {
  /** Hub clock, ms. */
  at: number;
  type: AuditEventType;
  actor: AuditActor;
  /** Every agency the event involves: whose auditors may read it. */
  agencies: string[];
  query?: string;
  conversation?: string;
  /** Ids, sizes, codes: never content, never a token or a key. */
  data: Record<string, string | number | boolean | null>;
}

/** An entry of the chain. */
export interface AuditEntry extends AuditEvent {
  /** 1, 2, 3 ... without gaps. */
  seq: number;
  /** `hash` of the entry before; 64 zeros for the first. */
  prev: string;
  /** SHA-256, hex, of the RFC 8785 canonical JSON of the entry without `hash`. */
  hash: string;
}

/** An entry whose content is withheld from this reader (it involves other agencies only). */
export interface RedactedAuditEntry {
  seq: number;
  prev: string;
  hash: string;
  redacted: true;
}

/** A checkpoint: the hub's signature (compact JWS, EdDSA) over the chain head. */
export interface AuditCheckpoint {
  seq: number;
  hash: string;
  at: number;
  /** Payload: `{ "hub": <hub id>, "seq", "hash", "at" }`; header `typ` is {@link AUDIT_CHECKPOINT_TYPE}. */
  jws: string;
}

/** `typ` of a checkpoint JWS. */
export const AUDIT_CHECKPOINT_TYPE = 'ncp-audit-checkpoint+jws';

/** `prev` of the first entry. */
export const GENESIS_HASH = '0'.repeat(64);

/**
 * One line of an export (JSON Lines): an entry (full or redacted) or a checkpoint, in chain
 * order, each checkpoint right after the entry whose `seq` it signs.
 */
export type AuditExportLine =
  | ({ kind: 'entry' } & AuditEntry)
  | ({ kind: 'entry' } & RedactedAuditEntry)
  | ({ kind: 'checkpoint' } & AuditCheckpoint);

/**
 * What an entry's hash covers: the UTF-8 of the RFC 8785 canonical JSON of the entry without
 * `hash`. The one canonicalisation of the log: the hub's chainer hashes these bytes with
 * Node's `crypto` (`hashAuditEntry`, audit-chain.ts), the verifier with WebCrypto
 * ({@link digestAuditEntry}), so the two cannot drift.
 */
export function auditEntryBytes(entry: Omit<AuditEntry, 'hash'> | AuditEntry): Uint8Array {
  const { hash: _hash, ...rest } = entry as AuditEntry;
  const canonical = canonicalize(rest);
  if (canonical === undefined) throw new TypeError('audit entry cannot be canonicalised');
  return new TextEncoder().encode(canonical);
}

/** Lower-case hex of bytes. */
function hexOfBytes(bytes: Uint8Array): string {
  return Array.from(bytes, (byte) => byte.toString(16).padStart(2, '0')).join('');
}

/**
 * The hash of an entry, as the hub's `hashAuditEntry` computes it, with WebCrypto's SHA-256
 * (`globalThis.crypto.subtle`): the same in Node.js (20 and later) and in browsers.
 *
 * @example
 * ```ts
 * const { kind: _kind, ...entry } = JSON.parse(line);
 * if ((await digestAuditEntry(entry)) !== entry.hash) console.error(`entry ${entry.seq} was altered`);
 * ```
 */
export async function digestAuditEntry(entry: Omit<AuditEntry, 'hash'> | AuditEntry): Promise<string> {
  // A copy over a plain ArrayBuffer: WebCrypto's types refuse a view that may be shared.
  const bytes = new Uint8Array(auditEntryBytes(entry));
  return hexOfBytes(new Uint8Array(await globalThis.crypto.subtle.digest('SHA-256', bytes)));
}
