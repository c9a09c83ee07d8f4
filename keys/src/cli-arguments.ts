/**
 * What every `ncp-keys` command shares: its streams, its two kinds of failure (usage and
 * command), and the readers of its options.
 *
 * @packageDocumentation
 */
import { access, readFile } from 'node:fs/promises';
import {
  type AgencyId,
  ALLOWED_JWT_ALGORITHMS,
  type AllowedJwtAlgorithm,
  agencyIdSchema,
  MAX_TOKEN_LIFETIME_SECONDS,
  ROLES,
  type Role,
  roleSchema,
} from '@ncp-hub/protocol';
import type { JWK } from 'jose';
import type { z } from 'zod';
import { readSigningKey } from './agency-keys.js';
import type { AgencyPublicJwk, RegistryEntry } from './registry-entry.js';

/** Where {@link runCli} writes its output and reads a token from. Defaults to the process's streams. */
export interface CliIo {
  stdout: (s: string) => void;
  stderr: (s: string) => void;
  /** Reads all of standard input (used by `inspect-token` without a token argument, or with `-`). */
  stdin?: () => Promise<string>;
}

/** The command line is wrong: exit code 2. */
export class UsageError extends Error {
  readonly command?: string | undefined;

  constructor(message: string, command?: string) {
    super(message);
    this.command = command;
  }
}

/** The command ran and failed (bad value, unknown agency, refused change): exit code 1. */
export class CliError extends Error {}

/** One option of a command, as `node:util` `parseArgs` takes it. */
export type OptionSpec = { type: 'string' | 'boolean'; short?: string };

/** A command's parsed arguments. */
export interface Args {
  values: Record<string, string | boolean | undefined>;
  positionals: string[];
}

/** One command of the table: its help and what it runs. */
export interface Command {
  summary: string;
  usage: string;
  options: Record<string, OptionSpec>;
  /** How many positional arguments the command takes. */
  maxPositionals?: number;
  run: (args: Args, io: Required<CliIo>) => Promise<number>;
}

/** Help text of `--keys`. */
export const KEYS_DIR_HELP = 'private keys folder (default: $NCP_KEYS_DIR or .keys)';
/** Help text of `--audience`. */
export const AUDIENCE_HELP = 'hub id, the token audience (default: $HUB_ID or ncp-hub)';

/** The private keys folder: `--keys`, else `$NCP_KEYS_DIR`, else `.keys`. */
export function keysDir(args: Args): string {
  return optional(args, 'keys') ?? (process.env.NCP_KEYS_DIR || '.keys');
}

/** The hub id a token is for: `--audience`, else `$HUB_ID`, else `ncp-hub`. */
export function audience(args: Args): string {
  return optional(args, 'audience') ?? (process.env.HUB_ID || 'ncp-hub');
}

/** The value of a string option, if given. */
export function optional(args: Args, name: string): string | undefined {
  const value = args.values[name];
  return typeof value === 'string' ? value : undefined;
}

/** The value of a string option, or a usage error naming it. */
export function required(args: Args, name: string): string {
  const value = optional(args, name);
  if (value === undefined || value === '') throw new UsageError(`missing --${name}`);
  return value;
}

/** Checks an option's value against a schema of the protocol; exit 1 with the schema's message. */
export function validated<T>(schema: z.ZodType<T>, value: string, option: string): T {
  const parsed = schema.safeParse(value);
  if (!parsed.success) {
    throw new CliError(`invalid --${option} "${value}": ${parsed.error.issues[0]?.message ?? 'invalid value'}`);
  }
  return parsed.data;
}

/** An agency id option, checked against the protocol's schema. */
export function agencyOption(args: Args, name: 'id' | 'agency'): AgencyId {
  return validated(agencyIdSchema, required(args, name), name);
}

/** `--alg`, one of the allowed JWT algorithms, else `fallback`. */
export function algOption(args: Args, fallback: AllowedJwtAlgorithm): AllowedJwtAlgorithm {
  const alg = optional(args, 'alg') ?? fallback;
  if (!ALLOWED_JWT_ALGORITHMS.includes(alg as AllowedJwtAlgorithm)) {
    throw new CliError(`invalid --alg "${alg}": must be ${ALLOWED_JWT_ALGORITHMS.join(' or ')}`);
  }
  return alg as AllowedJwtAlgorithm;
}

/** `--roles`: a comma-separated list of distinct known roles. */
export function rolesOption(args: Args): Role[] {
  const roles = required(args, 'roles')
    .split(',')
    .map((role) => role.trim())
    .filter(Boolean);
  if (roles.length === 0) throw new CliError('--roles needs at least one role');
  const unknown = roles.filter((role) => !roleSchema.safeParse(role).success);
  if (unknown.length > 0) throw new CliError(`unknown role: ${unknown.join(', ')} (roles: ${ROLES.join(', ')})`);
  if (new Set(roles).size !== roles.length) throw new CliError('--roles lists a role twice');
  return roles as Role[];
}

/** `--ttl` in whole seconds, from 1 to `max`, else `fallback`. */
export function ttlOption(args: Args, fallback = 3600, max = MAX_TOKEN_LIFETIME_SECONDS): number {
  const text = optional(args, 'ttl') ?? String(fallback);
  const ttl = /^\d+$/.test(text) ? Number(text) : Number.NaN;
  if (!(ttl >= 1 && ttl <= max)) {
    throw new CliError(`invalid --ttl "${text}": seconds, from 1 to ${max}`);
  }
  return ttl;
}

/** The agency's private signing key from the keys folder (`--kid`, or the newest). */
export async function signingKeyOption(args: Args, agency: AgencyId): Promise<JWK> {
  try {
    return await readSigningKey(keysDir(args), agency, optional(args, 'kid'));
  } catch (error) {
    // A parse error of a damaged key file may quote the file: never let key material out.
    if (error instanceof SyntaxError) throw new CliError(`the private key file of agency ${agency} is not valid JSON`);
    throw error;
  }
}

/** The agency's inline keys; refused for an agency that publishes its keys at a `jwksUri`. */
export function inlineKeys(entry: RegistryEntry, action: string): AgencyPublicJwk[] {
  if (!entry.jwks) {
    throw new CliError(`agency ${entry.id} publishes its keys at ${entry.jwksUri}; ${action} there, not here`);
  }
  return entry.jwks.keys;
}

/** Writes one line to standard output. */
export function print(io: CliIo, text: string): void {
  io.stdout(`${text}\n`);
}

/** Pretty JSON for the output. */
export function json(value: unknown): string {
  return JSON.stringify(value, null, 2);
}

/** Whether a file exists. */
export async function exists(file: string): Promise<boolean> {
  return access(file).then(
    () => true,
    () => false,
  );
}

/** Reads a file for a command; a missing or unreadable file is a failure (exit 1), not a usage error. */
export async function readInput(file: string, what: string): Promise<string> {
  try {
    return await readFile(file, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw new CliError(`cannot read ${what} ${file}${code === 'ENOENT' ? ': no such file' : code ? `: ${code}` : ''}`);
  }
}
