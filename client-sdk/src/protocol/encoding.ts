import { z } from 'zod';

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
