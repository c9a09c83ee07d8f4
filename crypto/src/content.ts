import { UndecryptableError as CryptoCheckError, canonicalBytes } from '@ncp-hub/protocol';
import { z } from 'zod';
import { inputError } from './input-error.js';
import { hasDuplicateMembers } from './json-duplicates.js';
import { getSodium } from './sodium.js';
import { orUndecryptable } from './sodium-failures.js';

/** The plaintext is padded to a multiple of this many bytes, hiding its exact length. */
export const CONTENT_PADDING_BLOCK = 256;

/** Longest text of a `text` content, in UTF-16 code units (JavaScript string length). */
export const MAX_TEXT_LENGTH = 32_768;

/** A lone surrogate (outside a pair): JSON that RFC 8785 cannot canonicalise. */
const LONE_SURROGATE = /[\uD800-\uDFFF]/u;

/**
 * The plaintext of an envelope, before padding. Versioned (`v`) and discriminated on `type`
 * so that new kinds of content can be added without a new envelope version.
 */
export const messageContentSchema = z.discriminatedUnion('type', [
  z.strictObject({
    v: z.literal(1),
    type: z.literal('text'),
    text: z
      .string()
      .min(1)
      .max(MAX_TEXT_LENGTH)
      .refine((text) => !LONE_SURROGATE.test(text), 'text: must be well-formed Unicode'),
  }),
]);
export type MessageContent = z.infer<typeof messageContentSchema>;

/**
 * The padded plaintext of `content`: UTF-8 of its RFC 8785 canonical JSON, then ISO/IEC
 * 7816-4 padding (`sodium.pad`: 0x80 then zero bytes) to the next multiple of 256 bytes
 * (always at least one byte of padding). Throws a `TypeError` naming the invalid field when
 * `content` does not match {@link messageContentSchema}.
 *
 * @example
 * ```ts
 * const plaintext = await encodeContent({ v: 1, type: 'text', text: 'hello' });
 * plaintext.length; // 256
 * ```
 */
export async function encodeContent(content: MessageContent): Promise<Uint8Array> {
  const parsed = messageContentSchema.safeParse(content);
  if (!parsed.success) {
    throw inputError('content', parsed.error);
  }
  const sodium = await getSodium();
  const bytes = canonicalBytes(parsed.data);
  const padded = sodium.pad(bytes, CONTENT_PADDING_BLOCK);
  bytes.fill(0);
  return padded;
}

const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/**
 * The content of a padded plaintext (the inverse of {@link encodeContent}). Throws
 * `CryptoCheckError('CONTENT_INVALID')` when the length is not a positive multiple of 256,
 * the padding is wrong, the bytes are not UTF-8, not JSON, JSON with a member named twice in
 * one object (parsers disagree on which value wins), or not a known content.
 *
 * @example
 * ```ts
 * const content = await decodeContent(plaintext);
 * if (content.type === 'text') console.log(content.text);
 * ```
 */
export async function decodeContent(bytes: Uint8Array): Promise<MessageContent> {
  if (bytes.length === 0 || bytes.length % CONTENT_PADDING_BLOCK !== 0) {
    throw new CryptoCheckError('CONTENT_INVALID');
  }
  const sodium = await getSodium();
  // The cause (a JSON syntax error) may quote the plaintext: it is dropped on purpose.
  const json = orUndecryptable('CONTENT_INVALID', () => utf8.decode(sodium.unpad(bytes, CONTENT_PADDING_BLOCK)));
  const value: unknown = orUndecryptable('CONTENT_INVALID', () => JSON.parse(json));
  const parsed = messageContentSchema.safeParse(value);
  if (!parsed.success || hasDuplicateMembers(json)) {
    throw new CryptoCheckError('CONTENT_INVALID');
  }
  return parsed.data;
}
