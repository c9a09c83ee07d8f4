import {
  type AgencyKeyPair,
  createRegistryEntry,
  generateAgencyKey,
  issueOfficerToken,
  writeRegistryEntry,
} from '@ncp-hub/keys';
import type { AgencyKind, AllowedJwtAlgorithm, Role } from '@ncp-hub/protocol';
import { importJWK, type JWTPayload, SignJWT } from 'jose';

/** An agency of the test registry, with its private key. */
export interface TestAgency {
  id: string;
  name: string;
  country: string;
  kind: AgencyKind;
  key: AgencyKeyPair;
}

/** One agency of each kind, two states, both algorithms. */
export const TEST_AGENCY_SPECS = [
  { id: 'UA-NPU', name: 'National Police of Ukraine', country: 'UA', kind: 'police', alg: 'EdDSA' },
  { id: 'PL-KGP', name: 'Polish National Police', country: 'PL', kind: 'police', alg: 'ES256' },
  { id: 'NCB-UA', name: 'Interpol NCB Kyiv', country: 'UA', kind: 'ncb', alg: 'EdDSA' },
  { id: 'NCB-PL', name: 'Interpol NCB Warsaw', country: 'PL', kind: 'ncb', alg: 'ES256' },
  { id: 'UA-PGO', name: "Prosecutor General's Office", country: 'UA', kind: 'central-authority', alg: 'EdDSA' },
  { id: 'PL-PK', name: 'National Public Prosecutor', country: 'PL', kind: 'prosecutor', alg: 'ES256' },
] as const satisfies ReadonlyArray<{ kind: AgencyKind; alg: AllowedJwtAlgorithm } & Record<string, string>>;

export type TestAgencyId = (typeof TEST_AGENCY_SPECS)[number]['id'];

/** Generates fresh keys for one agency and writes its registry file into `registryDir`. */
export async function addTestAgency(
  registryDir: string,
  spec: { id: string; name: string; country: string; kind: AgencyKind; alg?: AllowedJwtAlgorithm },
): Promise<TestAgency> {
  const key = await generateAgencyKey(spec.alg ?? 'EdDSA');
  await writeRegistryEntry(registryDir, createRegistryEntry(spec, [key.publicJwk]));
  return { id: spec.id, name: spec.name, country: spec.country, kind: spec.kind, key };
}

/** Writes the registry of {@link TEST_AGENCY_SPECS} with fresh keys. */
export async function createTestRegistry(registryDir: string): Promise<Record<TestAgencyId, TestAgency>> {
  const agencies: Partial<Record<TestAgencyId, TestAgency>> = {};
  for (const spec of TEST_AGENCY_SPECS) agencies[spec.id] = await addTestAgency(registryDir, spec);
  return agencies as Record<TestAgencyId, TestAgency>;
}

/** A valid token for an officer of `agency`, as the agency's own system would issue it. */
export function tokenFor(
  agency: TestAgency,
  options: { officer?: string; roles?: Role[]; audience?: string; ttlSeconds?: number } = {},
): Promise<string> {
  return issueOfficerToken({
    agency: agency.id,
    officer: options.officer ?? `${agency.id.toLowerCase()}.officer`,
    roles: options.roles ?? [defaultRole(agency.kind)],
    privateJwk: agency.key.privateJwk,
    audience: options.audience ?? 'ncp-hub',
    ttlSeconds: options.ttlSeconds ?? 600,
  });
}

function defaultRole(kind: AgencyKind): Role {
  return kind === 'police' || kind === 'prosecutor' ? 'officer' : kind;
}

/**
 * Signs arbitrary claims and header with an agency key, for tokens the hub must refuse.
 * `claims` replace the defaults; a claim set to `undefined` is left out.
 */
export async function signRaw(
  agency: TestAgency,
  claims: Record<string, unknown> = {},
  header: Record<string, unknown> = {},
): Promise<string> {
  const now = Math.floor(Date.now() / 1000);
  const payload: Record<string, unknown> = {
    iss: agency.id,
    sub: 'raw.officer',
    aud: 'ncp-hub',
    iat: now,
    exp: now + 600,
    roles: [defaultRole(agency.kind)],
    ...claims,
  };
  for (const [name, value] of Object.entries(payload)) if (value === undefined) delete payload[name];
  const key = await importJWK(agency.key.privateJwk, agency.key.alg);
  return new SignJWT(payload as JWTPayload)
    .setProtectedHeader({ alg: agency.key.alg, kid: agency.key.kid, typ: 'JWT', ...header })
    .sign(key, { crit: Object.fromEntries(((header.crit as string[] | undefined) ?? []).map((name) => [name, true])) });
}

/** base64url of a JSON value. */
export function encodeSegment(value: unknown): string {
  return Buffer.from(JSON.stringify(value)).toString('base64url');
}
