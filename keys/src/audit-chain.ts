import { createHash } from 'node:crypto';
import canonicalize from 'canonicalize';

/**
 * The hub's audit log: a hash chain of metadata events. Each entry holds the hash of the one
 * before, so an entry removed, altered, reordered or inserted breaks the chain; the hub signs
 * checkpoints of the chain head with its own key, so a chain rebuilt from the altered point
 * on no longer matches them. Content never enters the log: only ids, sizes, codes and times.
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

/** The hash of an entry: SHA-256 (hex) of the canonical JSON of everything but `hash`. */
export function hashAuditEntry(entry: Omit<AuditEntry, 'hash'> | AuditEntry): string {
  const { hash: _hash, ...rest } = entry as AuditEntry;
  const canonical = canonicalize(rest);
  if (canonical === undefined) throw new TypeError('audit entry cannot be canonicalised');
  return createHash('sha256').update(canonical, 'utf8').digest('hex');
}

/** Chains an event after the entry `seq - 1` whose hash is `prev`. */
export function chainAuditEvent(event: AuditEvent, seq: number, prev: string): AuditEntry {
  const entry = { ...event, seq, prev };
  return { ...entry, hash: hashAuditEntry(entry) };
}
