/**
 * Device attestations: an agency binds one officer device's public keys (X25519 for
 * encryption, Ed25519 for signing) to the officer with a compact JWS signed by the agency
 * key. The hub publishes attestations but cannot forge them, so a client that verifies them
 * against pinned agency keys catches a hub that substitutes device keys.
 *
 * Browser-safe: this module uses only `jose`, `zod` and the protocol of the client SDK.
 *
 * @packageDocumentation
 */
import {
  type AgencyId,
  ALLOWED_JWT_ALGORITHMS,
  type AllowedJwtAlgorithm,
  agencyIdSchema,
  base64urlOfBytes,
  type DeviceId,
  DirectoryError,
  deviceIdSchema,
  MAX_ATTESTATION_LENGTH,
  MAX_ATTESTATION_TTL_SECONDS,
  type OfficerId,
  officerIdSchema,
} from '@ncp-hub/protocol';
import {
  createLocalJWKSet,
  decodeJwt,
  decodeProtectedHeader,
  importJWK,
  type JWK,
  type JWTVerifyGetKey,
  jwtVerify,
  SignJWT,
} from 'jose';
import type { z } from 'zod';
import { hubErrorOfJose, type JoseRefusalTable } from './jose-errors.js';
import { FORBIDDEN_HEADER_PARAMETERS } from './officer-token.js';

/** The `typ` header of a device attestation; an officer token (`typ: JWT`) is never one. */
export const DEVICE_ATTESTATION_TYPE = 'ncp-device+jwt';

/** Default lifetime of an attestation, in seconds: 30 days. */
export const DEFAULT_ATTESTATION_TTL_SECONDS = 30 * 24 * 3600;

/** The protocol's limits: longest attestation lifetime (365 days) and length (as `directory:publish` allows). */
export { MAX_ATTESTATION_LENGTH, MAX_ATTESTATION_TTL_SECONDS };

/**
 * A device public key (libsodium `crypto_box` X25519 or `crypto_sign` Ed25519): 32 bytes as
 * unpadded base64url, canonical (the unused low bits of the last character are zero), as
 * libsodium's `sodium_base642bin` requires.
 */
export const devicePublicKeySchema = base64urlOfBytes(32).refine(
  (value) => 'AEIMQUYcgkosw048'.includes(value.at(-1) ?? ''),
  'must be canonical unpadded base64url (the last character encodes unused bits)',
);

/** A verified device attestation. */
export interface DeviceAttestation {
  /** The attesting agency (`iss`). */
  agency: AgencyId;
  /** The officer (`sub`). */
  officer: OfficerId;
  /** The device (`dev`). */
  device: DeviceId;
  /** The device's X25519 public key (`enc`), unpadded base64url. */
  encryptionKey: string;
  /** The device's Ed25519 public key (`sig`), unpadded base64url. */
  signingKey: string;
  /** `iat`, seconds since the epoch. */
  issuedAt: number;
  /** `exp`, seconds since the epoch. */
  expiresAt: number;
  /** The `kid` of the agency key that signed it. */
  kid: string;
  /** The attestation itself, as verified. */
  jws: string;
}

/** Options of {@link issueDeviceAttestation}. */
export interface IssueDeviceAttestationOptions {
  /** The attesting agency (`iss`). */
  agency: string;
  /** The officer (`sub`). */
  officer: string;
  /** The device (`dev`). */
  device: string;
  /** The device's X25519 public key, 32 bytes as unpadded base64url (`enc`). */
  encryptionKey: string;
  /** The device's Ed25519 public key, 32 bytes as unpadded base64url (`sig`). */
  signingKey: string;
  /** The agency's private signing JWK, with `kid` and `alg` (`EdDSA` or `ES256`). */
  privateJwk: JWK;
  /**
   * Lifetime in seconds, at most {@link MAX_ATTESTATION_TTL_SECONDS}.
   * @defaultValue {@link DEFAULT_ATTESTATION_TTL_SECONDS}
   */
  ttlSeconds?: number;
}

