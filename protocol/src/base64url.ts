/**
 * The one base64url codec of the protocol: unpadded base64url (RFC 4648 section 5), strict and
 * canonical, so that each byte string has exactly one accepted encoding (as libsodium's
 * decoder demands), and the zod schemas of base64url fields.
 *
 * @packageDocumentation
 */
import { z } from 'zod';

const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';

/** Value of each ASCII character in base64url, or -1. */
const VALUES = new Int8Array(128).fill(-1);
for (let i = 0; i < ALPHABET.length; i++) {
  VALUES[ALPHABET.charCodeAt(i)] = i;
}

/**
 * Unpadded base64url (RFC 4648 section 5, no `=`) of `bytes`.
 *
 * @example
 * ```ts
 * toBase64url(new Uint8Array([0xfb, 0xff])); // '-_8'
 * ```
 */
export function toBase64url(bytes: Uint8Array): string {
  let text = '';
  const whole = bytes.length - (bytes.length % 3);
  for (let i = 0; i < whole; i += 3) {
    const n = ((bytes[i] as number) << 16) | ((bytes[i + 1] as number) << 8) | (bytes[i + 2] as number);
    text += ALPHABET[n >>> 18] + ALPHABET[(n >>> 12) & 63] + ALPHABET[(n >>> 6) & 63] + ALPHABET[n & 63];
  }
  const rest = bytes.length - whole;
  if (rest === 1) {
    const n = (bytes[whole] as number) << 16;
    text += ALPHABET[n >>> 18] + ALPHABET[(n >>> 12) & 63];
  } else if (rest === 2) {
    const n = ((bytes[whole] as number) << 16) | ((bytes[whole + 1] as number) << 8);
    text += ALPHABET[n >>> 18] + ALPHABET[(n >>> 12) & 63] + ALPHABET[(n >>> 6) & 63];
  }
  return text;
}

function invalid(): never {
  throw new TypeError('base64url: invalid input (expected unpadded, canonical base64url)');
}

function valueAt(text: string, i: number): number {
  const code = text.charCodeAt(i);
  const value = code < 128 ? (VALUES[code] as number) : -1;
  if (value < 0) invalid();
  return value;
}

/**
 * The bytes of unpadded base64url `text`. Strict: throws a `TypeError` on any character
 * outside `A-Z a-z 0-9 - _` (padding `=` and whitespace included), on an impossible length
 * (4n + 1) and on non-zero unused bits in the last character, so each byte string has
 * exactly one accepted encoding.
 *
 * @example
 * ```ts
 * fromBase64url('-_8'); // Uint8Array [0xfb, 0xff]
 * fromBase64url('-_9'); // throws TypeError: the last character has unused bits set
 * ```
 */
export function fromBase64url(text: string): Uint8Array {
  if (typeof text !== 'string' || text.length % 4 === 1) invalid();
  const rest = text.length % 4;
  const whole = text.length - rest;
  const bytes = new Uint8Array((whole / 4) * 3 + (rest === 0 ? 0 : rest - 1));
  let j = 0;
  for (let i = 0; i < whole; i += 4) {
    const n =
      (valueAt(text, i) << 18) | (valueAt(text, i + 1) << 12) | (valueAt(text, i + 2) << 6) | valueAt(text, i + 3);
    bytes[j++] = n >>> 16;
    bytes[j++] = (n >>> 8) & 0xff;
    bytes[j++] = n & 0xff;
  }
  if (rest === 2) {
    const last = valueAt(text, whole + 1);
    if ((last & 0x0f) !== 0) invalid();
    bytes[j] = (valueAt(text, whole) << 2) | (last >>> 4);
  } else if (rest === 3) {
    const last = valueAt(text, whole + 2);
    if ((last & 0x03) !== 0) invalid();
    const n = (valueAt(text, whole) << 18) | (valueAt(text, whole + 1) << 12) | (last << 6);
    bytes[j++] = n >>> 16;
    bytes[j] = (n >>> 8) & 0xff;
  }
  return bytes;
}

/**
 * Whether `text` is canonical unpadded base64url: only the alphabet, a length that is not
 * 1 more than a multiple of 4, and zero bits in the unused low bits of the last character —
 * so that each byte string has exactly one encoding, as strict decoders (libsodium) demand.
 */
export function isCanonicalBase64url(text: string): boolean {
  if (!/^[A-Za-z0-9_-]*$/.test(text)) return false;
  switch (text.length % 4) {
    case 1:
      return false;
    case 2:
      return 'AQgw'.includes(text.at(-1) as string);
    case 3:
      return 'AEIMQUYcgkosw048'.includes(text.at(-1) as string);
    default:
      return true;
  }
}

/** Unpadded base64url (RFC 4648 section 5) of exactly `bytes` bytes. */
export function base64urlOfBytes(bytes: number) {
  const length = Math.ceil((bytes * 4) / 3);
  return z
    .string()
    .length(length, `must be ${bytes} bytes as unpadded base64url (${length} characters)`)
    .refine(isCanonicalBase64url, 'must be canonical unpadded base64url');
}

/** Unpadded base64url of any length from `min` to `max` characters. */
export function base64url(min = 1, max = 1_000_000) {
  return z.string().min(min).max(max).refine(isCanonicalBase64url, 'must be canonical unpadded base64url');
}
