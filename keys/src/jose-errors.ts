/**
 * The one place where jose's exceptions are told apart. Each verifier of this package
 * (officer tokens, device attestations, audit checkpoints) maps the {@link JoseFailure} it
 * gets to its own code and fixed message; none of them tests jose's classes itself.
 *
 * Browser-safe: only `jose` and the protocol.
 *
 * @packageDocumentation
 */
import { HubError, type HubErrorCode, hubError } from '@ncp-hub/protocol';
import { errors } from 'jose';

/** What went wrong in a jose verification, as far as a verifier needs to know. */
export type JoseFailure =
  /** `exp` has passed. */
  | { kind: 'expired' }
  /** A required claim is absent. */
  | { kind: 'claim-missing'; claim: string }
  /** A claim's value is refused (`nbf` in the future, `aud` another, `iss` another, …). */
  | { kind: 'claim-invalid'; claim: string }
  /** The signature does not verify with the key found. */
  | { kind: 'signature-invalid' }
  /** No key of the key set matches the header (`kid`, `alg`). */
  | { kind: 'no-matching-key' }
  /** Several keys of the key set match the header. */
  | { kind: 'several-matching-keys' }
  /** The header's `alg` is not one of those allowed. */
  | { kind: 'alg-not-allowed' }
  /** The JWS or JWT is not well formed. */
  | { kind: 'malformed' }
  /** Anything else: a key set that could not be fetched, an unsupported key, a bug. */
  | { kind: 'other' };

/** Which {@link JoseFailure} `error` is (an exception from a jose verification). */
export function classifyJoseError(error: unknown): JoseFailure {
  if (error instanceof errors.JWTExpired) return { kind: 'expired' };
  if (error instanceof errors.JWTClaimValidationFailed) {
    return error.reason === 'missing'
      ? { kind: 'claim-missing', claim: error.claim }
      : { kind: 'claim-invalid', claim: error.claim };
  }
  if (error instanceof errors.JWSSignatureVerificationFailed) return { kind: 'signature-invalid' };
  if (error instanceof errors.JWKSNoMatchingKey) return { kind: 'no-matching-key' };
  if (error instanceof errors.JWKSMultipleMatchingKeys) return { kind: 'several-matching-keys' };
  if (error instanceof errors.JOSEAlgNotAllowed) return { kind: 'alg-not-allowed' };
  if (error instanceof errors.JWTInvalid || error instanceof errors.JWSInvalid) return { kind: 'malformed' };
  return { kind: 'other' };
}

/** A code and a fixed message: what a verifier answers for one kind of failure. */
export type JoseRefusal = readonly [code: Exclude<HubErrorCode, 'UNDECRYPTABLE' | 'INTERNAL'>, message: string];

/**
 * How a verifier answers each {@link JoseFailure}: a code and message, or a function of the
 * failure (to name the claim). `other` is required: it answers every failure not listed.
 */
export type JoseRefusalTable = {
  readonly [K in JoseFailure['kind']]?: JoseRefusal | ((failure: Extract<JoseFailure, { kind: K }>) => JoseRefusal);
} & { readonly other: JoseRefusal };

/**
 * The {@link HubError} of a jose exception, by `table`, as its family's class. A
 * {@link HubError} (thrown by a key resolver of ours) passes as it is. The message comes from the table only: never from the
 * exception, which may quote the token.
 *
 * @example
 * ```ts
 * try {
 *   await jwtVerify(token, keys);
 * } catch (error) {
 *   throw hubErrorOfJose(error, { expired: ['AUTH_TOKEN_EXPIRED', 'the token has expired'], other: [...] });
 * }
 * ```
 */
export function hubErrorOfJose(error: unknown, table: JoseRefusalTable): HubError {
  if (error instanceof HubError) return error;
  const failure = classifyJoseError(error);
  const answer = (table[failure.kind] ?? table.other) as JoseRefusal | ((failure: JoseFailure) => JoseRefusal);
  const [code, message] = typeof answer === 'function' ? answer(failure) : answer;
  return hubError(code, message);
}
