import {
  type AgencyId,
  ALLOWED_JWT_ALGORITHMS,
  type AllowedJwtAlgorithm,
  AuthError,
  type AuthErrorCode,
  type Identity,
  MAX_TOKEN_LENGTH,
  MAX_TOKEN_LIFETIME_SECONDS,
  officerIdSchema,
  ROLES,
  ROLES_BY_AGENCY_KIND,
  type Role,
} from '@ncp-hub/protocol';
import { decodeJwt, decodeProtectedHeader, importJWK, type JWK, jwtVerify, SignJWT } from 'jose';
import { hubErrorOfJose, type JoseRefusalTable } from './jose-errors.js';
import type { TrustRegistry } from './trust-registry.js';

/** Longest token accepted, in characters; anything longer is refused unparsed (the protocol's limit). */
export { MAX_TOKEN_LENGTH };

/**
 * JOSE header parameters that make a verifier fetch or trust key material, or change
 * processing: refused in officer tokens and device attestations.
 */
export const FORBIDDEN_HEADER_PARAMETERS: readonly string[] = [
  'crit',
  'jwk',
  'jku',
  'x5u',
  'x5c',
  'x5t',
  'x5t#S256',
  'b64',
  'zip',
  'enc',
];

/** Options of {@link verifyOfficerToken}. */
export interface VerifyOfficerTokenOptions {
  /** The hub id the token must name in `aud`. */
  audience: string;
  /**
   * Clock skew tolerated on `exp`, `nbf` and `iat`, in seconds.
   * @defaultValue 0
   */
  clockToleranceSeconds?: number;
  /**
   * The time to verify at.
   * @defaultValue now
   */
  currentDate?: Date;
}

function refuse(code: AuthErrorCode, message: string): never {
  throw new AuthError(code, message);
}

/**
 * Verifies an officer token (a compact JWS-signed JWT) against the key set of the agency it
 * names in `iss`, and only that agency's. Returns the verified identity or throws a
 * {@link AuthError} with an `AUTH_*` code; the error message never contains the token.
 *
 * @example
 * ```ts
 * const identity = await verifyOfficerToken(token, registry, { audience: 'ncp-hub' });
 * console.log(identity.agency, identity.officer, identity.roles);
 * ```
 */
