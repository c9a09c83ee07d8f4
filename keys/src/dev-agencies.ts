import { mkdir, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { Role } from '@ncp-hub/protocol';
import { createRegistryEntry, generateAgencyKey, writePrivateKey, writeRegistryEntry } from './agency-keys.js';
import type { AgencyInfo } from './registry-entry.js';

/** A development agency and the officer the start-up banner suggests a token for. */
export interface DevelopmentAgency extends AgencyInfo {
  officer: string;
  roles: Role[];
}

/** The development agencies of two states, created on first start without a registry. */
export const DEVELOPMENT_AGENCIES: readonly DevelopmentAgency[] = [
  {
    id: 'UA-NPU',
    name: 'National Police of Ukraine',
    country: 'UA',
    kind: 'police',
    officer: 'ua.officer',
    roles: ['officer'],
  },
  {
    id: 'PL-KGP',
    name: 'Polish National Police Headquarters',
    country: 'PL',
    kind: 'police',
    officer: 'pl.officer',
    roles: ['officer'],
  },
  { id: 'NCB-UA', name: 'Interpol NCB Kyiv', country: 'UA', kind: 'ncb', officer: 'ua.ncb.desk', roles: ['ncb'] },
  { id: 'NCB-PL', name: 'Interpol NCB Warsaw', country: 'PL', kind: 'ncb', officer: 'pl.ncb.desk', roles: ['ncb'] },
  {
    id: 'UA-PGO',
    name: "Prosecutor General's Office of Ukraine",
    country: 'UA',
    kind: 'central-authority',
    officer: 'ua.pgo.clerk',
    roles: ['central-authority'],
  },
];

/** Where the development registry and its private keys live. */
export interface DevelopmentRegistry {
  registryDir: string;
  keysDir: string;
  /** Whether this call created the agencies (first start). */
  created: boolean;
  agencies: readonly DevelopmentAgency[];
}

/**
 * Creates, once, the development trust registry under `dir` (`registry/`) with private keys
 * beside it (`keys/`, mode 0700). Later calls find it and change nothing.
 */
export async function ensureDevelopmentAgencies(dir: string): Promise<DevelopmentRegistry> {
  const registryDir = join(dir, 'registry');
  const keysDir = join(dir, 'keys');
  const existing = await readdir(registryDir).catch(() => [] as string[]);
  const created = !existing.some((name) => name.endsWith('.json'));
  if (created) {
    await mkdir(keysDir, { recursive: true, mode: 0o700 });
    for (const agency of DEVELOPMENT_AGENCIES) {
      const key = await generateAgencyKey('EdDSA');
      await writePrivateKey(keysDir, agency.id, key.privateJwk);
      await writeRegistryEntry(registryDir, createRegistryEntry(agency, [key.publicJwk]));
    }
  }
  return { registryDir, keysDir, created, agencies: DEVELOPMENT_AGENCIES };
}
