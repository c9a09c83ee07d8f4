import {
  type AgencyId,
  type AgencyKind,
  agencyIdSchema,
  agencyKindSchema,
  countryCodeSchema,
  deviceIdSchema,
  officerIdSchema,
} from '@ncp-hub/protocol';
import { z } from 'zod';

const base64url = z.string().regex(/^[A-Za-z0-9_-]+$/, 'base64url');
const kid = z.string().min(1).max(128);
const publicUse = {
  kid,
  use: z.literal('sig').optional(),
  key_ops: z.array(z.literal('verify')).optional(),
};

/** A public Ed25519 key for `EdDSA`. */
const ed25519PublicJwk = z.strictObject({
  kty: z.literal('OKP'),
  crv: z.literal('Ed25519'),
  alg: z.literal('EdDSA'),
  x: base64url.length(43),
  ...publicUse,
});

/** A public P-256 key for `ES256`. */
const p256PublicJwk = z.strictObject({
  kty: z.literal('EC'),
  crv: z.literal('P-256'),
  alg: z.literal('ES256'),
  x: base64url.length(43),
  y: base64url.length(43),
  ...publicUse,
});

/**
 * A public agency key as it stands in the trust registry: `EdDSA` (Ed25519) or `ES256`
 * (P-256), with `kid` and `alg`. A private member (`d`) is refused: the registry is public.
 */
export const agencyPublicJwkSchema = z.discriminatedUnion('kty', [ed25519PublicJwk, p256PublicJwk]);
export type AgencyPublicJwk = z.infer<typeof agencyPublicJwkSchema>;

const jwksSchema = z
  .strictObject({ keys: z.array(agencyPublicJwkSchema).min(1, 'jwks.keys: at least one key') })
  .refine((jwks) => new Set(jwks.keys.map((k) => k.kid)).size === jwks.keys.length, {
    message: 'jwks.keys: every kid must be unique',
  });

const common = {
  id: agencyIdSchema,
  name: z.string().min(1).max(200),
  country: countryCodeSchema,
  kind: agencyKindSchema,
};

/** A device of one of the agency's officers, named `<officer>/<device>` in its registry entry. */
const officerDevice = z.string().refine((value) => {
  const slash = value.indexOf('/');
  return (
    slash > 0 &&
    officerIdSchema.safeParse(value.slice(0, slash)).success &&
    deviceIdSchema.safeParse(value.slice(slash + 1)).success
  );
}, 'a device is named "<officer>/<device>"');

/** Distinct values, at most 10,000 of them. */
const distinct = <T extends z.ZodType<string>>(item: T, what: string) =>
  z
    .array(item)
    .max(10_000)
    .refine((list) => new Set(list).size === list.length, { message: `${what}: every entry must be unique` });

/**
 * What an agency revokes without touching its keys: officers (every token and device of each)
 * and single devices (`<officer>/<device>`). The hub refuses their sessions
 * (`AUTH_OFFICER_REVOKED`, `AUTH_DEVICE_REVOKED`), closes those open on every node, and withdraws
 * their devices from the directory. Taking an entry out of the list lifts the revocation; a
 * withdrawn device must then publish its attestation again.
 */
export const revocationsSchema = z.strictObject({
  officers: distinct(officerIdSchema, 'revoked.officers').optional(),
  devices: distinct(officerDevice, 'revoked.devices').optional(),
});
export type Revocations = z.infer<typeof revocationsSchema>;

const agencyUrl = z
  .url()
  .refine((uri) => isAcceptableAgencyUrl(uri), 'must be https (http only for 127.0.0.1, [::1] or localhost)');

/**
 * One file of the trust registry: an agency and its public keys, either inline (`jwks`) or
 * fetched from the agency (`jwksUri`, https; http only for loopback addresses). An NCB may
 * name a `webhook`: its own system, to which the hub also POSTs query notifications. `revoked`
 * lists the officers and devices the agency has revoked ({@link revocationsSchema}).
 */
export const registryEntrySchema = z
  .strictObject({
    ...common,
    jwks: jwksSchema.optional(),
    jwksUri: agencyUrl.optional(),
    webhook: agencyUrl.optional(),
    revoked: revocationsSchema.optional(),
  })
  .refine((entry) => (entry.jwks === undefined) !== (entry.jwksUri === undefined), {
    message: 'exactly one of "jwks" and "jwksUri" is required',
  })
  .refine((entry) => entry.webhook === undefined || entry.kind === 'ncb', {
    message: 'only an agency of kind "ncb" may name a webhook',
    path: ['webhook'],
  });
export type RegistryEntry = z.infer<typeof registryEntrySchema>;

function isAcceptableAgencyUrl(uri: string): boolean {
  const url = new URL(uri);
  if (url.protocol === 'https:') return true;
  return url.protocol === 'http:' && ['127.0.0.1', '[::1]', 'localhost'].includes(url.hostname);
}

/** The facts about an agency that the hub attaches to its officers' identities. */
export interface AgencyInfo {
  id: AgencyId;
  name: string;
  country: string;
  kind: AgencyKind;
}
