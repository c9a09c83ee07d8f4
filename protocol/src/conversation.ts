import { z } from 'zod';
import { officerAddressSchema } from './addresses.js';
import { conversationIdSchema, envelopeSchema } from './envelope.js';
import { CONVERSATION_KINDS, conversationBasisSchema, signedMembershipRecordSchema } from './membership.js';
import { signedReceiptSchema } from './receipt.js';

/** A position in a conversation's log (a Redis stream id, `ms-seq`); compare with {@link compareCursors}. */
export const cursorSchema = z.string().regex(/^\d{1,15}-\d{1,15}$/, 'cursor: "<ms>-<n>"');
export type Cursor = z.infer<typeof cursorSchema>;

/** Orders two cursors: negative, zero or positive. */
export function compareCursors(a: Cursor, b: Cursor): number {
  const [am = 0, an = 0] = a.split('-').map(Number);
  const [bm = 0, bn = 0] = b.split('-').map(Number);
  return am - bm || an - bn;
}

/** A time on the hub's clock, milliseconds since the epoch. */
const hubTime = z.number().int().nonnegative();

/** A conversation as the hub knows it, with its whole signed membership chain (hub -> client). */
export const conversationInfoSchema = z.object({
  id: conversationIdSchema,
  kind: z.enum(CONVERSATION_KINDS),
  basis: conversationBasisSchema,
  /** The hub's view of the members; clients trust the chain in `records`, not this. */
  members: z.array(officerAddressSchema),
  /** The signed membership chain, from the `create` record (index 0) on. */
  records: z.array(signedMembershipRecordSchema).min(1),
  /** Hub time of creation, ms. */
  createdAt: hubTime,
  /** Cursor of the newest item, or null when there is none. */
  last: cursorSchema.nullable(),
  /** Cursor up to which this device has acknowledged, or null. */
  acked: cursorSchema.nullable(),
});
export type ConversationInfo = z.infer<typeof conversationInfoSchema>;

/** Kinds of item in a conversation's log. */
export const CONVERSATION_ITEM_TYPES = ['message', 'receipt'] as const;
export type ConversationItemType = (typeof CONVERSATION_ITEM_TYPES)[number];

const itemBase = {
  conv: conversationIdSchema,
  cursor: cursorSchema,
  /** Hub time when it stored the item, ms (not signed). */
  receivedAt: hubTime,
};

/** An item of a conversation's log, as pushed live (`conversation:item`) and as returned by sync. */
export const conversationItemSchema = z.discriminatedUnion('type', [
  z.object({ type: z.literal('message'), ...itemBase, envelope: envelopeSchema }),
  z.object({ type: z.literal('receipt'), ...itemBase, receipt: signedReceiptSchema }),
]);
export type ConversationItem = z.infer<typeof conversationItemSchema>;
export type MessageItem = Extract<ConversationItem, { type: 'message' }>;
export type ReceiptItem = Extract<ConversationItem, { type: 'receipt' }>;

/** Payload of `conversation:updated`: the conversation as it is now, and the record that changed it. */
export const conversationUpdatedSchema = z.object({
  conversation: conversationInfoSchema,
  record: signedMembershipRecordSchema,
});
export type ConversationUpdated = z.infer<typeof conversationUpdatedSchema>;
