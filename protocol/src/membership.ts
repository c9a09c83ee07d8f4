import { z } from 'zod';
import { deviceRefSchema, officerRefSchema } from './addresses.js';
import { base64urlOfBytes } from './base64url.js';
import { conversationIdSchema, ENVELOPE_SIZES } from './envelope.js';
import { GROUNDS, referenceSchema } from './grounds.js';
import { MAX_CONVERSATION_MEMBERS, MAX_MEMBERSHIP_SEQ, MAX_TIMESTAMP_MS } from './limits.js';

/** Kinds of conversation. A direct conversation has exactly two members, for its whole life. */
export const CONVERSATION_KINDS = ['direct', 'group'] as const;
export type ConversationKind = (typeof CONVERSATION_KINDS)[number];

/**
 * The legal basis recorded when a conversation is created: an operational query (one of the
 * three exceptional grounds), or a formal request (mutual legal assistance, letters rogatory
 * ...) with its reference; both with the national case reference.
 */
export const conversationBasisSchema = z.discriminatedUnion('type', [
  z.strictObject({
    /** The conversation of an operational query: opened only through `query:open`. */
    type: z.literal('operational-query'),
    query: base64urlOfBytes(ENVELOPE_SIZES.id),
    ground: z.enum(GROUNDS),
    caseReference: referenceSchema,
  }),
  z.strictObject({
    type: z.literal('formal-request'),
    /** Reference of the formal request (letter of request, MLA request ...). */
    reference: referenceSchema,
    /** National proceedings number of the case. */
    caseReference: referenceSchema,
  }),
]);
export type ConversationBasis = z.infer<typeof conversationBasisSchema>;

/** SHA-512 of the canonical JSON of the previous signed record, as base64url. */
const previousHash = base64urlOfBytes(64);

const recordBase = {
  v: z.literal(1),
  conv: conversationIdSchema,
  /** 1 for `create`, then +1 per change. */
  seq: z.number().int().min(1).max(MAX_MEMBERSHIP_SEQ),
  /** The member device that makes the change and signs it. */
  by: deviceRefSchema,
  /** The signer's clock, milliseconds since the epoch. */
  ts: z.number().int().nonnegative().max(MAX_TIMESTAMP_MS),
};

/**
 * One link of a conversation's membership chain. Each is signed by the device of the member
 * who makes it, so a member that the hub slips in (without a record) is visible to everyone.
 */
export const membershipRecordSchema = z.discriminatedUnion('op', [
  z.strictObject({
    ...recordBase,
    op: z.literal('create'),
    prev: z.null(),
    kind: z.enum(CONVERSATION_KINDS),
    basis: conversationBasisSchema,
    members: z.array(officerRefSchema).min(2).max(MAX_CONVERSATION_MEMBERS),
  }),
  z.strictObject({ ...recordBase, op: z.literal('add'), prev: previousHash, member: officerRefSchema }),
  z.strictObject({ ...recordBase, op: z.literal('remove'), prev: previousHash, member: officerRefSchema }),
]);
export type MembershipRecord = z.infer<typeof membershipRecordSchema>;

/** A membership record with the Ed25519 signature of `record.by`'s device. */
export const signedMembershipRecordSchema = z.strictObject({
  record: membershipRecordSchema,
  sig: base64urlOfBytes(ENVELOPE_SIZES.signature),
});
export type SignedMembershipRecord = z.infer<typeof signedMembershipRecordSchema>;
