import { describe, expect, it } from 'vitest';
import {
  type AnyHubError,
  AuthError,
  ClientError,
  ConversationError,
  DirectoryError,
  ERROR_CODES_BY_FAMILY,
  errorFamilyOf,
  HUB_ERROR_CODES,
  HubError,
  hubError,
  hubErrorBodySchema,
  hubErrorFromBody,
  InternalError,
  isHubError,
  isHubErrorCode,
  QueryError,
  RequestError,
  toHubError,
  UndecryptableError,
} from '../src/index.js';

describe('the error model', () => {
  it('gives every code exactly one family', () => {
    const all = Object.values(ERROR_CODES_BY_FAMILY).flat();
    expect(new Set(all).size).toBe(all.length);
    expect([...HUB_ERROR_CODES].sort()).toEqual([...all].sort());
    for (const [family, codes] of Object.entries(ERROR_CODES_BY_FAMILY)) {
      for (const code of codes) expect(errorFamilyOf(code)).toBe(family);
    }
    expect(isHubErrorCode('AUTH_TOKEN_EXPIRED')).toBe(true);
    expect(isHubErrorCode('toString')).toBe(false);
    expect(isHubErrorCode(undefined)).toBe(false);
  });

  it('builds the class of each family, which a switch on code narrows to', () => {
    const cases: Array<[AnyHubError, abstract new (...args: never) => HubError]> = [
      [hubError('AUTH_TOKEN_EXPIRED', 'the token has expired'), AuthError],
      [hubError('RATE_LIMITED', 'slow down', { retryAfter: 250 }), RequestError],
      [hubError('DEVICE_NOT_PUBLISHED', 'publish first'), DirectoryError],
      [hubError('RECIPIENTS_CHANGED', 'devices changed', { missing: ['PL-KGP/anna/tablet'] }), ConversationError],
      [hubError('QUERY_NOT_FOUND', 'no such query'), QueryError],
      [hubError('HUB_UNREACHABLE', 'the hub could not be reached'), ClientError],
      [hubError('INTERNAL', 'ignored: the message is fixed'), InternalError],
    ];
    for (const [error, Class] of cases) {
      expect(error).toBeInstanceOf(Class);
      expect(error).toBeInstanceOf(HubError);
      expect(error.family).toBe(errorFamilyOf(error.code));
    }
    const limited = cases[1]?.[0] as AnyHubError;
    switch (limited.code) {
      case 'RATE_LIMITED':
        expect(limited).toBeInstanceOf(RequestError);
        expect(limited.retryAfter).toBe(250);
        break;
      default:
        throw new Error('not narrowed');
    }
    expect(cases[6]?.[0].message).toBe('internal error');
  });

  it('sends code, message and the optional fields, never the cause', () => {
    const secret = new Error('token eyJhbGciOi... was refused');
    const error = new ConversationError('RECIPIENTS_CHANGED', 'the recipients changed', {
      cause: secret,
      missing: ['PL-KGP/anna/tablet'],
    });
    expect(error.cause).toBe(secret);
    expect(error.toBody()).toEqual({
      code: 'RECIPIENTS_CHANGED',
      message: 'the recipients changed',
      missing: ['PL-KGP/anna/tablet'],
    });
    expect(JSON.stringify(error.toBody())).not.toContain('eyJ');
    expect(new UndecryptableError('DECRYPT_FAILED').toBody()).toEqual({
      code: 'UNDECRYPTABLE',
      message: 'the envelope could not be decrypted',
    });
  });

  it('turns a wire body back into its class, and anything else into INTERNAL', () => {
    const back = hubErrorFromBody({ code: 'RATE_LIMITED', message: 'slow down', retryAfter: 100, extra: 1 });
    expect(back).toBeInstanceOf(RequestError);
    expect(back.toBody()).toEqual({ code: 'RATE_LIMITED', message: 'slow down', retryAfter: 100 });
    for (const garbage of [null, 'RATE_LIMITED', 42, {}, { code: 'NOPE' }, { code: 'UNDECRYPTABLE' }, []]) {
      expect(hubErrorFromBody(garbage)).toBeInstanceOf(InternalError);
    }
    expect(hubErrorFromBody({ code: 'NOT_A_MEMBER' })).toBeInstanceOf(InternalError);
    expect(hubErrorFromBody({ code: 'RATE_LIMITED', message: 'slow down', retryAfter: -1 })).toBeInstanceOf(
      InternalError,
    );
  });

  it('does not believe a hub that sends a code only an SDK raises', () => {
    for (const code of ERROR_CODES_BY_FAMILY.client) {
      expect(hubErrorFromBody({ code, message: 'the hub could not be reached' })).toBeInstanceOf(InternalError);
    }
    expect(hubErrorBodySchema.safeParse({ code: 'HUB_UNREACHABLE', message: 'x' }).success).toBe(true);
  });

  it('narrows with isHubError', () => {
    const error: unknown = hubError('RATE_LIMITED', 'slow down', { retryAfter: 5 });
    expect(isHubError(error) && error.code === 'RATE_LIMITED' && error.retryAfter).toBe(5);
    expect(isHubError(new Error('x'))).toBe(false);
    expect(isHubError({ code: 'RATE_LIMITED', message: 'x' })).toBe(false);
  });

  it('has one fallback for the unexpected: hub errors pass, the rest is INTERNAL with its cause kept for logs', () => {
    const known = new QueryError('QUERY_NOT_FOUND', 'no such query');
    expect(toHubError(known)).toBe(known);
    const boom = new TypeError('Cannot read properties of undefined');
    const internal = toHubError(boom);
    expect(internal).toBeInstanceOf(InternalError);
    expect(internal.cause).toBe(boom);
    expect(internal.toBody()).toEqual({ code: 'INTERNAL', message: 'internal error' });
    expect(toHubError('a string').code).toBe('INTERNAL');
  });
});
