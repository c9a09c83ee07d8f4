import type { MessageContent } from '@ncp-hub/crypto';
import type {
  ConversationBasis,
  ConversationId,
  ConversationKind,
  Cursor,
  DeviceRef,
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
  /** The message id (signed); the same id is never delivered twice. */
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
   * reconnects by itself, unless it was closed or the hub ended the session (it then
   * reconnects only when the token is a function, for a session that expired). Requests
   * meanwhile reject with `NOT_CONNECTED`.
   */
  disconnected: (reason: string) => void;
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
  /** The same message id arrived again (a replay or a re-send); not delivered twice. */
  duplicate: (event: { conversation: ConversationId; messageId: MessageId }) => void;
  /**
   * Messages from a sender device were skipped, possibly dropped: `expected` is the next
   * sequence number that was due, `received` the one that came.
   */
  gap: (event: { conversation: ConversationId; from: DeviceRef; expected: number; received: number }) => void;
  /** A message (`seq`) arrived after a later one from the same sender device (`expectedAfter`, the highest seen). */
  reordered: (event: { conversation: ConversationId; from: DeviceRef; seq: number; expectedAfter: number }) => void;
  /** A receipt whose signature verified. */
  receipt: (receipt: VerifiedReceipt) => void;
  /** A receipt whose signature or signer did not verify: `cursor` where it is, `reason` the check. */
  receiptRejected: (event: { conversation: ConversationId; cursor: Cursor; reason: UndecryptableReason }) => void;
  /** A verified membership change (or the conversation's creation): the conversation as it now is. */
  membership: (conversation: Conversation) => void;
  /**
   * The membership chain does not verify (`reason`, at record `index`, from 0): the
   * conversation is not used.
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
  /** A notification, reminder, escalation or update of a query this officer takes part in (once per event id). */
  query: (event: QueryEvent) => void;
  /**
   * A listener threw, or a background task failed: processing an item (it is then not
   * acknowledged, and the next sync fetches it again), a sync after a reconnection, sending
   * receipts, a reconnection the hub refused (an `AuthError`: the client then stays
   * disconnected until {@link HubClient.connect}), or a token function that failed.
   */
  error: (error: unknown) => void;
}