/** Options of {@link verifyDeviceAttestation}. */
export interface VerifyDeviceAttestationOptions {
  /**
   * The time to verify at.
   * @defaultValue now
   */
  currentDate?: Date;
  /** Each field given must equal the attestation's. */
  expected?: Partial<{ agency: string; officer: string; device: string }>;
  /**
   * Clock skew tolerated on `exp`, `nbf` and `iat`, in seconds.
   * @defaultValue 0
   */
  clockToleranceSeconds?: number;
}

function refuse(message: string): never {
  throw new DirectoryError('ATTESTATION_INVALID', message);
}

/** Whether `value` passes `schema`. */
function valid(schema: z.ZodType, value: unknown): boolean {
  return schema.safeParse(value).success;
}

/** Throws a `TypeError` naming the option and the schema's message when `value` fails `schema`. */
function requireValid(schema: z.ZodType, value: unknown, name: string): void {
  const parsed = schema.safeParse(value);
  if (!parsed.success) throw new TypeError(`${name}: ${parsed.error.issues[0]?.message ?? 'invalid value'}`);
}

/**
 * Issues a device attestation: a compact JWS (`typ: ncp-device+jwt`) signed with the
 * agency's private key, binding agency, officer, device id and the device's two public keys.
 * Throws a `TypeError` for an invalid id, key or JWK and a `RangeError` for a bad lifetime.
 *
 * @example
 * ```ts
 * const attestation = await issueDeviceAttestation({
 *   agency: 'UA-NPU',
 *   officer: 'o.petrenko',
 *   device: 'laptop-1',
 *   encryptionKey: sodium.to_base64(boxKeyPair.publicKey, sodium.base64_variants.URLSAFE_NO_PADDING),
 *   signingKey: sodium.to_base64(signKeyPair.publicKey, sodium.base64_variants.URLSAFE_NO_PADDING),
 *   privateJwk,
 * });
 * ```
 */
export async function issueDeviceAttestation(options: IssueDeviceAttestationOptions): Promise<string> {
  const { privateJwk } = options;
  requireValid(agencyIdSchema, options.agency, 'agency');
  requireValid(officerIdSchema, options.officer, 'officer');
  requireValid(deviceIdSchema, options.device, 'device');
  requireValid(devicePublicKeySchema, options.encryptionKey, 'encryptionKey');
  requireValid(devicePublicKeySchema, options.signingKey, 'signingKey');
  const ttl = options.ttlSeconds ?? DEFAULT_ATTESTATION_TTL_SECONDS;
  if (!Number.isInteger(ttl) || ttl <= 0 || ttl > MAX_ATTESTATION_TTL_SECONDS) {
    throw new RangeError(`ttlSeconds must be an integer from 1 to ${MAX_ATTESTATION_TTL_SECONDS}`);
  }
  if (!privateJwk?.kid || !ALLOWED_JWT_ALGORITHMS.includes(privateJwk.alg as AllowedJwtAlgorithm)) {
    throw new TypeError(`the private JWK needs a kid and alg ${ALLOWED_JWT_ALGORITHMS.join(' or ')}`);
  }
  if (typeof privateJwk.d !== 'string') throw new TypeError('the JWK is not a private key');
  const key = await importJWK(privateJwk, privateJwk.alg);
  const iat = Math.floor(Date.now() / 1000);
  return new SignJWT({
    iss: options.agency,
    sub: options.officer,
    dev: options.device,
    enc: options.encryptionKey,
    sig: options.signingKey,
    iat,
    exp: iat + ttl,
  })
    .setProtectedHeader({ alg: privateJwk.alg as string, kid: privateJwk.kid, typ: DEVICE_ATTESTATION_TYPE })
    .sign(key);
}

