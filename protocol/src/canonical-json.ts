import canonicalize from 'canonicalize';

const utf8 = new TextEncoder();

/**
 * The RFC 8785 (JSON Canonicalization Scheme) form of `value`: object members sorted by
 * UTF-16 code units, no whitespace, ECMAScript number and string serialisation. Throws a
 * `TypeError` for values that have none (`undefined`, functions, NaN, infinities, lone
 * surrogates, cycles).
 *
 * @example
 * ```ts
 * canonicalJson({ b: 1, a: [true, 'x'] }); // '{"a":[true,"x"],"b":1}'
 * ```
 */
export function canonicalJson(value: unknown): string {
  let text: string | undefined;
  try {
    text = canonicalize(value);
  } catch (error) {
    throw new TypeError(`canonical JSON: ${error instanceof Error ? error.message : 'value not serialisable'}`);
  }
  if (text === undefined) {
    throw new TypeError('canonical JSON: value has no JSON representation');
  }
  return text;
}

/**
 * The UTF-8 bytes of {@link canonicalJson}`(value)`: what is signed, hashed and used as
 * associated data.
 *
 * @example
 * ```ts
 * canonicalBytes({ v: 1 }); // Uint8Array of '{"v":1}'
 * ```
 */
export function canonicalBytes(value: unknown): Uint8Array {
  return utf8.encode(canonicalJson(value));
}
