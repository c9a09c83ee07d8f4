import { AuthError, DirectoryError, HubError } from '@ncp-hub/protocol';
import { errors } from 'jose';
import { describe, expect, it } from 'vitest';
import { classifyJoseError, hubErrorOfJose, type JoseRefusalTable } from '../src/jose-errors.js';

describe('classifyJoseError', () => {
  it.each([
    [new errors.JWTExpired('x', {}, 'exp', 'check_failed'), { kind: 'expired' }],
    [new errors.JWTClaimValidationFailed('x', {}, 'sub', 'missing'), { kind: 'claim-missing', claim: 'sub' }],
    [new errors.JWTClaimValidationFailed('x', {}, 'nbf', 'check_failed'), { kind: 'claim-invalid', claim: 'nbf' }],
    [new errors.JWSSignatureVerificationFailed(), { kind: 'signature-invalid' }],
    [new errors.JWKSNoMatchingKey(), { kind: 'no-matching-key' }],
    [new errors.JWKSMultipleMatchingKeys(), { kind: 'several-matching-keys' }],
    [new errors.JOSEAlgNotAllowed('x'), { kind: 'alg-not-allowed' }],
    [new errors.JWSInvalid('x'), { kind: 'malformed' }],
    [new errors.JWTInvalid('x'), { kind: 'malformed' }],
    [new errors.JWKSTimeout(), { kind: 'other' }],
    [new Error('anything'), { kind: 'other' }],
  ])('%s is %o', (error, failure) => {
    expect(classifyJoseError(error)).toEqual(failure);
  });
});

describe('hubErrorOfJose', () => {
  const table: JoseRefusalTable = {
    expired: ['AUTH_TOKEN_EXPIRED', 'the token has expired'],
    'claim-missing': ({ claim }) => ['AUTH_CLAIM_MISSING', `the token has no ${claim}`],
    other: ['ATTESTATION_INVALID', 'could not be verified'],
  };

  it("answers by the table, as the code's family class, with the table's message only", () => {
    const expired = hubErrorOfJose(new errors.JWTExpired('token eyJhbGciOi… expired', {}), table);
    expect(expired).toBeInstanceOf(AuthError);
    expect(expired.toBody()).toEqual({ code: 'AUTH_TOKEN_EXPIRED', message: 'the token has expired' });
    const missing = hubErrorOfJose(new errors.JWTClaimValidationFailed('x', {}, 'iat', 'missing'), table);
    expect(missing.toBody()).toEqual({ code: 'AUTH_CLAIM_MISSING', message: 'the token has no iat' });
  });

  it('answers what the table does not list with `other`, and lets a HubError pass as it is', () => {
    const other = hubErrorOfJose(new errors.JWSSignatureVerificationFailed(), table);
    expect(other).toBeInstanceOf(DirectoryError);
    expect(other.code).toBe('ATTESTATION_INVALID');
    const own = new HubError('AGENCY_UNKNOWN', 'no such agency');
    expect(hubErrorOfJose(own, table)).toBe(own);
  });
});
