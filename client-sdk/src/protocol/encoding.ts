import { z } from 'zod';

/** Unpadded base64url (RFC 4648 section 5) of exactly `bytes` bytes. */
export function base64urlOfBytes(bytes: number) {
  const length = Math.ceil((bytes * 4) / 3);
  return z
    .string()
    .length(length, `must be ${bytes} bytes as unpadded base64url (${length} characters)`)
    .regex(/^[A-Za-z0-9_-]+$/, 'must be unpadded base64url');
}

/** Unpadded base64url of any length from `min` to `max` characters. */
export function base64url(min = 1, max = 1_000_000) {
  return z
    .string()
    .min(min)
    .max(max)
    .regex(/^[A-Za-z0-9_-]+$/, 'must be unpadded base64url');
}