/** Checks the outer form of a compact JWS and decodes its header and payload, unverified. */
function decodeCompact(jws: unknown): { header: Record<string, unknown>; claims: Record<string, unknown> } {
  if (typeof jws !== 'string' || jws === '' || jws.length > MAX_ATTESTATION_LENGTH) {
    refuse('the attestation is not a compact JWS');
  }
  const segments = jws.split('.');
  if (segments.length !== 3 || segments.some((segment) => !/^[A-Za-z0-9_-]+$/.test(segment))) {
    refuse('the attestation is not a compact JWS');
  }
  try {
    return {
      header: decodeProtectedHeader(jws) as Record<string, unknown>,
      claims: decodeJwt(jws) as Record<string, unknown>,
    };
  } catch {
    refuse('the attestation header or claims are not valid JSON');
  }
}

/**
 * Reads who an attestation claims to be for, **without verifying it**: use it only to pick
 * the agency key set to verify against with {@link verifyDeviceAttestation}. Throws a
 * {@link DirectoryError} `ATTESTATION_INVALID` when it is not a well-formed device attestation.
 */
export function decodeDeviceAttestation(jws: string): { agency: AgencyId; officer: OfficerId; device: DeviceId } {
  const { header, claims } = decodeCompact(jws);
  if (header.typ !== DEVICE_ATTESTATION_TYPE) refuse(`the attestation typ must be ${DEVICE_ATTESTATION_TYPE}`);
  if (!valid(agencyIdSchema, claims.iss)) refuse('the attestation iss is not a valid agency id');
  if (!valid(officerIdSchema, claims.sub)) refuse('the attestation sub is not a valid officer id');
  if (!valid(deviceIdSchema, claims.dev)) refuse('the attestation dev is not a valid device id');
  return { agency: claims.iss as string, officer: claims.sub as string, device: claims.dev as string };
}

/** The fixed message of each jose failure of an attestation's verification (all `ATTESTATION_INVALID`). */
const ATTESTATION_REFUSALS = {
  expired: ['ATTESTATION_INVALID', 'the attestation has expired'],
  'claim-missing': ({ claim }) => ['ATTESTATION_INVALID', `the attestation has no ${claim}`],
  'claim-invalid': ({ claim }) =>
    claim === 'nbf'
      ? ['ATTESTATION_INVALID', 'the attestation is not valid yet (nbf)']
      : ['ATTESTATION_INVALID', `the attestation claim ${claim} is invalid`],
  'signature-invalid': ['ATTESTATION_INVALID', 'the attestation signature is invalid'],
  'no-matching-key': ['ATTESTATION_INVALID', 'the agency has no key with this kid'],
  'alg-not-allowed': ['ATTESTATION_INVALID', `the attestation alg must be one of ${ALLOWED_JWT_ALGORITHMS.join(', ')}`],
  malformed: ['ATTESTATION_INVALID', 'the attestation is not a valid JWS'],
  other: ['ATTESTATION_INVALID', 'the attestation could not be verified against the agency keys'],
} as const satisfies JoseRefusalTable;

/**
 * Verifies a device attestation against the key set of the agency it names, and returns
 * what it attests. Only `EdDSA` and `ES256`, `typ` exactly `ncp-device+jwt`, a `kid`, no
 * header that brings or points to key material, all of `iss sub dev enc sig iat exp` valid,
 * a lifetime of at most {@link MAX_ATTESTATION_TTL_SECONDS}, not expired, and each field of
 * `options.expected` matching. Any failure throws a {@link DirectoryError} `ATTESTATION_INVALID`
 * with a fixed message that never contains the attestation.
 *
 * `agencyKeys` must be the keys of the agency the attestation claims (learn it with
 * {@link decodeDeviceAttestation}, or pass `expected.agency`): a key resolver such as a
 * trust registry agency's `keys`, or a JWKS `{ keys }` (pinned agency keys).
 *
 * @example
 * ```ts
 * const claimed = decodeDeviceAttestation(jws);
 * const device = await verifyDeviceAttestation(jws, pinnedJwks[claimed.agency], {
 *   expected: { agency: 'UA-NPU', officer: 'o.petrenko' },
 * });
 * console.log(device.device, device.encryptionKey, device.signingKey);
 * ```
 */
