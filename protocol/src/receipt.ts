import { z } from 'zod';
import { deviceRefSchema } from './addresses.js';
import { base64urlOfBytes } from './base64url.js';
import { conversationIdSchema, ENVELOPE_SIZES, messageIdSchema } from './envelope.js';
import { MAX_RECEIPT_IDS, MAX_TIMESTAMP_MS } from './limits.js';

export const RECEIPT_TYPES = ['delivered', 'read'] as const;
export type ReceiptType = (typeof RECEIPT_TYPES)[number];

/**
 * A delivery or read receipt, signed by the recipient device: proof for the sender that the
 * hub cannot forge.
 */
export const receiptSchema = z.strictObject({
  v: z.literal(1),
  conv: conversationIdSchema,
  type: z.enum(RECEIPT_TYPES),
  ids: z.array(messageIdSchema).min(1).max(MAX_RECEIPT_IDS),
  by: deviceRefSchema,
  /** The signer's clock, milliseconds since the epoch. */
  ts: z.number().int().nonnegative().max(MAX_TIMESTAMP_MS),
});
export type Receipt = z.infer<typeof receiptSchema>;

export const signedReceiptSchema = z.strictObject({
  receipt: receiptSchema,
  sig: base64urlOfBytes(ENVELOPE_SIZES.signature),
});
export type SignedReceipt = z.infer<typeof signedReceiptSchema>;
