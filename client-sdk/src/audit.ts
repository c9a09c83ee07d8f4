/**
 * Reading and verifying the hub's audit log, for auditors: {@link AuditClient} over the hub's
 * HTTP API and {@link verifyAuditExport}, the verifier `ncp-keys audit verify` runs, here for
 * Node.js and browsers alike. An entry point of its own, `@ncp-hub/client-sdk/audit`, so that
 * an application without auditors never bundles the verifier.
 *
 * @module @ncp-hub/client-sdk/audit
 */

export type {
  AuditActor,
  AuditCheckpoint,
  AuditEntry,
  AuditEventType,
  AuditExportLine,
  AuditProblem,
  AuditVerification,
  HubKeySet,
  RedactedAuditEntry,
} from '@ncp-hub/keys/audit';
export {
  AUDIT_CHECKPOINT_TYPE,
  AUDIT_EVENT_TYPES,
  digestAuditEntry,
  GENESIS_HASH,
  verifyAuditExport,
} from '@ncp-hub/keys/audit';
export type { AuditClientOptions, AuditEntryFilter, AuditEntryPage } from './client/audit-client.js';
export { AuditClient } from './client/audit-client.js';
