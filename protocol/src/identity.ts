import { z } from 'zod';

/** Kinds of agency in the trust registry. */
export const AGENCY_KINDS = ['police', 'ncb', 'central-authority', 'prosecutor'] as const;
export type AgencyKind = (typeof AGENCY_KINDS)[number];

/** Roles an officer token may carry in its `roles` claim. */
export const ROLES = ['officer', 'ncb', 'central-authority', 'supervisor', 'auditor'] as const;
export type Role = (typeof ROLES)[number];

/**
 * Which roles an agency of each kind may grant. A token whose roles do not fit its issuing
 * agency's kind is refused with `AUTH_ROLE_NOT_ALLOWED`.
 */
export const ROLES_BY_AGENCY_KIND: Readonly<Record<AgencyKind, readonly Role[]>> = {
  police: ['officer', 'supervisor', 'auditor'],
  prosecutor: ['officer', 'supervisor', 'auditor'],
  ncb: ['ncb', 'supervisor', 'auditor'],
  'central-authority': ['central-authority', 'supervisor', 'auditor'],
};

/** JWS algorithms accepted for officer tokens and agency keys. Nothing else, ever. */
export const ALLOWED_JWT_ALGORITHMS = ['EdDSA', 'ES256'] as const;
export type AllowedJwtAlgorithm = (typeof ALLOWED_JWT_ALGORITHMS)[number];

/** Agency id such as `UA-NPU`, `PL-KGP`, `NCB-UA`: upper-case letters, digits and dashes. */
export const agencyIdSchema = z
  .string()
  .regex(/^[A-Z0-9][A-Z0-9-]{1,31}$/, 'agency id: 2-32 of A-Z, 0-9 and "-", starting with a letter or digit');
export type AgencyId = z.infer<typeof agencyIdSchema>;

/** Officer id (the token's `sub`), unique within its agency. */
export const officerIdSchema = z
  .string()
  .regex(/^[A-Za-z0-9._@+:-]{1,128}$/, 'officer id: 1-128 of A-Z, a-z, 0-9 and . _ @ + : -');
export type OfficerId = z.infer<typeof officerIdSchema>;

/** ISO 3166-1 alpha-2 country code. */
export const countryCodeSchema = z.string().regex(/^[A-Z]{2}$/, 'country: ISO 3166-1 alpha-2, upper case');
export type CountryCode = z.infer<typeof countryCodeSchema>;

export const agencyKindSchema = z.enum(AGENCY_KINDS);
export const roleSchema = z.enum(ROLES);

/** The verified identity of an authenticated officer or desk, as the hub sees it. */
export const identitySchema = z.object({
  agency: agencyIdSchema,
  agencyKind: agencyKindSchema,
  country: countryCodeSchema,
  officer: officerIdSchema,
  roles: z.array(roleSchema).min(1),
  /** Token expiry, seconds since the epoch. */
  expiresAt: z.number().int(),
});
export type Identity = z.infer<typeof identitySchema>;
