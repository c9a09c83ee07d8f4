import { createHash } from 'node:crypto';
import { type AuditEntry, type AuditEvent, auditEntryBytes } from './audit-entry.js';

// The entry types and constants live in audit-entry.ts (browser-safe, with the verifier's
// WebCrypto digest); this module adds what only the hub needs: the synchronous Node hash that
// chains events, over the same canonical bytes.
export type {
  AuditActor,
  AuditCheckpoint,
  AuditEntry,
  AuditEvent,
  AuditEventType,
  AuditExportLine,
  RedactedAuditEntry,
} from './audit-entry.js';
export { AUDIT_CHECKPOINT_TYPE, AUDIT_EVENT_TYPES, GENESIS_HASH } from './audit-entry.js';

/** The hash of an entry: SHA-256 (hex) of the canonical JSON of everything but `hash`. */
export function hashAuditEntry(entry: Omit<AuditEntry, 'hash'> | AuditEntry): string {
  return createHash('sha256').update(auditEntryBytes(entry)).digest('hex');
}

/** Chains an event after the entry `seq - 1` whose hash is `prev`. */
export function chainAuditEvent(event: AuditEvent, seq: number, prev: string): AuditEntry {
  const entry = { ...event, seq, prev };
  return { ...entry, hash: hashAuditEntry(entry) };
}
