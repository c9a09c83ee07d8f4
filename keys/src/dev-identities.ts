/**
 * Development identities: officer tokens and device attestations signed with the private
 * keys of the development agencies, which the hub writes under `.data/dev/keys` when it
 * starts in development mode (no `TRUST_REGISTRY`).
 *
 * In production an agency's own identity system signs these; the hub never does. Everything
 * here is built on `readSigningKey`, `issueOfficerToken` and `issueDeviceAttestation`: it is
 * the code an agency would write around its own key store. For development and examples only.
 */
import { resolve } from 'node:path';
import type { Role } from '@ncp-hub/protocol';
import { readSigningKey } from './agency-keys.js';
import { issueDeviceAttestation } from './device-attestation.js';
import { issueOfficerToken } from './officer-token.js';

/** The development keys folder: `NCP_DEV_KEYS`, or `.data/dev/keys` (the hub's default `DATA_DIR`). */
export function developmentKeysDir(): string {
  return resolve(process.env.NCP_DEV_KEYS || '.data/dev/keys');
}

/** Options of {@link issueDevelopmentOfficerToken}. */
export interface DevelopmentOfficerTokenOptions {
  /** The development keys folder, see {@link developmentKeysDir}. */
  keysDir: string;
  /** A development agency, e.g. `UA-NPU`. */
  agency: string;
  officer: string;
  roles: Role[];
  /**
   * The hub id (`aud`): the hub's `HUB_ID`.
   * @defaultValue `ncp-hub`
   */
  audience?: string;
  /**
   * Lifetime in seconds.
   * @defaultValue 600
   */
  ttlSeconds?: number;
}

/**
 * An officer token signed with the development agency's newest private key.
 *
 * @example
 * ```ts
 * const token = await issueDevelopmentOfficerToken({
 *   keysDir: developmentKeysDir(), agency: 'UA-NPU', officer: 'ua.officer', roles: ['officer'],
 * });
 * ```
 */
export async function issueDevelopmentOfficerToken(options: DevelopmentOfficerTokenOptions): Promise<string> {
  return issueOfficerToken({
    agency: options.agency,
    officer: options.officer,
    roles: options.roles,
    privateJwk: await readSigningKey(options.keysDir, options.agency),
    audience: options.audience ?? 'ncp-hub',
    ttlSeconds: options.ttlSeconds ?? 600,
  });
}

/** Options of {@link attestDevelopmentDevice}. */
export interface DevelopmentDeviceOptions {
  /** The development keys folder, see {@link developmentKeysDir}. */
  keysDir: string;
  agency: string;
  officer: string;
  /** The device and its public keys, as `HubClient.publicKeys()` gives them. */
  publicKeys: { device: string; encryptionKey: string; signingKey: string };
}

/**
 * A device attestation (JWS) signed with the development agency's newest private key,
 * binding the officer to the device's two public keys.
 *
 * @example
 * ```ts
 * const attestation = await attestDevelopmentDevice({
 *   keysDir, agency: 'UA-NPU', officer: 'ua.officer', publicKeys: client.publicKeys(),
 * });
 * await client.publishDevice(attestation);
 * ```
 */
export async function attestDevelopmentDevice(options: DevelopmentDeviceOptions): Promise<string> {
  const { device, encryptionKey, signingKey } = options.publicKeys;
  return issueDeviceAttestation({
    agency: options.agency,
    officer: options.officer,
    device,
    encryptionKey,
    signingKey,
    privateJwk: await readSigningKey(options.keysDir, options.agency),
  });
}
