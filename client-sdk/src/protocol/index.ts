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
export { base64url, base64urlOfBytes, isCanonicalBase64url } from './encoding.js';
export type { ConversationId, Envelope, EnvelopeHeader, MessageId, MessageKind } from './envelope.js';
export {
  conversationIdSchema,
  ENVELOPE_SIZES,
  ENVELOPE_VERSION,
  envelopeHeaderSchema,
  envelopeSchema,
  MAX_RECIPIENT_DEVICES,
  MESSAGE_KINDS,
  messageIdSchema,
  SIGNATURE_CONTEXTS,
} from './envelope.js';
export type { HubErrorBody, HubErrorCode } from './errors.js';
export { HUB_ERROR_CODES, HubError, isHubErrorCode } from './errors.js';
export type {
  Ack,
  AckCallback,
  AuditReceipt,
  ClientToServerEvents,
  ConversationInfo,
  ConversationItem,
  Cursor,
  DirectoryAgency,
  HandshakeAuth,
  ServerToClientEvents,
  SessionWelcome,
} from './events.js';
export {
  CLIENT_EVENTS,
  compareCursors,
  conversationAckSchema,
  conversationChangeSchema,
  conversationCreateSchema,
  conversationGetSchema,
  conversationListSchema,
  conversationSyncSchema,
  cursorSchema,
  directoryAgenciesSchema,
  directoryDevicesSchema,
  directoryPublishSchema,
  EVENTS,
  handshakeAuthSchema,
  messageSendSchema,
  queryPendingSchema,
  receiptSendSchema,
  sessionWelcomeSchema,
  sessionWhoamiSchema,
} from './events.js';
export type { AgencyId, AgencyKind, AllowedJwtAlgorithm, CountryCode, Identity, OfficerId, Role } from './identity.js';
export {
  AGENCY_KINDS,
  ALLOWED_JWT_ALGORITHMS,
  agencyIdSchema,
  agencyKindSchema,
  countryCodeSchema,
  identitySchema,
  MAX_TOKEN_LIFETIME_SECONDS,
  officerIdSchema,
  ROLES,
  ROLES_BY_AGENCY_KIND,
  roleSchema,
} from './identity.js';
export type { ConversationBasis, ConversationKind, MembershipRecord, SignedMembershipRecord } from './membership.js';
export {
  CONVERSATION_KINDS,
  conversationBasisSchema,
  MAX_CONVERSATION_MEMBERS,
  membershipRecordSchema,
  signedMembershipRecordSchema,
} from './membership.js';
export type {
  FormalRequestFiling,
  FormalRequestState,
  Ground,
  Instrument,
  NcbTrackState,
  QueryEvent,
  QueryEventType,
  QueryId,
  QueryListFilter,
  QueryStatus,
  QueryView,
  TimelineEntry,
  TimelineEvent,
} from './query.js';
export {
  FORMAL_REQUEST_STATES,
  formalRequestFilingSchema,
  GROUNDS,
  groundSchema,
  INSTRUMENTS,
  NCB_TRACK_STATES,
  QUERY_EVENT_TYPES,
  QUERY_STATUSES,
  queryFileSchema,
  queryIdSchema,
  queryListFilterSchema,
  queryOpenSchema,
  queryRefSchema,
  queryWithdrawSchema,
  TIMELINE_EVENTS,
} from './query.js';
export type { Receipt, ReceiptType, SignedReceipt } from './receipt.js';
export { MAX_RECEIPT_IDS, RECEIPT_TYPES, receiptSchema, signedReceiptSchema } from './receipt.js';
export { PROTOCOL_VERSION } from './version.js';
