// @ncp-hub/crypto: the end-to-end formats both the hub and the SDK check, with libsodium: envelopes, membership records, receipts, fingerprints.
export type { MessageContent } from './content.js';
export {
  CONTENT_PADDING_BLOCK,
  decodeContent,
  encodeContent,
  MAX_TEXT_LENGTH,
  messageContentSchema,
} from './content.js';
export type { DeviceKeys, StoredDeviceKeys } from './device-keys.js';
export {
  DEVICE_KEY_SIZES,
  exportDeviceKeys,
  generateDeviceKeys,
  importDeviceKeys,
  storedDeviceKeysSchema,
} from './device-keys.js';
export type { EnvelopeRecipient, OpenEnvelopeInput, SealEnvelopeInput, UnsignedEnvelope } from './envelope-crypto.js';
export { envelopeSigningInput, openEnvelope, sealEnvelope, verifyEnvelopeSignature } from './envelope-crypto.js';
export type { SafetyNumberSide } from './fingerprint.js';
export { deviceFingerprint, FINGERPRINT_CONTEXTS, safetyNumber } from './fingerprint.js';
export type { MembershipChainFailure, MembershipChainResult } from './membership-crypto.js';
export {
  hashMembershipRecord,
  membershipSigningInput,
  signMembershipRecord,
  verifyMembershipChain,
} from './membership-crypto.js';
export { receiptSigningInput, signReceipt, verifyReceipt } from './receipt-crypto.js';
export type { Sodium } from './sodium.js';
export { getSodium, randomBytes } from './sodium.js';
export type { UndecryptableReason } from './undecryptable.js';
export { CryptoCheckError, isUndecryptableReason, UNDECRYPTABLE_REASONS, UndecryptableError } from './undecryptable.js';
