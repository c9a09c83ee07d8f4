// The SDK's public API, every name explicit. Node-only pieces (FileKeyStore) are in
// "@ncp-hub/client-sdk/node", moving a device under a passphrase (libsodium's larger build) in
// "@ncp-hub/client-sdk/device-export"; the wire contract is "@ncp-hub/protocol" and the end-to-end
// formats "@ncp-hub/crypto" (re-exported here for applications that use the SDK alone).

export type {
  DeviceKeys,
  EnvelopeRecipient,
  MembershipChainFailure,
  MembershipChainResult,
  MessageContent,
  OpenEnvelopeInput,
  SafetyNumberSide,
  SealEnvelopeInput,
  Sodium,
  StoredDeviceKeys,
  UnsignedEnvelope,
} from '@ncp-hub/crypto';
export {
  CONTENT_PADDING_BLOCK,
  CryptoCheckError,
  DEVICE_KEY_SIZES,
  decodeContent,
  deviceFingerprint,
  encodeContent,
  envelopeSigningInput,
  exportDeviceKeys,
  FINGERPRINT_CONTEXTS,
  generateDeviceKeys,
  getSodium,
  hashMembershipRecord,
  importDeviceKeys,
  MAX_TEXT_LENGTH,
  membershipSigningInput,
  messageContentSchema,
  openEnvelope,
  randomBytes,
  receiptSigningInput,
  safetyNumber,
  sealEnvelope,
  signMembershipRecord,
  signReceipt,
  storedDeviceKeysSchema,
  verifyEnvelopeSignature,
  verifyMembershipChain,
  verifyReceipt,
} from '@ncp-hub/crypto';
export type {
  AnyHubError,
  ClientErrorCode,
  HubErrorBody,
  HubErrorCode,
  HubErrorFamily,
  UndecryptableReason,
} from '@ncp-hub/protocol';
export {
  AuthError,
  ClientError,
  ConversationError,
  canonicalBytes,
  canonicalJson,
  DirectoryError,
  fromBase64url,
  HubError,
  InternalError,
  isHubErrorCode,
  isUndecryptableReason,
  QueryError,
  RequestError,
  toBase64url,
  UNDECRYPTABLE_REASONS,
  UndecryptableError,
} from '@ncp-hub/protocol';
export { RECONNECT_FAILED } from './client/connection.js';
export type { CreateConversationOptions } from './client/conversations.js';
export { HubClient } from './client/hub-client.js';
export type {
  Conversation,
  HubClientEvents,
  ReceivedMessage,
  VerifiedReceipt,
} from './client/hub-client-events.js';
export type { HubClientOptions } from './client/hub-client-options.js';
export type { DevicePublicKeys } from './client/local-device.js';
export type { SendOptions, SentMessage } from './client/outbox.js';
export type { OpenedQuery, OpenQueryOptions } from './client/queries.js';
export type { IndexedDbKeyStoreOptions, JsonValue, KeyStore } from './store/index.js';
export { DEFAULT_INDEXEDDB_NAME, IndexedDbKeyStore, MAX_KEY_LENGTH, MemoryKeyStore } from './store/index.js';
export type { AgencyKeySet, DeviceRejectionReason, TrustEvents } from './trust/trust-store.js';
