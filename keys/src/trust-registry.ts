import { readdir, readFile } from 'node:fs/promises';
import { basename, join } from 'node:path';
import type { AgencyId } from '@ncp-hub/protocol';
import { createLocalJWKSet, createRemoteJWKSet, type JWTVerifyGetKey } from 'jose';
import { z } from 'zod';
import { RegistryError } from './errors.js';
import { type AgencyInfo, type RegistryEntry, registryEntrySchema } from './registry-entry.js';

/** An agency the hub trusts, with the only key set its tokens are verified against. */
export interface TrustedAgency extends AgencyInfo {
  /** Resolves the agency's verification key for a token header. Never shared between agencies. */
  readonly keys: JWTVerifyGetKey;
  readonly entry: RegistryEntry;
}

/** Options of {@link loadTrustRegistry}. */
export interface LoadTrustRegistryOptions {
  /**
   * Time limit for fetching a `jwksUri`, in milliseconds.
   * @defaultValue 5000
   */
  jwksTimeoutMs?: number;
}

/** The agencies the hub trusts, each bound to its own key set. Immutable; reload makes a new one. */
export class TrustRegistry {
  readonly #agencies: ReadonlyMap<AgencyId, TrustedAgency>;

  constructor(agencies: Iterable<TrustedAgency>) {
    this.#agencies = new Map([...agencies].map((agency) => [agency.id, agency]));
  }

  /** The agency with this id, or `undefined`. */
  get(id: string): TrustedAgency | undefined {
    return this.#agencies.get(id);
  }

  /** Number of agencies. */
  get size(): number {
    return this.#agencies.size;
  }

  /** The public facts of every agency, sorted by id. */
  list(): AgencyInfo[] {
    return [...this.#agencies.values()]
      .map(({ id, name, country, kind }) => ({ id, name, country, kind }))
      .sort((a, b) => a.id.localeCompare(b.id));
  }
}

/**
 * Parses one registry file's text. Throws {@link RegistryError} naming `file` and the problem.
 */
export function parseRegistryEntry(text: string, file: string): RegistryEntry {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw new RegistryError(file, `not valid JSON (${(error as Error).message})`);
  }
  const parsed = registryEntrySchema.safeParse(json);
  if (!parsed.success) {
    throw new RegistryError(file, z.prettifyError(parsed.error).replaceAll('\n', '; '));
  }
  return parsed.data;
}

/** Builds the trusted agency of a registry entry: its own key set, nobody else's. */
export function trustAgency(entry: RegistryEntry, options: LoadTrustRegistryOptions = {}): TrustedAgency {
  const keys = entry.jwks
    ? createLocalJWKSet(entry.jwks)
    : createRemoteJWKSet(new URL(entry.jwksUri as string), {
        timeoutDuration: options.jwksTimeoutMs ?? 5000,
        cooldownDuration: 30_000,
        cacheMaxAge: 10 * 60_000,
      });
  return { id: entry.id, name: entry.name, country: entry.country, kind: entry.kind, keys, entry };
}

/**
 * Loads a trust registry folder: one `<agency id>.json` file per agency, in the format of
 * {@link registryEntrySchema}. Files not ending in `.json` are ignored. Any bad file, a file
 * name that does not match its id, or an empty folder throws {@link RegistryError}.
 */
export async function loadTrustRegistry(dir: string, options: LoadTrustRegistryOptions = {}): Promise<TrustRegistry> {
  let names: string[];
  try {
    names = (await readdir(dir)).filter((name) => name.endsWith('.json') && !name.startsWith('.')).sort();
  } catch (error) {
    throw new RegistryError(dir, `cannot read the folder (${(error as NodeJS.ErrnoException).code ?? 'error'})`);
  }
  if (names.length === 0) throw new RegistryError(dir, 'no agency files (<agency id>.json) in the folder');
  const agencies: TrustedAgency[] = [];
  for (const name of names) {
    const file = join(dir, name);
    const entry = parseRegistryEntry(await readFile(file, 'utf8'), file);
    if (basename(name, '.json') !== entry.id) {
      throw new RegistryError(file, `the file of agency "${entry.id}" must be named ${entry.id}.json`);
    }
    agencies.push(trustAgency(entry, options));
  }
  return new TrustRegistry(agencies);
}
