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
  id: ConversationId;
  kind: ConversationKind;
  basis: ConversationBasis;
  /** Members according to the signed chain; the hub's claims do not count. */
  members: OfficerRef[];
}

/** A message that passed every check, delivered to the application once. */
export interface ReceivedMessage {
  id: MessageId;
  conversation: ConversationId;
  from: DeviceRef;
  /** Per sender device and conversation. */
  seq: number;
  /** The sender's clock (signed). */
  sentAt: number;
  /** The hub's clock when it stored the message (not signed). */
  receivedAt: number;
  cursor: Cursor;
  content: MessageContent;
}

/** A verified receipt from a recipient device. */
export interface VerifiedReceipt {
  conversation: ConversationId;
  type: ReceiptType;
  messageIds: MessageId[];
  by: DeviceRef;
  /** The recipient device's clock (signed). */
  at: number;
}

/** Events of {@link HubClient}. */
export interface HubClientEvents extends TrustEvents {
  /** Connected (again) and synced. */
  ready: (welcome: SessionWelcome) => void;
  disconnected: (reason: string) => void;
  /** A message that passed every check. */
  message: (message: ReceivedMessage) => void;
  /** A message that failed a check: no plaintext, a reason. */
  undecryptable: (failure: {
    conversation: ConversationId;
    cursor: Cursor;
    reason: UndecryptableReason;
    messageId?: MessageId;
    from?: DeviceRef;
  }) => void;
  /** The same message id arrived again (a replay or a re-send); not delivered twice. */
  duplicate: (event: { conversation: ConversationId; messageId: MessageId }) => void;
  /** Messages from a sender device were skipped: possibly dropped. */
  gap: (event: { conversation: ConversationId; from: DeviceRef; expected: number; received: number }) => void;
  /** A message arrived after a later one from the same sender device. */
  reordered: (event: { conversation: ConversationId; from: DeviceRef; seq: number; expectedAfter: number }) => void;
  receipt: (receipt: VerifiedReceipt) => void;
  /** A receipt whose signature or signer did not verify. */
  receiptRejected: (event: { conversation: ConversationId; cursor: Cursor; reason: UndecryptableReason }) => void;
  /** A verified membership change (or the conversation's creation). */
  membership: (conversation: Conversation) => void;
  /** The membership chain does not verify: the conversation is not used. */
  membershipInvalid: (event: { conversation: ConversationId; reason: string; index: number }) => void;
  /** The hub's member list differs from the signed chain (e.g. a ghost member slipped in). */
  membershipMismatch: (event: {
    conversation: ConversationId;
    ghosts: OfficerAddress[];
    missing: OfficerAddress[];
  }) => void;
  /** A notification, reminder, escalation or update of a query this officer takes part in (once per id). */
  query: (event: QueryEvent) => void;
  /** A listener threw, or a background task failed. */
  error: (error: unknown) => void;
}
