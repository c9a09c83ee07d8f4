import type { z } from 'zod';

/**
 * A `TypeError` for a caller's invalid input, naming the fields at fault and never their
 * values (which may be keys or message text). Internal to the crypto module.
 */
export function inputError(what: string, error: z.ZodError): TypeError {
  const fields = [...new Set(error.issues.map((issue) => issue.path.join('.') || '(root)'))].join(', ');
  return new TypeError(`${what}: invalid ${fields}`);
}

/** Throws a `TypeError` unless `bytes` is a `Uint8Array` of `length` bytes. */
export function assertBytes(what: string, bytes: unknown, length: number): asserts bytes is Uint8Array {
  if (!(bytes instanceof Uint8Array) || bytes.length !== length) {
    throw new TypeError(`${what}: must be ${length} bytes`);
  }
}