export async function verifyOfficerToken(
  token: unknown,
  registry: TrustRegistry,
  options: VerifyOfficerTokenOptions,
): Promise<Identity> {
  if (token === undefined || token === null || token === '') refuse('AUTH_TOKEN_MISSING', 'no token was given');
  if (typeof token !== 'string' || token.length > MAX_TOKEN_LENGTH) {
    refuse('AUTH_TOKEN_MALFORMED', 'the token is not a compact JWS');
  }
  const segments = token.split('.');
  if (segments.length === 5) refuse('AUTH_JWE_NOT_ACCEPTED', 'encrypted tokens (JWE) are not accepted');
  if (segments.length !== 3 || segments.some((segment) => !/^[A-Za-z0-9_-]*$/.test(segment))) {
    refuse('AUTH_TOKEN_MALFORMED', 'the token is not a compact JWS');
  }

  let header: Record<string, unknown>;
  let claims: Record<string, unknown>;
  try {
    header = decodeProtectedHeader(token) as Record<string, unknown>;
    claims = decodeJwt(token) as Record<string, unknown>;
  } catch {
    refuse('AUTH_TOKEN_MALFORMED', 'the token header or claims are not valid JSON');
  }
  if ('enc' in header) refuse('AUTH_JWE_NOT_ACCEPTED', 'encrypted tokens (JWE) are not accepted');
  if (!ALLOWED_JWT_ALGORITHMS.includes(header.alg as AllowedJwtAlgorithm)) {
    refuse('AUTH_ALG_NOT_ALLOWED', `alg must be one of ${ALLOWED_JWT_ALGORITHMS.join(', ')}`);
  }
  const forbidden = FORBIDDEN_HEADER_PARAMETERS.filter((name) => name in header);
  if (forbidden.length > 0) refuse('AUTH_HEADER_NOT_ALLOWED', `header parameter not allowed: ${forbidden.join(', ')}`);
  // Any other typ (a device attestation is `ncp-device+jwt`) is another kind of JWS, never an officer token.
  if ('typ' in header && (typeof header.typ !== 'string' || header.typ.toLowerCase() !== 'jwt')) {
    refuse('AUTH_HEADER_NOT_ALLOWED', 'the token typ must be JWT');
  }
  if (typeof header.kid !== 'string' || header.kid === '') refuse('AUTH_KID_MISSING', 'the token header has no kid');
  if (typeof claims.iss !== 'string' || claims.iss === '') refuse('AUTH_CLAIM_MISSING', 'the token has no iss');

  const agency = registry.get(claims.iss);
  if (!agency) refuse('AUTH_ISSUER_UNKNOWN', 'the issuing agency is not in the trust registry');

  const tolerance = options.clockToleranceSeconds ?? 0;
  let payload: Record<string, unknown>;
  try {
    ({ payload } = await jwtVerify(token, agency.keys, {
      algorithms: [...ALLOWED_JWT_ALGORITHMS],
      issuer: agency.id,
      audience: options.audience,
      requiredClaims: ['exp', 'iat', 'sub'],
      clockTolerance: tolerance,
      ...(options.currentDate ? { currentDate: options.currentDate } : {}),
    }));
  } catch (error) {
    throw hubErrorOfJose(error, agency.entry.jwksUri === undefined ? TOKEN_REFUSALS : REMOTE_TOKEN_REFUSALS);
  }

  const now = Math.floor((options.currentDate ?? new Date()).getTime() / 1000);
  const { exp, iat, sub, roles } = payload as { exp: number; iat: number; sub: unknown; roles: unknown };
  if (iat > now + tolerance) refuse('AUTH_TOKEN_NOT_YET_VALID', 'the token was issued in the future (iat)');
  // jose accepts an aud array that contains the hub; a token meant for other services too could be
  // replayed between them, so it must name this hub alone.
  if (Array.isArray(payload.aud) && payload.aud.length !== 1) {
    refuse('AUTH_AUDIENCE_INVALID', 'the token must be meant for this hub alone (aud)');
  }
  if (exp - iat > MAX_TOKEN_LIFETIME_SECONDS) {
    refuse('AUTH_LIFETIME_TOO_LONG', `exp may be at most ${MAX_TOKEN_LIFETIME_SECONDS} seconds after iat`);
  }
  if (!officerIdSchema.safeParse(sub).success) refuse('AUTH_CLAIM_INVALID', 'sub is not a valid officer id');
  if (roles === undefined) refuse('AUTH_CLAIM_MISSING', 'the token has no roles');
  if (
    !Array.isArray(roles) ||
    roles.length === 0 ||
    !roles.every((role) => ROLES.includes(role as Role)) ||
    new Set(roles).size !== roles.length
  ) {
    refuse('AUTH_CLAIM_INVALID', `roles must be a non-empty list of distinct roles from ${ROLES.join(', ')}`);
  }
  const allowed = ROLES_BY_AGENCY_KIND[agency.kind];
  const notAllowed = (roles as Role[]).filter((role) => !allowed.includes(role));
  if (notAllowed.length > 0) {
    refuse('AUTH_ROLE_NOT_ALLOWED', `an agency of kind ${agency.kind} cannot grant: ${notAllowed.join(', ')}`);
  }
  // The agency revoked this officer (its registry entry's `revoked.officers`): every token of it is refused.
  if (registry.revocation({ agency: agency.id, officer: sub as string }) === 'AUTH_OFFICER_REVOKED') {
    refuse('AUTH_OFFICER_REVOKED', 'the agency has revoked this officer');
  }
  return {
    agency: agency.id,
    agencyKind: agency.kind,
    country: agency.country,
    officer: sub as string,
    roles: roles as Role[],
    expiresAt: exp,
  };
}

