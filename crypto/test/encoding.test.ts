import {
  canonicalBytes,
  canonicalJson,
  fromBase64url,
  HubError,
  toBase64url,
  UndecryptableError,
} from '@ncp-hub/protocol';
import { describe, expect, it } from 'vitest';
import {
  CryptoCheckError,
  getSodium,
  isUndecryptableReason,
  randomBytes,
  UNDECRYPTABLE_REASONS,
} from '../src/index.js';

describe('base64url', () => {
  it('encodes without padding, with - and _', () => {
    expect(toBase64url(new Uint8Array([]))).toBe('');
    expect(toBase64url(new Uint8Array([0xfb, 0xff]))).toBe('-_8');
    expect(toBase64url(new TextEncoder().encode('foobar'))).toBe('Zm9vYmFy');
    expect(toBase64url(new TextEncoder().encode('fooba'))).toBe('Zm9vYmE');
    expect(toBase64url(new TextEncoder().encode('foob'))).toBe('Zm9vYg');
  });

  it('round trips every length and agrees with libsodium', async () => {
    const sodium = await getSodium();
    for (let n = 0; n < 70; n++) {
      const bytes = randomBytes(n);
      const text = toBase64url(bytes);
      expect(text).toBe(sodium.to_base64(bytes, sodium.base64_variants.URLSAFE_NO_PADDING));
      expect(fromBase64url(text)).toEqual(bytes);
    }
  });

  it('is strict', () => {
    for (const bad of ['A', 'AB==', 'Zm9v YmFy', 'Zm9v+mFy', 'Zm9v/mFy', 'AR', 'AQJ', 'Zm9vYmF=', 'é', '\u0000AAA']) {
      expect(() => fromBase64url(bad), bad).toThrow(TypeError);
    }
    expect(() => fromBase64url(42 as unknown as string)).toThrow(TypeError);
    expect(fromBase64url('AQ')).toEqual(new Uint8Array([1]));
    expect(fromBase64url('AQI')).toEqual(new Uint8Array([1, 2]));
  });
});

describe('canonical JSON (RFC 8785)', () => {
  it('sorts members, drops whitespace, serialises numbers and strings as ECMAScript does', () => {
    expect(canonicalJson({ b: 1, a: [true, null, 'x'], c: { z: 1e21, y: 0.000001, x: -0 } })).toBe(
      '{"a":[true,null,"x"],"b":1,"c":{"x":0,"y":0.000001,"z":1e+21}}',
    );
    expect(canonicalJson({ '\u20ac': 1, '\r': 2, '1': 3, é: 4 })).toBe('{"\\r":2,"1":3,"é":4,"€":1}');
    expect(canonicalJson('line\n"quote"\u001f')).toBe('"line\\n\\"quote\\"\\u001f"');
    expect(new TextDecoder().decode(canonicalBytes({ é: 'ü' }))).toBe('{"é":"ü"}');
    expect(canonicalBytes({ é: 'ü' })).toHaveLength(11);
  });

  it('refuses values without a JSON form', () => {
    expect(() => canonicalJson(undefined)).toThrow(TypeError);
    expect(() => canonicalJson(Number.NaN)).toThrow(TypeError);
    expect(() => canonicalJson({ a: Number.POSITIVE_INFINITY })).toThrow(TypeError);
    expect(() => canonicalJson('\ud800')).toThrow(TypeError);
    const cycle: Record<string, unknown> = {};
    cycle.self = cycle;
    expect(() => canonicalJson(cycle)).toThrow(TypeError);
  });
});

describe('randomBytes', () => {
  it('gives n random bytes, beyond the 65,536-byte limit of getRandomValues too', () => {
    expect(randomBytes(0)).toHaveLength(0);
    expect(randomBytes(32)).not.toEqual(randomBytes(32));
    const big = randomBytes(200_000);
    expect(big).toHaveLength(200_000);
    expect(big.subarray(150_000, 150_032).some((byte) => byte !== 0)).toBe(true);
    expect(() => randomBytes(-1)).toThrow(RangeError);
  });
});

describe('UndecryptableError (CryptoCheckError in SDK 0.1)', () => {
  it('is a hub error with code UNDECRYPTABLE, a reason and a fixed message', () => {
    for (const reason of UNDECRYPTABLE_REASONS) {
      const error = new CryptoCheckError(reason);
      expect(error).toBeInstanceOf(Error);
      expect(error).toBeInstanceOf(HubError);
      expect(error).toBeInstanceOf(UndecryptableError);
      expect(error.name).toBe('UndecryptableError');
      expect(error.code).toBe('UNDECRYPTABLE');
      expect(error.toBody()).toEqual({ code: 'UNDECRYPTABLE', message: error.message });
      expect(error.reason).toBe(reason);
      expect(error.message.length).toBeGreaterThan(10);
      expect(isUndecryptableReason(reason)).toBe(true);
    }
    expect(isUndecryptableReason('NOPE')).toBe(false);
  });
});
