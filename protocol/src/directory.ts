import { z } from 'zod';
import { deviceIdSchema, officerRefSchema } from './addresses.js';
import { agencyIdSchema, agencyKindSchema, countryCodeSchema } from './identity.js';
import { MAX_ATTESTATION_LENGTH } from './limits.js';

/** A device attestation as it travels: a compact JWS (`typ: ncp-device+jwt`). */
export const attestationJwsSchema = z.string().min(1).max(MAX_ATTESTATION_LENGTH);

/** An agency of the trust registry, as the directory gives it (hub -> client). */
export const directoryAgencySchema = z.object({
  id: agencyIdSchema,
  name: z.string(),
  country: countryCodeSchema,
  kind: agencyKindSchema,
  /** Inline public keys; absent for an agency publishing at `jwksUri`. */
  jwks: z.object({ keys: z.array(z.record(z.string(), z.unknown())) }).optional(),
  jwksUri: z.string().optional(),
});
export type DirectoryAgency = z.infer<typeof directoryAgencySchema>;

/**
 * Payload of `directory:updated` (hub -> client): an officer who shares a conversation with
 * this client (or this client's officer, on another device) published a device, or the hub
 * withdrew one that the registry no longer vouches for (PROTOCOL §2.6). Clients drop what they
 * cached of that officer's devices before their next send.
 */
export const directoryUpdatedSchema = z.object({
  officer: officerRefSchema,
  /** The device just published or withdrawn. */
  device: deviceIdSchema,
});
export type DirectoryUpdated = z.infer<typeof directoryUpdatedSchema>;
