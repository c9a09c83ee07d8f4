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
import { DEVELOPMENT_AGENCIES, type DevelopmentAgency } from './dev-agencies.js';
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

/** An identity a development hub signs in as with one click (`GET /v1/dev/identities`). */
export interface DevelopmentIdentity {
  /** A development agency of {@link DEVELOPMENT_AGENCIES}. */
  agency: string;
  agencyName: string;
  country: string;
  officer: string;
  roles: Role[];
  /** What a sign-in page shows, in English, e.g. `Officer — National Police of Ukraine`. */
  label: string;
}

/** Words for each role in {@link DevelopmentIdentity.label}. */
const ROLE_LABELS: Readonly<Record<Role, string>> = {
  officer: 'Officer',
  ncb: 'NCB desk',
  'central-authority': 'Central authority',
  supervisor: 'Supervisor',
  auditor: 'Auditor',
};

/** The people beside each agency's own officer: a second officer of each police agency, a supervisor and an auditor. */
const EXTRA_DEVELOPMENT_PEOPLE: ReadonlyArray<{ agency: string; officer: string; roles: Role[]; label: string }> = [
  { agency: 'UA-NPU', officer: 'ua.officer.2', roles: ['officer'], label: 'Second officer' },
  { agency: 'PL-KGP', officer: 'pl.officer.2', roles: ['officer'], label: 'Second officer' },
  { agency: 'UA-NPU', officer: 'ua.supervisor', roles: ['supervisor'], label: ROLE_LABELS.supervisor },
  { agency: 'UA-NPU', officer: 'ua.auditor', roles: ['auditor'], label: ROLE_LABELS.auditor },
];

function identityOf(agency: DevelopmentAgency, officer: string, roles: Role[], label: string): DevelopmentIdentity {
  return {
    agency: agency.id,
    agencyName: agency.name,
    country: agency.country,
    officer,
    roles,
    label: `${label} — ${agency.name}`,
  };
}

/**
 * Everyone a development hub signs in (`POST /v1/dev/sign-in`): the officer of each
 * development agency (police officers, NCB desks, the central authority), a second officer of
 * each police agency (so that several browser tabs are several people), a supervisor and an
 * auditor of `UA-NPU`. Each identity's roles fit its agency's kind.
 */
export const DEVELOPMENT_IDENTITIES: readonly DevelopmentIdentity[] = [
  ...DEVELOPMENT_AGENCIES.map((agency) =>
    identityOf(agency, agency.officer, agency.roles, ROLE_LABELS[agency.roles[0] as Role]),
  ),
  ...EXTRA_DEVELOPMENT_PEOPLE.map((person) => {
    const agency = DEVELOPMENT_AGENCIES.find((candidate) => candidate.id === person.agency) as DevelopmentAgency;
    return identityOf(agency, person.officer, person.roles, person.label);
  }),
];

/** The development identity of `officer` of `agency`, if it is one of {@link DEVELOPMENT_IDENTITIES}. */
export function findDevelopmentIdentity(agency: string, officer: string): DevelopmentIdentity | undefined {
  return DEVELOPMENT_IDENTITIES.find((identity) => identity.agency === agency && identity.officer === officer);
}
