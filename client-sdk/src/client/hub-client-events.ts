import type { MessageContent } from '@ncp-hub/crypto';
import type {
  ConversationBasis,
  ConversationId,
  ConversationKind,
  Cursor,
  DeviceAddress,
  DeviceRef,
  HubError,
  MessageId,
  OfficerAddress,
  OfficerRef,
  QueryEvent,
  ReceiptType,
  SessionWelcome,
  UndecryptableReason,
} from '@ncp-hub/protocol';
import type { TrustEvents } from '../trust/trust-store.js';

/** A conversation as the SDK believes it: members from the verified, signed membership chain. */
export interface Conversation {
  /** The conversation's id (16 random bytes, base64url), chosen by its creator. */
  id: ConversationId;
  /** `direct` (two members, for its whole life) or `group`. */
  kind: ConversationKind;
  /** The legal basis recorded at creation: an operational query or a formal request. */
  basis: ConversationBasis;
  /** Members according to the signed chain; the hub's claims do not count. */
  members: OfficerRef[];
}

/** A message that passed every check, delivered to the application once. */
export interface ReceivedMessage {
  /** The message id (signed); a message is delivered once (see the `duplicate` event). */
  id: MessageId;
  conversation: ConversationId;
  /** The sender's device, whose attestation and signature were verified. */
  from: DeviceRef;
  /** Per sender device and conversation: 1, 2, 3 ... (signed). */
  seq: number;
  /** The sender's clock (signed). */
  sentAt: number;
  /** The hub's clock when it stored the message (not signed). */
  receivedAt: number;
  /** Where the message is in the conversation's log on the hub. */
  cursor: Cursor;
  /** The decrypted content. */
  content: MessageContent;
}

/** A verified receipt from a recipient device. */
export interface VerifiedReceipt {
  conversation: ConversationId;
  /** `delivered` (sent by the recipient's SDK by itself) or `read` (sent by its application). */
  type: ReceiptType;
  /** The messages the receipt is for. */
  messageIds: MessageId[];
  /** The recipient device that signed the receipt. */
  by: DeviceRef;
  /** The recipient device's clock (signed). */
  at: number;
}

/**
 * Events of {@link HubClient}. Besides these, the client works by itself: on every
 * (re)connection it syncs what it missed before `ready`, and for every item it has
 * processed it sends the hub an acknowledgement and, for a message, a signed `delivered`
 * receipt (unless `deliveryReceipts` is false).
 */
