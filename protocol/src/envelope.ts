import { z } from 'zod';
import { type DeviceAddress, deviceAddressSchema, deviceRefSchema } from './addresses.js';
import { base64url, base64urlOfBytes } from './base64url.js';
import { MAX_CIPHERTEXT_CHARS, MAX_ENVELOPE_SEQ, MAX_RECIPIENT_DEVICES, MAX_TIMESTAMP_MS } from './limits.js';

/** Version of the envelope format below (`header.v`). */
export const ENVELOPE_VERSION = 1 as const;

/** Sizes, in bytes, of the envelope's binary fields. */
export const ENVELOPE_SIZES = {
  /** Message id and conversation id: random. */
  id: 16,
  /** XChaCha20-Poly1305 nonce. */
  nonce: 24,
  /** Message key. */
  messageKey: 32,
  /** `crypto_box_seal` of the 32-byte message key: 32 (ephemeral key) + 32 + 16 (MAC). */
  sealedKey: 80,
  /** Poly1305 tag at the end of the ciphertext. */
  tag: 16,
  /** Ed25519 signature. */
  signature: 64,
} as const;

/** Domain-separation prefixes of every signature made by a device (ASCII, then one 0x00 byte). */
export const SIGNATURE_CONTEXTS = {
  envelope: 'ncp-hub/envelope/v1',
  membership: 'ncp-hub/membership/v1',
  receipt: 'ncp-hub/receipt/v1',
} as const;

/** Random 16-byte id, as 22 characters of base64url. */
export const messageIdSchema = base64urlOfBytes(ENVELOPE_SIZES.id);
export type MessageId = z.infer<typeof messageIdSchema>;
export const conversationIdSchema = base64urlOfBytes(ENVELOPE_SIZES.id);
export type ConversationId = z.infer<typeof conversationIdSchema>;

/**
 * What an envelope carries; visible to the hub (the content is not): a chat message, the
 * question of an operational query (its conversation's first message), or the statement of
 * the specific grounds of a query (sent with `query:open`, kept with the query).
 */
export const MESSAGE_KINDS = ['chat', 'query-question', 'query-statement'] as const;
export type MessageKind = (typeof MESSAGE_KINDS)[number];

/**
 * The cleartext header. Its RFC 8785 canonical JSON is the associated data of the content
 * encryption and the first part of what the sender device signs.
 */
export const envelopeHeaderSchema = z.strictObject({
  v: z.literal(ENVELOPE_VERSION),
  id: messageIdSchema,
  conv: conversationIdSchema,
  from: deviceRefSchema,
  /** Sender's clock, milliseconds since the epoch. */
  ts: z.number().int().nonnegative().max(MAX_TIMESTAMP_MS),
  /** Per sender device and conversation: 1, 2, 3 ... */
  seq: z.number().int().min(1).max(MAX_ENVELOPE_SEQ),
  kind: z.enum(MESSAGE_KINDS),
  /** Recipient devices, sorted, without duplicates; the sender's other devices included. */
  to: z
    .array(deviceAddressSchema)
    .min(1)
    .max(MAX_RECIPIENT_DEVICES)
    .refine(
      (to) => to.every((address, i) => i === 0 || (to[i - 1] as string) < address),
      'to: must be sorted and unique',
    ),
});
export type EnvelopeHeader = z.infer<typeof envelopeHeaderSchema>;

/** One end-to-end encrypted message as it travels and is stored. */
export const envelopeSchema = z
  .strictObject({
    header: envelopeHeaderSchema,
    nonce: base64urlOfBytes(ENVELOPE_SIZES.nonce),
    /** XChaCha20-Poly1305 ciphertext of the plaintext, tag included. */
    ct: base64url(Math.ceil((ENVELOPE_SIZES.tag * 4) / 3), MAX_CIPHERTEXT_CHARS),
    /** The message key sealed to each device of `header.to`, and to no other. */
    keys: z.record(deviceAddressSchema, base64urlOfBytes(ENVELOPE_SIZES.sealedKey)),
    sig: base64urlOfBytes(ENVELOPE_SIZES.signature),
  })
  .refine(
    (envelope) => {
      const keyed = Object.keys(envelope.keys);
      return (
        keyed.length === envelope.header.to.length && envelope.header.to.every((address) => address in envelope.keys)
      );
    },
    { message: 'keys: must hold one sealed key for each device of header.to, and no other', path: ['keys'] },
  );
export type Envelope = z.infer<typeof envelopeSchema> & { keys: Record<DeviceAddress, string> };
