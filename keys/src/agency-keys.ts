import { chmod, mkdir, readdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { type AgencyId, ALLOWED_JWT_ALGORITHMS, type AllowedJwtAlgorithm } from '@ncp-hub/protocol';
import { calculateJwkThumbprint, exportJWK, generateKeyPair, type JWK } from 'jose';
import { RegistryError } from './errors.js';
import { type AgencyInfo, type AgencyPublicJwk, agencyPublicJwkSchema, type RegistryEntry } from './registry-entry.js';
import { parseRegistryEntry } from './trust-registry.js';

/** A freshly generated agency signing key. */
export interface AgencyKeyPair {
  kid: string;
  alg: AllowedJwtAlgorithm;
  /** Secret. Written only with mode 0600 by {@link writePrivateKey}. */
  privateJwk: JWK;
  publicJwk: AgencyPublicJwk;
}

const PRIVATE_KEY_SUFFIX = '.private.jwk';

/**
 * Generates an agency signing key: Ed25519 (`EdDSA`, the default) or P-256 (`ES256`). The
 * `kid` is the RFC 7638 thumbprint of the public key.
 */
export async function generateAgencyKey(alg: AllowedJwtAlgorithm = 'EdDSA'): Promise<AgencyKeyPair> {
  if (!ALLOWED_JWT_ALGORITHMS.includes(alg)) throw new TypeError(`alg must be ${ALLOWED_JWT_ALGORITHMS.join(' or ')}`);
  const { privateKey, publicKey } = await generateKeyPair(alg, { extractable: true });
  const exportedPublic = await exportJWK(publicKey);
  const kid = await calculateJwkThumbprint(exportedPublic);
  const publicJwk = agencyPublicJwkSchema.parse({ ...exportedPublic, kid, alg, use: 'sig' });
  const privateJwk: JWK = { ...(await exportJWK(privateKey)), kid, alg, use: 'sig' };
  return { kid, alg, privateJwk, publicJwk };
}

/** A registry entry for an agency with inline keys. */
export function createRegistryEntry(info: AgencyInfo, keys: AgencyPublicJwk[]): RegistryEntry {
  return { id: info.id, name: info.name, country: info.country, kind: info.kind, jwks: { keys } };
}

async function writeFileAtomically(file: string, text: string, mode: number): Promise<void> {
  const temporary = `${file}.${process.pid}.tmp`;
  await writeFile(temporary, text, { mode, flag: 'wx' });
  await chmod(temporary, mode);
  await rename(temporary, file);
}

/** Writes (or replaces) `<dir>/<id>.json`. */
export async function writeRegistryEntry(dir: string, entry: RegistryEntry): Promise<string> {
  await mkdir(dir, { recursive: true });
  const file = join(dir, `${entry.id}.json`);
  await writeFileAtomically(file, `${JSON.stringify(entry, null, 2)}\n`, 0o644);
  return file;
}

/** Reads `<dir>/<id>.json`. */
export async function readRegistryEntry(dir: string, id: AgencyId): Promise<RegistryEntry> {
  const file = join(dir, `${id}.json`);
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch {
    throw new RegistryError(file, `agency ${id} is not in this registry`);
  }
  return parseRegistryEntry(text, file);
}

/**
 * Stores an agency private key as `<keysDir>/<agency>/<kid>.private.jwk`, mode 0600 in a
 * folder of mode 0700. Never overwrites a key.
 */
export async function writePrivateKey(keysDir: string, agency: AgencyId, privateJwk: JWK): Promise<string> {
  const dir = join(keysDir, agency);
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const file = join(dir, `${privateJwk.kid}${PRIVATE_KEY_SUFFIX}`);
  await writeFile(file, `${JSON.stringify(privateJwk)}\n`, { mode: 0o600, flag: 'wx' });
  return file;
}

/**
 * Reads an agency's private signing key from `keysDir`: the one with `kid`, or else the
 * newest one written.
 */
export async function readSigningKey(keysDir: string, agency: AgencyId, kid?: string): Promise<JWK> {
  const dir = join(keysDir, agency);
  const names = await readdir(dir).catch(() => [] as string[]);
  const candidates = names.filter((name) => name.endsWith(PRIVATE_KEY_SUFFIX));
  let chosen: string | undefined;
  if (kid !== undefined) {
    chosen = candidates.find((name) => name === `${kid}${PRIVATE_KEY_SUFFIX}`);
  } else {
    let newest = -1;
    for (const name of candidates) {
      const { mtimeMs } = await stat(join(dir, name));
      if (mtimeMs > newest) [newest, chosen] = [mtimeMs, name];
    }
  }
  if (chosen === undefined) {
    throw new Error(`no private key${kid ? ` with kid ${kid}` : ''} for agency ${agency} in ${keysDir}`);
  }
  return JSON.parse(await readFile(join(dir, chosen), 'utf8')) as JWK;
}

/** Deletes an agency private key from `keysDir`. Resolves to whether there was one. */
export async function deletePrivateKey(keysDir: string, agency: AgencyId, kid: string): Promise<boolean> {
  const file = join(keysDir, agency, `${kid}${PRIVATE_KEY_SUFFIX}`);
  const existed = await stat(file).then(
    () => true,
    () => false,
  );
  await rm(file, { force: true });
  return existed;
}
