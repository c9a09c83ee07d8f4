// @ncp-hub/protocol: the wire contract of ncp-hub and nothing else. Every public name is
// exported here, explicitly; nothing else of this package is an entry point.

export type { DeviceAddress, DeviceId, DeviceRef, OfficerAddress, OfficerRef } from './addresses.js';
export {
  deviceAddress,
  deviceAddressSchema,
  deviceIdSchema,
  deviceRefSchema,
  officerAddress,
  officerAddressSchema,
  officerRefSchema,
  parseDeviceAddress,
  parseOfficerAddress,
} from './addresses.js';
export { base64url, base64urlOfBytes, fromBase64url, isCanonicalBase64url, toBase64url } from './base64url.js';
export { canonicalBytes, canonicalJson } from './canonical-json.js';
export type {
  ConversationInfo,
  ConversationItem,
  ConversationItemType,
  ConversationUpdated,
  Cursor,
  MessageItem,
  ReceiptItem,
} from './conversation.js';
export {
  CONVERSATION_ITEM_TYPES,
  compareCursors,
  conversationInfoSchema,
  conversationItemSchema,
  conversationUpdatedSchema,
  cursorSchema,
} from './conversation.js';
export type { DirectoryAgency, DirectoryUpdated } from './directory.js';
export { attestationJwsSchema, directoryAgencySchema, directoryUpdatedSchema } from './directory.js';
export type { ConversationId, Envelope, EnvelopeHeader, MessageId, MessageKind } from './envelope.js';
export {
  conversationIdSchema,
  ENVELOPE_SIZES,
  ENVELOPE_VERSION,
  envelopeHeaderSchema,
  envelopeSchema,
  MESSAGE_KINDS,
  messageIdSchema,
  SIGNATURE_CONTEXTS,
} from './envelope.js';
export type {
  AnyHubError,
  AuthErrorCode,
  ClientErrorCode,
  ConversationErrorCode,
  DirectoryErrorCode,
  HubErrorBody,
  HubErrorCode,
  HubErrorCodeOf,
  HubErrorFamily,
  HubErrorOptions,
  QueryErrorCode,
  RequestErrorCode,
  UndecryptableReason,
} from './errors.js';
export {
  AuthError,
  ClientError,
  ConversationError,
  DirectoryError,
  ERROR_CODES_BY_FAMILY,
  errorFamilyOf,
  HUB_ERROR_CODES,
  HubError,
  hubError,
  hubErrorBodySchema,
  hubErrorFromBody,
  InternalError,
  isHubError,
  isHubErrorCode,
  isUndecryptableReason,
  QueryError,
  RequestError,
  toHubError,
  UNDECRYPTABLE_REASONS,
  UndecryptableError,
} from './errors.js';
export type {
  Ack,
  AckCallback,
  AuditReceipt,
  ClientEventName,
  ClientEventPayload,
  ClientEventResult,
  ClientToServerEvents,
  HandshakeAuth,
  ServerEventName,
  ServerEventPayload,
  ServerToClientEvents,
  SessionWelcome,
} from './events.js';
export {
  auditReceiptSchema,
  CLIENT_EVENT_SPEC,
  CLIENT_EVENTS,
  conversationAckSchema,
  conversationChangeSchema,
  conversationCreateSchema,
  conversationGetSchema,
  conversationListSchema,
  conversationSyncSchema,
  DEFAULT_SYNC_LIMIT,
  directoryAgenciesSchema,
  directoryDevicesSchema,
  directoryPublishSchema,
  EVENTS,
  handshakeAuthSchema,
  messageSendSchema,
  queryPendingSchema,
  receiptSendSchema,
  SERVER_EVENT_SPEC,
  SERVER_EVENTS,
  sessionWelcomeSchema,
  sessionWhoamiSchema,
} from './events.js';
export type { Ground } from './grounds.js';
export { GROUNDS, groundSchema, referenceSchema } from './grounds.js';
export type { AuditEntriesQuery, ReadinessAnswer } from './http-api.js';
export {
  auditEntriesAnswerSchema,
  auditEntriesQuerySchema,
  auditEntrySchema,
  developmentIdentitiesAnswerSchema,
  developmentIdentitySchema,
  developmentSignInAnswerSchema,
  healthAnswerSchema,
  httpErrorAnswerSchema,
  queryAnswerSchema,
  queryListAnswerSchema,
  queryListQuerySchema,
  readinessAnswerSchema,
  whoamiAnswerSchema,
} from './http-api.js';
export type { AgencyId, AgencyKind, AllowedJwtAlgorithm, CountryCode, Identity, OfficerId, Role } from './identity.js';
export {
  AGENCY_KINDS,
  ALLOWED_JWT_ALGORITHMS,
  agencyIdSchema,
  agencyKindSchema,
  countryCodeSchema,
  identitySchema,
  officerIdSchema,
  ROLES,
  ROLES_BY_AGENCY_KIND,
  roleSchema,
} from './identity.js';
export {
  MAX_ATTESTATION_LENGTH,
  MAX_ATTESTATION_TTL_SECONDS,
  MAX_CIPHERTEXT_CHARS,
  MAX_CONVERSATION_MEMBERS,
  MAX_DIRECTORY_OFFICERS,
  MAX_ENVELOPE_SEQ,
  MAX_MEMBERSHIP_SEQ,
  MAX_RECEIPT_IDS,
  MAX_RECIPIENT_DEVICES,
  MAX_REFERENCE_LENGTH,
  MAX_SYNC_LIMIT,
  MAX_TIMESTAMP_MS,
  MAX_TOKEN_LENGTH,
  MAX_TOKEN_LIFETIME_SECONDS,
} from './limits.js';
export type { ConversationBasis, ConversationKind, MembershipRecord, SignedMembershipRecord } from './membership.js';
export {
  CONVERSATION_KINDS,
  conversationBasisSchema,
  membershipRecordSchema,
  signedMembershipRecordSchema,
} from './membership.js';
export type {
  FormalRequestFiling,
  FormalRequestState,
  Instrument,
  NcbTrackState,
  QueryEvent,
  QueryEventType,
  QueryId,
  QueryListFilter,
  QueryOpenPayload,
  QueryStatus,
  QueryView,
  TimelineEntry,
  TimelineEvent,
} from './query.js';
export {
  FORMAL_REQUEST_STATES,
  formalRequestFilingSchema,
  INSTRUMENTS,
  NCB_TRACK_STATES,
  QUERY_EVENT_TYPES,
  QUERY_STATUSES,
  queryEventSchema,
  queryFileSchema,
  queryIdSchema,
  queryListFilterSchema,
  queryOpenPartsSchema,
  queryOpenSchema,
  queryRefSchema,
  queryViewSchema,
  queryWithdrawSchema,
  TIMELINE_EVENTS,
  timelineEntrySchema,
} from './query.js';
export type { Receipt, ReceiptType, SignedReceipt } from './receipt.js';
export { RECEIPT_TYPES, receiptSchema, signedReceiptSchema } from './receipt.js';
export { PROTOCOL_VERSION } from './version.js';