export interface HubClientEvents extends TrustEvents {
  /** Connected (again) and synced; `welcome` is the hub's, with the verified identity and the hub id. */
  ready: (welcome: SessionWelcome) => void;
  /**
   * The connection was lost; `reason` is socket.io's (`transport close`, `io server disconnect`,
   * `ping timeout`, `io client disconnect` after {@link HubClient.close} ...). The client
   * reconnects by itself, unless it was closed or the hub ended the session. Requests
   * meanwhile reject with `NOT_CONNECTED`.
   *
   * `error` says why, when there is more to say:
   * - the hub ended the session (`io server disconnect`): the `AuthError` of its `session:expired`,
   *   `AUTH_TOKEN_EXPIRED`, or the code the token now gets after a registry change
   *   (`AUTH_KID_UNKNOWN` after a key's revocation, `AUTH_ISSUER_UNKNOWN` ...). With a token
   *   function the client opens a new session with a fresh token (a refusal of it is an `error`
   *   event); a string token cannot be renewed, so the client stays disconnected: create a new
   *   client with a fresh token, or pass a token function;
   * - socket.io used up its `reconnectionAttempts` (socket option; unlimited by default): reason
   *   `reconnect failed`, a `ClientError` `HUB_UNREACHABLE`, after the `disconnected` of the loss.
   *   Nothing is tried any more; {@link HubClient.connect} tries again.
   *
   * @example
   * ```ts
   * client.on('disconnected', (reason, error) => error && showSignedOut(error.code));
   * ```
   */
  disconnected: (reason: string, error?: HubError) => void;
  /**
   * This device's attestation expires in less than {@link HubClientOptions.attestationWarningMs}
   * (`expiresAt`: seconds since the epoch, as the hub answered {@link HubClient.publishDevice}):
   * have the agency attest the device again, and publish that. Once it has expired, the hub
   * refuses this device's messages with `DEVICE_NOT_PUBLISHED`. Once per published attestation.
   */
  attestationExpiring: (event: { device: DeviceAddress; expiresAt: number }) => void;
  /** A message that passed every check. */
  message: (message: ReceivedMessage) => void;
  /**
   * A message that failed a check: no plaintext. `cursor` is where it is in the log, `reason`
   * the check that failed; `messageId` and `from` as the envelope claims them, when it has them.
   */
  undecryptable: (failure: {
    conversation: ConversationId;
    cursor: Cursor;
    reason: UndecryptableReason;
    messageId?: MessageId;
    from?: DeviceRef;
  }) => void;
  /**
   * A message came again (a replay or a re-send) and is not delivered twice: its sender device's
   * `seq` in this conversation was delivered before (whatever its id, however long ago: kept in
   * the key store), or its id is one of the 5,000 most recent of the conversation. Also a message
   * so late that more than 1,000 runs of missing numbers of its sender came after its own: it
   * was reported as a `gap`, and is dropped.
   */
  duplicate: (event: { conversation: ConversationId; messageId: MessageId }) => void;
  /**
   * Messages from a sender device were skipped, possibly dropped: `expected` is the next
   * sequence number that was due, `received` the one that came.
   */
  gap: (event: { conversation: ConversationId; from: DeviceRef; expected: number; received: number }) => void;
  /**
   * A message (`seq`) arrived after a later one from the same sender device (`expectedAfter`, the
   * highest seen), filling a gap; delivered once, as every message.
   */
  reordered: (event: { conversation: ConversationId; from: DeviceRef; seq: number; expectedAfter: number }) => void;
  /** A receipt whose signature verified. */
  receipt: (receipt: VerifiedReceipt) => void;
  /** A receipt whose signature or signer did not verify: `cursor` where it is, `reason` the check. */
  receiptRejected: (event: { conversation: ConversationId; cursor: Cursor; reason: UndecryptableReason }) => void;
  /** A verified membership change (or the conversation's creation): the conversation as it now is. */
  membership: (conversation: Conversation) => void;
  /**
   * The membership chain the hub gave does not verify (`reason`, a `MembershipChainFailure`, at
   * record `index`, from 0): the conversation is not used. Or it verifies but does not extend
   * the longest chain this device has verified (kept in its key store, so across restarts):
   * `reason` `ROLLBACK`, `index` the last record of the known chain, which the chain given lacks
   * or holds with another hash (a hub that cut a removal off, or gave another branch). The known
   * chain's members stay in use; the one given is not.
   */
  membershipInvalid: (event: { conversation: ConversationId; reason: string; index: number }) => void;
  /**
   * The hub's member list differs from the signed chain: `ghosts` are listed by the hub but
   * not in the chain, `missing` are in the chain but not listed.
   */
  membershipMismatch: (event: {
    conversation: ConversationId;
    ghosts: OfficerAddress[];
    missing: OfficerAddress[];
  }) => void;
  /**
   * A notification, reminder, escalation or update of a query this officer takes part in: each
   * event id once per device, across reconnections and restarts (the ids are kept in the key
   * store), though the hub pushes those still standing on every connection (PROTOCOL §6.7).
   */
  query: (event: QueryEvent) => void;
  /**
   * A listener threw, or a background task failed: processing an item (it is then not
   * acknowledged, and the next sync fetches it again), a sync after a reconnection, sending
   * receipts, a reconnection the hub refused (an `AuthError`: the client then stays
   * disconnected until {@link HubClient.connect}), or a token function that failed. A listener
   * of `error` that throws is not told of its own failure (that would never end): it is thrown
   * again in a microtask, once, as an uncaught exception.
   */
  error: (error: unknown) => void;
}
