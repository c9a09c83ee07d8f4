export type { AgencyKeyPair } from './agency-keys.js';
export {
  createRegistryEntry,
  deletePrivateKey,
  generateAgencyKey,
  readRegistryEntry,
  readSigningKey,
  writePrivateKey,
  writeRegistryEntry,
} from './agency-keys.js';
export type {
  AuditActor,
  AuditCheckpoint,
  AuditEntry,
  AuditEvent,
  AuditEventType,
  AuditExportLine,
  RedactedAuditEntry,
} from './audit-chain.js';
export {
  AUDIT_CHECKPOINT_TYPE,
  AUDIT_EVENT_TYPES,
  chainAuditEvent,
  GENESIS_HASH,
  hashAuditEntry,
} from './audit-chain.js';
export { auditEntryBytes, digestAuditEntry } from './audit-entry.js';
export type { AuditProblem, AuditVerification, HubKeySet } from './audit-verify.js';
export { verifyAuditExport } from './audit-verify.js';
export type { DevelopmentAgency, DevelopmentRegistry } from './dev-agencies.js';
export { DEVELOPMENT_AGENCIES, ensureDevelopmentAgencies } from './dev-agencies.js';
export type {
  DevelopmentDeviceOptions,
  DevelopmentIdentity,
  DevelopmentOfficerTokenOptions,
} from './dev-identities.js';
export {
  attestDevelopmentDevice,
  DEVELOPMENT_IDENTITIES,
  developmentKeysDir,
  findDevelopmentIdentity,
  issueDevelopmentOfficerToken,
} from './dev-identities.js';
export type {
  DeviceAttestation,
  IssueDeviceAttestationOptions,
  VerifyDeviceAttestationOptions,
} from './device-attestation.js';
export {
  DEFAULT_ATTESTATION_TTL_SECONDS,
  DEVICE_ATTESTATION_TYPE,
  decodeDeviceAttestation,
  devicePublicKeySchema,
  issueDeviceAttestation,
  MAX_ATTESTATION_LENGTH,
  MAX_ATTESTATION_TTL_SECONDS,
  verifyDeviceAttestation,
} from './device-attestation.js';
export { RegistryError } from './errors.js';
export type { IssueOfficerTokenOptions, VerifyOfficerTokenOptions } from './officer-token.js';
export {
  FORBIDDEN_HEADER_PARAMETERS,
  issueOfficerToken,
  MAX_TOKEN_LENGTH,
  verifyOfficerToken,
} from './officer-token.js';
export type { AgencyInfo, AgencyPublicJwk, RegistryEntry, Revocations } from './registry-entry.js';
export { agencyPublicJwkSchema, registryEntrySchema, revocationsSchema } from './registry-entry.js';
export type {
  LoadTrustRegistryOptions,
  RegistryChanges,
  RegistryFileProblem,
  TrustedAgency,
  TrustRegistryReload,
} from './trust-registry.js';
export {
  loadTrustRegistry,
  parseRegistryEntry,
  registryChanges,
  reloadTrustRegistry,
  TrustRegistry,
  trustAgency,
} from './trust-registry.js';