export async function verifyDeviceAttestation(
  jws: unknown,
  agencyKeys: JWTVerifyGetKey | { keys: JWK[] },
  options: VerifyDeviceAttestationOptions = {},
): Promise<DeviceAttestation> {
  const { header } = decodeCompact(jws);
  const token = jws as string;
  if (header.typ !== DEVICE_ATTESTATION_TYPE) refuse(`the attestation typ must be ${DEVICE_ATTESTATION_TYPE}`);
  if (!ALLOWED_JWT_ALGORITHMS.includes(header.alg as AllowedJwtAlgorithm)) {
    refuse(`the attestation alg must be one of ${ALLOWED_JWT_ALGORITHMS.join(', ')}`);
  }
  if (FORBIDDEN_HEADER_PARAMETERS.some((name) => name in header)) {
    refuse('the attestation header has a parameter that is not allowed');
  }
  if (typeof header.kid !== 'string' || header.kid === '') refuse('the attestation header has no kid');
  const kid = header.kid;

  const keys = typeof agencyKeys === 'function' ? agencyKeys : createLocalJWKSet(agencyKeys);
  const tolerance = options.clockToleranceSeconds ?? 0;
  let payload: Record<string, unknown>;
  try {
    ({ payload } = await jwtVerify(token, keys, {
      algorithms: [...ALLOWED_JWT_ALGORITHMS],
      typ: DEVICE_ATTESTATION_TYPE,
      requiredClaims: ['iss', 'sub', 'dev', 'enc', 'sig', 'iat', 'exp'],
      clockTolerance: tolerance,
      ...(options.currentDate ? { currentDate: options.currentDate } : {}),
    }));
  } catch (error) {
    throw hubErrorOfJose(error, ATTESTATION_REFUSALS);
  }

  const { iss, sub, dev, enc, sig, iat, exp } = payload;
  if (!valid(agencyIdSchema, iss)) refuse('the attestation iss is not a valid agency id');
  if (!valid(officerIdSchema, sub)) refuse('the attestation sub is not a valid officer id');
  if (!valid(deviceIdSchema, dev)) refuse('the attestation dev is not a valid device id');
  if (!valid(devicePublicKeySchema, enc)) refuse('the attestation enc is not a 32-byte base64url key');
  if (!valid(devicePublicKeySchema, sig)) refuse('the attestation sig is not a 32-byte base64url key');
  if (!Number.isSafeInteger(iat) || !Number.isSafeInteger(exp)) refuse('the attestation iat and exp must be integers');
  const issuedAt = iat as number;
  const expiresAt = exp as number;
  const now = Math.floor((options.currentDate ?? new Date()).getTime() / 1000);
  if (issuedAt > now + tolerance) refuse('the attestation was issued in the future (iat)');
  if (expiresAt <= issuedAt) refuse('the attestation expires before it was issued');
  if (expiresAt - issuedAt > MAX_ATTESTATION_TTL_SECONDS) {
    refuse(`the attestation lifetime exceeds ${MAX_ATTESTATION_TTL_SECONDS} seconds`);
  }

  const expected = options.expected ?? {};
  if (expected.agency !== undefined && expected.agency !== iss)
    refuse('the attestation is not from the expected agency');
  if (expected.officer !== undefined && expected.officer !== sub) {
    refuse('the attestation is not for the expected officer');
  }
  if (expected.device !== undefined && expected.device !== dev)
    refuse('the attestation is not for the expected device');

  return {
    agency: iss as string,
    officer: sub as string,
    device: dev as string,
    encryptionKey: enc as string,
    signingKey: sig as string,
    issuedAt,
    expiresAt,
    kid,
    jws: token,
  };
}
