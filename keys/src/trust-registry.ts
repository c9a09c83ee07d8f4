import { readdir, readFile, stat } from 'node:fs/promises';
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

  /**
   * Why the agency's registry entry refuses this officer, or this device of the officer:
   * `AUTH_OFFICER_REVOKED`, `AUTH_DEVICE_REVOKED`; undefined when neither is revoked (or the
   * agency is unknown, which token verification refuses on its own).
   */
  revocation(ref: {
    agency: string;
    officer: string;
    device?: string | null;
  }): 'AUTH_OFFICER_REVOKED' | 'AUTH_DEVICE_REVOKED' | undefined {
    const revoked = this.#agencies.get(ref.agency)?.entry.revoked;
    if (!revoked) return undefined;
    if (revoked.officers?.includes(ref.officer)) return 'AUTH_OFFICER_REVOKED';
    if (ref.device != null && revoked.devices?.includes(`${ref.officer}/${ref.device}`)) return 'AUTH_DEVICE_REVOKED';
    return undefined;
  }

  /** The ids of every agency, sorted. */
  ids(): AgencyId[] {
    return [...this.#agencies.keys()].sort();
  }

  /** The public facts of every agency, sorted by id. */
  list(): AgencyInfo[] {
    return [...this.#agencies.values()]
      .map(({ id, name, country, kind }) => ({ id, name, country, kind }))
      .sort((a, b) => a.id.localeCompare(b.id));
  }
}

/** What changed between two registries, for the hub to act on after a reload. */
export interface RegistryChanges {
  /** Agencies whose entry differs (keys, revocations, anything) or that were removed, sorted. */
  readonly agencies: readonly AgencyId[];
  /** Officers newly revoked, as `AGENCY/officer`. */
  readonly revokedOfficers: readonly `${AgencyId}/${string}`[];
  /** Devices newly revoked, as `AGENCY/officer/device`. */
  readonly revokedDevices: readonly `${AgencyId}/${string}/${string}`[];
}

/**
 * The agencies whose entry changed from `previous` to `current` (added, removed, or different
 * in any way), and the officers and devices that `current` revokes and `previous` did not.
 */
export function registryChanges(previous: TrustRegistry, current: TrustRegistry): RegistryChanges {
  const agencies = new Set<AgencyId>();
  const revokedOfficers: Array<`${AgencyId}/${string}`> = [];
  const revokedDevices: Array<`${AgencyId}/${string}/${string}`> = [];
  for (const id of new Set([...previous.ids(), ...current.ids()])) {
    const before = previous.get(id)?.entry;
    const after = current.get(id)?.entry;
    if (JSON.stringify(before) === JSON.stringify(after)) continue;
    agencies.add(id);
    const newly = (list: readonly string[] | undefined, old: readonly string[] | undefined) =>
      (list ?? []).filter((value) => !(old ?? []).includes(value));
    for (const officer of newly(after?.revoked?.officers, before?.revoked?.officers)) {
      revokedOfficers.push(`${id}/${officer}`);
    }
    for (const device of newly(after?.revoked?.devices, before?.revoked?.devices)) {
      revokedDevices.push(`${id}/${device}` as `${AgencyId}/${string}/${string}`);
    }
  }
  return { agencies: [...agencies].sort(), revokedOfficers, revokedDevices };
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

/** A registry file that could not be loaded: its name in the folder, and the problem. */
export interface RegistryFileProblem {
  /** The file's name in the folder (`EVIL-X.json`); `.` for the folder itself. */
  readonly file: string;
  /** What is wrong, as a {@link RegistryError} message (it names the file's path). */
  readonly problem: string;
}

/** What {@link reloadTrustRegistry} made of a folder. */
export interface TrustRegistryReload {
  /** The registry to put in force: every good file, and the last good version of each bad one. */
  readonly registry: TrustRegistry;
  /** The files that could not be loaded this time, sorted by name; empty when every file is good. */
  readonly badFiles: readonly RegistryFileProblem[];
}

/** The agency files of a registry folder (`*.json`, not hidden), sorted. */
async function agencyFileNames(dir: string): Promise<string[]> {
  let names: string[];
  try {
    names = (await readdir(dir)).filter((name) => name.endsWith('.json') && !name.startsWith('.')).sort();
  } catch (error) {
    throw new RegistryError(dir, `cannot read the folder (${(error as NodeJS.ErrnoException).code ?? 'error'})`);
  }
  if (names.length === 0) throw new RegistryError(dir, 'no agency files (<agency id>.json) in the folder');
  return names;
}

/** The entry of one agency file, read, parsed and checked against its name; {@link RegistryError} otherwise. */
async function readAgencyFile(dir: string, name: string): Promise<RegistryEntry> {
  const file = join(dir, name);
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    throw new RegistryError(file, `cannot read the file (${(error as NodeJS.ErrnoException).code ?? 'error'})`);
  }
  const entry = parseRegistryEntry(text, file);
  if (basename(name, '.json') !== entry.id) {
    throw new RegistryError(file, `the file of agency "${entry.id}" must be named ${entry.id}.json`);
  }
  return entry;
}

/**
 * Loads a trust registry folder: one `<agency id>.json` file per agency, in the format of
 * {@link registryEntrySchema}. Files not ending in `.json` are ignored. Any bad file, a file
 * name that does not match its id, or an empty folder throws {@link RegistryError}: this is
 * the load at start, where a bad registry stops the hub. A running hub reloads with
 * {@link reloadTrustRegistry}.
 */
export async function loadTrustRegistry(dir: string, options: LoadTrustRegistryOptions = {}): Promise<TrustRegistry> {
  const agencies: TrustedAgency[] = [];
  for (const name of await agencyFileNames(dir)) {
    agencies.push(trustAgency(await readAgencyFile(dir, name), options));
  }
  return new TrustRegistry(agencies);
}

/**
 * Loads a trust registry folder again, each file on its own, so that one bad file does not
 * hold back the changes of the others (a key revoked in another agency's file takes effect):
 *
 * - a good file is loaded (an agency whose entry is unchanged keeps its key set, and with it a
 *   `jwksUri`'s cache);
 * - a bad file (unreadable, not JSON, not an entry, or named otherwise than its id) keeps the
 *   agency of its name as `previous` had it, its last good version; a new bad file loads
 *   nothing. Each is listed in `badFiles`;
 * - an agency whose file is gone is removed.
 *
 * A folder that cannot be read or holds no agency file throws {@link RegistryError}: the
 * caller keeps `previous` whole (an emptied folder is taken for a mistake, not for the
 * removal of every agency).
 */
export async function reloadTrustRegistry(
  dir: string,
  previous: TrustRegistry,
  options: LoadTrustRegistryOptions = {},
): Promise<TrustRegistryReload> {
  const agencies: TrustedAgency[] = [];
  const badFiles: RegistryFileProblem[] = [];
  for (const name of await agencyFileNames(dir)) {
    const before = previous.get(basename(name, '.json'));
    let entry: RegistryEntry;
    try {
      entry = await readAgencyFile(dir, name);
    } catch (error) {
      // Gone since the folder was listed: removed, as if it had not been listed.
      if (error instanceof RegistryError && (await isMissing(join(dir, name)))) continue;
      badFiles.push({ file: name, problem: (error as Error).message });
      if (before) agencies.push(before);
      continue;
    }
    agencies.push(
      before && JSON.stringify(before.entry) === JSON.stringify(entry) ? before : trustAgency(entry, options),
    );
  }
  return { registry: new TrustRegistry(agencies), badFiles };
}

/** Whether `file` no longer exists. */
async function isMissing(file: string): Promise<boolean> {
  try {
    await stat(file);
    return false;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'ENOENT';
  }
}
