/**
 * The audit log's formats and the verifier of an export, for browsers as for Node.js: the
 * entry `@ncp-hub/keys/audit`. Nothing here imports `node:` (the hub's synchronous chaining
 * hash stays in the main entry), so a web page verifies an export with the very function
 * `ncp-keys audit verify` runs.
 *
 * @packageDocumentation
 */

export type {
  AuditActor,
  AuditCheckpoint,
  AuditEntry,
  AuditEvent,
  AuditEventType,
  AuditExportLine,
  RedactedAuditEntry,
} from './audit-entry.js';
export {
  AUDIT_CHECKPOINT_TYPE,
  AUDIT_EVENT_TYPES,
  auditEntryBytes,
  digestAuditEntry,
  GENESIS_HASH,
} from './audit-entry.js';
export type { AuditProblem, AuditVerification, HubKeySet } from './audit-verify.js';
export { verifyAuditExport } from './audit-verify.js';