/** The hub's code and fixed message of each jose failure of an officer token's verification. */
const TOKEN_REFUSALS = {
  expired: ['AUTH_TOKEN_EXPIRED', 'the token has expired'],
  'claim-missing': ({ claim }) => ['AUTH_CLAIM_MISSING', `the token has no ${claim}`],
  'claim-invalid': ({ claim }) => {
    if (claim === 'nbf') return ['AUTH_TOKEN_NOT_YET_VALID', 'the token is not valid yet (nbf)'];
    if (claim === 'aud') return ['AUTH_AUDIENCE_INVALID', 'the token is not meant for this hub (aud)'];
    return ['AUTH_CLAIM_INVALID', `the token claim ${claim} is invalid`];
  },
  'signature-invalid': ['AUTH_SIGNATURE_INVALID', 'the token signature is invalid'],
  'no-matching-key': ['AUTH_KID_UNKNOWN', 'the agency has no key with this kid'],
  'alg-not-allowed': ['AUTH_ALG_NOT_ALLOWED', `alg must be one of ${ALLOWED_JWT_ALGORITHMS.join(', ')}`],
  malformed: ['AUTH_TOKEN_MALFORMED', 'the token could not be verified'],
  other: ['AUTH_TOKEN_MALFORMED', 'the token could not be verified'],
} as const satisfies JoseRefusalTable;

/** As {@link TOKEN_REFUSALS}, for an agency whose keys are fetched: any other failure is the fetch's. */
const REMOTE_TOKEN_REFUSALS: JoseRefusalTable = {
  ...TOKEN_REFUSALS,
  other: ['AUTH_KEYS_UNAVAILABLE', "the agency's keys could not be fetched"],
};

/** Options of {@link issueOfficerToken}. */
export interface IssueOfficerTokenOptions {
  /** The issuing agency (`iss`). */
  agency: AgencyId;
  /** The officer (`sub`). */
  officer: string;
  roles: readonly Role[];
  /** The agency's private signing JWK, with `kid` and `alg`. */
  privateJwk: JWK;
  /**
   * The hub id (`aud`).
   * @defaultValue `ncp-hub`
   */
  audience?: string;
  /**
   * Lifetime in seconds, at most {@link MAX_TOKEN_LIFETIME_SECONDS}.
   * @defaultValue 3600
   */
  ttlSeconds?: number;
}

/**
 * Issues an officer token signed with an agency key, as an agency's own identity system
 * would. The hub never does this; the CLI and tests do.
 *
 * @example
 * ```ts
 * const token = await issueOfficerToken({ agency: 'UA-NPU', officer: 'o.petrenko', roles: ['officer'], privateJwk });
 * ```
 */
export async function issueOfficerToken(options: IssueOfficerTokenOptions): Promise<string> {
  const { privateJwk } = options;
  const ttl = options.ttlSeconds ?? 3600;
  if (!Number.isInteger(ttl) || ttl <= 0 || ttl > MAX_TOKEN_LIFETIME_SECONDS) {
    throw new RangeError(`ttlSeconds must be an integer from 1 to ${MAX_TOKEN_LIFETIME_SECONDS}`);
  }
  if (!privateJwk.kid || !ALLOWED_JWT_ALGORITHMS.includes(privateJwk.alg as AllowedJwtAlgorithm)) {
    throw new TypeError(`the private JWK needs a kid and alg ${ALLOWED_JWT_ALGORITHMS.join(' or ')}`);
  }
  const key = await importJWK(privateJwk, privateJwk.alg);
  return new SignJWT({ roles: [...options.roles] })
    .setProtectedHeader({ alg: privateJwk.alg as string, kid: privateJwk.kid, typ: 'JWT' })
    .setIssuer(options.agency)
    .setSubject(options.officer)
    .setAudience(options.audience ?? 'ncp-hub')
    .setIssuedAt()
    .setExpirationTime(`${ttl}s`)
    .sign(key);
}
