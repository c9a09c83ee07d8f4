/**
 * `ncp-keys`: creates agencies and their keys, rotates and revokes keys, issues and
 * inspects officer tokens, attests officer devices, and verifies audit exports. Everything it
 * does goes through the library functions of this package; it never prints a private key.
 * Its arguments are read in `cli-arguments.ts`; the audit command is in `cli-audit.ts`.
 *
 * @packageDocumentation
 */
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import {
  AGENCY_KINDS,
  ALLOWED_JWT_ALGORITHMS,
  agencyKindSchema,
  countryCodeSchema,
  deviceIdSchema,
  HubError,
  MAX_TOKEN_LIFETIME_SECONDS,
  officerIdSchema,
  ROLES,
} from '@ncp-hub/protocol';
import {
  createRegistryEntry,
  deletePrivateKey,
  generateAgencyKey,
  readRegistryEntry,
  writePrivateKey,
  writeRegistryEntry,
} from './agency-keys.js';
import {
  type Args,
  AUDIENCE_HELP,
  agencyOption,
  algOption,
  audience,
  CliError,
  type CliIo,
  type Command,
  exists,
  inlineKeys,
  json,
  KEYS_DIR_HELP,
  keysDir,
  optional,
  print,
  required,
  rolesOption,
  signingKeyOption,
  ttlOption,
  UsageError,
  validated,
} from './cli-arguments.js';
import { AUDIT_COMMAND } from './cli-audit.js';
import { ensureDevelopmentAgencies } from './dev-agencies.js';
import {
  DEFAULT_ATTESTATION_TTL_SECONDS,
  devicePublicKeySchema,
  issueDeviceAttestation,
  MAX_ATTESTATION_TTL_SECONDS,
} from './device-attestation.js';
import { issueOfficerToken, MAX_TOKEN_LENGTH, verifyOfficerToken } from './officer-token.js';
import { type RegistryEntry, registryEntrySchema } from './registry-entry.js';
import { loadTrustRegistry } from './trust-registry.js';

export type { CliIo };

// ---------------------------------------------------------------------------------------------
// Commands

async function createAgency(args: Args, io: Required<CliIo>): Promise<number> {
  const id = agencyOption(args, 'id');
  const name = required(args, 'name');
  const country = validated(countryCodeSchema, required(args, 'country'), 'country');
  const kind = validated(agencyKindSchema, required(args, 'kind'), 'kind');
  const alg = algOption(args, 'EdDSA');
  const registry = optional(args, 'registry');
  if (registry !== undefined && (await exists(join(registry, `${id}.json`)))) {
    throw new CliError(`${join(registry, `${id}.json`)} already exists; use "ncp-keys rotate" to add a key`);
  }

  const key = await generateAgencyKey(alg);
  const entry = createRegistryEntry({ id, name, country, kind }, [key.publicJwk]);
  const checked = registryEntrySchema.safeParse(entry);
  if (!checked.success) {
    const issue = checked.error.issues[0];
    throw new CliError(`invalid registry entry: ${issue?.path.join('.')}: ${issue?.message}`);
  }
  const keyFile = await writePrivateKey(keysDir(args), id, key.privateJwk);
  io.stderr(`private key ${key.kid} written to ${keyFile} (mode 0600): keep it secret\n`);
  if (registry === undefined) {
    print(io, json(entry));
  } else {
    print(io, await writeRegistryEntry(registry, entry));
  }
  return 0;
}

async function rotate(args: Args, io: Required<CliIo>): Promise<number> {
  const id = agencyOption(args, 'id');
  const registry = required(args, 'registry');
  const entry = await readRegistryEntry(registry, id);
  const keys = inlineKeys(entry, 'rotate the key');
  const key = await generateAgencyKey(algOption(args, keys.at(-1)?.alg ?? 'EdDSA'));
  const keyFile = await writePrivateKey(keysDir(args), id, key.privateJwk);
  await writeRegistryEntry(registry, { ...entry, jwks: { keys: [...keys, key.publicJwk] } });
  io.stderr(`private key written to ${keyFile} (mode 0600); the registry now lists ${keys.length + 1} keys\n`);
  print(io, key.kid);
  return 0;
}

/** `revoke --officer` / `--device`: adds to the entry's `revoked` list, or with `--restore` takes out. */
async function revokeIdentity(args: Args, io: Required<CliIo>, list: 'officers' | 'devices'): Promise<number> {
  const id = agencyOption(args, 'id');
  const registry = required(args, 'registry');
  const value = list === 'officers' ? (args.values.officer as string) : (args.values.device as string);
  const what = list === 'officers' ? `officer ${value}` : `device ${value}`;
  const restore = args.values.restore === true;
  const entry = await readRegistryEntry(registry, id);
  const current = entry.revoked?.[list] ?? [];
  if (restore !== current.includes(value)) {
    throw new CliError(`${what} of agency ${id} is ${restore ? 'not revoked' : 'already revoked'}`);
  }
  const next = restore ? current.filter((item) => item !== value) : [...current, value];
  const revoked = { ...entry.revoked, [list]: next };
  if (revoked[list]?.length === 0) delete revoked[list];
  const updated: RegistryEntry = { ...entry, revoked };
  if (Object.keys(revoked).length === 0) delete updated.revoked;
  const checked = registryEntrySchema.safeParse(updated);
  if (!checked.success) {
    const issue = checked.error.issues[0];
    throw new CliError(`invalid ${list === 'officers' ? 'officer' : 'device'}: ${issue?.message}`);
  }
  await writeRegistryEntry(registry, checked.data);
  print(io, `${restore ? 'restored' : 'revoked'} ${what} of agency ${id}`);
  return 0;
}

async function revoke(args: Args, io: Required<CliIo>): Promise<number> {
  const chosen = (['kid', 'officer', 'device'] as const).filter((name) => args.values[name] !== undefined);
  if (chosen.length !== 1) throw new UsageError('give exactly one of --kid, --officer and --device');
  if (chosen[0] === 'officer') return revokeIdentity(args, io, 'officers');
  if (chosen[0] === 'device') return revokeIdentity(args, io, 'devices');
  if (args.values.restore !== undefined) throw new UsageError('--restore is for --officer and --device');
  const id = agencyOption(args, 'id');
  const kid = required(args, 'kid');
  const registry = required(args, 'registry');
  const entry = await readRegistryEntry(registry, id);
  const keys = inlineKeys(entry, 'remove the key');
  const remaining = keys.filter((key) => key.kid !== kid);
  if (remaining.length === keys.length) throw new CliError(`agency ${id} has no key with kid ${kid}`);
  if (remaining.length === 0) {
    throw new CliError(
      `${kid} is the last key of agency ${id}: an agency needs at least one key; rotate first, then revoke`,
    );
  }
  await writeRegistryEntry(registry, { ...entry, jwks: { keys: remaining } });
  const deleted = await deletePrivateKey(keysDir(args), id, kid);
  print(
    io,
    `revoked ${kid} of agency ${id}; ${remaining.length} key(s) left${deleted ? '; its private key was deleted' : ''}`,
  );
  return 0;
}

async function jwks(args: Args, io: Required<CliIo>): Promise<number> {
  const entry = await readRegistryEntry(required(args, 'registry'), agencyOption(args, 'id'));
  print(io, json({ keys: inlineKeys(entry, 'its key set is published') }));
  return 0;
}

async function issueToken(args: Args, io: Required<CliIo>): Promise<number> {
  const agency = agencyOption(args, 'agency');
  const officer = validated(officerIdSchema, required(args, 'officer'), 'officer');
  const roles = rolesOption(args);
  const ttlSeconds = ttlOption(args);
  const privateJwk = await signingKeyOption(args, agency);
  print(io, await issueOfficerToken({ agency, officer, roles, privateJwk, ttlSeconds, audience: audience(args) }));
  return 0;
}

async function attestDevice(args: Args, io: Required<CliIo>): Promise<number> {
  const agency = agencyOption(args, 'agency');
  const officer = validated(officerIdSchema, required(args, 'officer'), 'officer');
  const device = validated(deviceIdSchema, required(args, 'device'), 'device');
  const encryptionKey = validated(devicePublicKeySchema, required(args, 'encryption-key'), 'encryption-key');
  const signingKey = validated(devicePublicKeySchema, required(args, 'signing-key'), 'signing-key');
  const ttlSeconds = ttlOption(args, DEFAULT_ATTESTATION_TTL_SECONDS, MAX_ATTESTATION_TTL_SECONDS);
  const privateJwk = await signingKeyOption(args, agency);
  print(
    io,
    await issueDeviceAttestation({ agency, officer, device, encryptionKey, signingKey, privateJwk, ttlSeconds }),
  );
  return 0;
}

async function inspectToken(args: Args, io: Required<CliIo>): Promise<number> {
  const registry = await loadTrustRegistry(required(args, 'registry'));
  const argument = args.positionals[0];
  const token = argument === undefined || argument === '-' ? (await io.stdin()).trim() : argument;
  try {
    print(io, json(await verifyOfficerToken(token, registry, { audience: audience(args) })));
    return 0;
  } catch (error) {
    if (!(error instanceof HubError)) throw error;
    print(io, json({ error: error.toBody() }));
    return 1;
  }
}

async function devInit(args: Args, io: Required<CliIo>): Promise<number> {
  const dev = await ensureDevelopmentAgencies(required(args, 'dir'));
  print(io, `registry: ${dev.registryDir}${dev.created ? ' (created)' : ' (already there, unchanged)'}`);
  print(io, `keys:     ${dev.keysDir}`);
  print(io, 'Get a token for each development identity with:');
  for (const agency of dev.agencies) {
    print(
      io,
      `  ncp-keys issue-token --keys ${dev.keysDir} --agency ${agency.id} --officer ${agency.officer} --roles ${agency.roles.join(',')}`,
    );
  }
  return 0;
}

// ---------------------------------------------------------------------------------------------
// The table of commands

const COMMANDS: Readonly<Record<string, Command>> = {
  'create-agency': {
    summary: 'create an agency: a key pair and its trust registry entry',
    usage: `Usage: ncp-keys create-agency --id ID --name NAME --country CC --kind KIND [options]

Generates a key pair, writes the private key to the keys folder and the public registry
entry to <registry>/<ID>.json (printing its path), or to stdout without --registry.

  --id ID          agency id, e.g. UA-NPU (A-Z, 0-9 and -)
  --name NAME      agency name
  --country CC     ISO 3166-1 alpha-2 country code, e.g. UA
  --kind KIND      ${AGENCY_KINDS.join(' | ')}
  --alg ALG        ${ALLOWED_JWT_ALGORITHMS.join(' | ')} (default: EdDSA)
  --registry DIR   trust registry folder; refuses to replace an existing entry
  --keys DIR       ${KEYS_DIR_HELP}`,
    options: {
      id: { type: 'string' },
      name: { type: 'string' },
      country: { type: 'string' },
      kind: { type: 'string' },
      alg: { type: 'string' },
      registry: { type: 'string' },
      keys: { type: 'string' },
    },
    run: createAgency,
  },
  rotate: {
    summary: "add a new key beside an agency's current ones",
    usage: `Usage: ncp-keys rotate --id ID --registry DIR [--keys DIR] [--alg ALG]

Generates a new key for the agency, adds its public key to <registry>/<ID>.json, writes the
private key, and prints the new kid. The old keys stay valid until revoked.

  --id ID          agency id
  --registry DIR   trust registry folder
  --keys DIR       ${KEYS_DIR_HELP}
  --alg ALG        ${ALLOWED_JWT_ALGORITHMS.join(' | ')} (default: that of the newest key)`,
    options: {
      id: { type: 'string' },
      registry: { type: 'string' },
      keys: { type: 'string' },
      alg: { type: 'string' },
    },
    run: rotate,
  },
  revoke: {
    summary: "remove a key from an agency's key set, or revoke one officer or device",
    usage: `Usage: ncp-keys revoke --id ID --kid KID --registry DIR [--keys DIR]
       ncp-keys revoke --id ID --officer OFFICER --registry DIR [--restore]
       ncp-keys revoke --id ID --device OFFICER/DEVICE --registry DIR [--restore]

--kid removes the key KID from <registry>/<ID>.json: tokens signed with it are refused
(AUTH_KID_UNKNOWN) and the devices it attested leave the directory once the hub has loaded
the changed registry. The last key cannot be removed. Its private key file, if it is in the
keys folder, is deleted, so that issue-token cannot sign with it again.

--officer and --device add the officer, or one device of an officer, to the entry's
"revoked" list without touching its keys: the hub refuses their sessions
(AUTH_OFFICER_REVOKED, AUTH_DEVICE_REVOKED), closes those open and withdraws their devices
from the directory. --restore takes them off the list again.

  --id ID          agency id
  --kid KID        the key to remove
  --officer ID     the officer to revoke
  --device O/D     the device D of officer O to revoke
  --restore        lift the revocation of --officer or --device
  --registry DIR   trust registry folder
  --keys DIR       ${KEYS_DIR_HELP}`,
    options: {
      id: { type: 'string' },
      kid: { type: 'string' },
      officer: { type: 'string' },
      device: { type: 'string' },
      restore: { type: 'boolean' },
      registry: { type: 'string' },
      keys: { type: 'string' },
    },
    run: revoke,
  },
  jwks: {
    summary: "print an agency's public key set (JWKS)",
    usage: `Usage: ncp-keys jwks --id ID --registry DIR

Prints the agency's public key set { "keys": [...] }, to publish at a jwksUri.

  --id ID          agency id
  --registry DIR   trust registry folder`,
    options: { id: { type: 'string' }, registry: { type: 'string' } },
    run: jwks,
  },
  'issue-token': {
    summary: 'issue an officer token (prints only the token)',
    usage: `Usage: ncp-keys issue-token --agency ID --officer SUB --roles R1,R2 [options]

Signs an officer token with the agency's private key and prints only the token.

  --agency ID       issuing agency id
  --officer SUB     officer id (the token's sub)
  --roles R1,R2     comma-separated roles: ${ROLES.join(', ')}
  --ttl SECONDS     lifetime, at most ${MAX_TOKEN_LIFETIME_SECONDS} (default: 3600)
  --audience HUB    ${AUDIENCE_HELP}
  --keys DIR        ${KEYS_DIR_HELP}
  --kid KID         the key to sign with (default: the newest one)`,
    options: {
      agency: { type: 'string' },
      officer: { type: 'string' },
      roles: { type: 'string' },
      ttl: { type: 'string' },
      audience: { type: 'string' },
      keys: { type: 'string' },
      kid: { type: 'string' },
    },
    run: issueToken,
  },
  'attest-device': {
    summary: "attest an officer device's public keys (prints only the attestation)",
    usage: `Usage: ncp-keys attest-device --agency ID --officer SUB --device DEV --encryption-key B64URL --signing-key B64URL [options]

Signs a device attestation (a JWS of typ ncp-device+jwt) binding the officer's device to
its two public keys with the agency's private key, and prints only the attestation.

  --agency ID              attesting agency id
  --officer SUB            officer id
  --device DEV             device id (1-64 of A-Z, a-z, 0-9 and . _ -)
  --encryption-key B64URL  the device's X25519 public key, 32 bytes as unpadded base64url
  --signing-key B64URL     the device's Ed25519 public key, 32 bytes as unpadded base64url
                           (give a key that starts with "-" as --option=KEY)
  --ttl SECONDS            lifetime, at most ${MAX_ATTESTATION_TTL_SECONDS} (default: ${DEFAULT_ATTESTATION_TTL_SECONDS})
  --keys DIR               ${KEYS_DIR_HELP}
  --kid KID                the key to sign with (default: the newest one)`,
    options: {
      agency: { type: 'string' },
      officer: { type: 'string' },
      device: { type: 'string' },
      'encryption-key': { type: 'string' },
      'signing-key': { type: 'string' },
      ttl: { type: 'string' },
      keys: { type: 'string' },
      kid: { type: 'string' },
    },
    run: attestDevice,
  },
  'inspect-token': {
    summary: 'verify a token against a trust registry and print the identity',
    usage: `Usage: ncp-keys inspect-token [TOKEN | -] --registry DIR [--audience HUB]

Verifies the token (from the argument, or from stdin when it is "-" or absent) as the hub
would, and prints the identity as JSON (exit 0) or {"error":{"code","message"}} (exit 1).

  --registry DIR    trust registry folder
  --audience HUB    ${AUDIENCE_HELP}`,
    options: { registry: { type: 'string' }, audience: { type: 'string' } },
    maxPositionals: 1,
    run: inspectToken,
  },
  'dev-init': {
    summary: 'create the development agencies (not for real cases)',
    usage: `Usage: ncp-keys dev-init --dir DIR

Creates, once, the development trust registry (DIR/registry) and its private keys
(DIR/keys), as the hub does on a development start, and prints where they are.

  --dir DIR        folder, e.g. .data/dev`,
    options: { dir: { type: 'string' } },
    run: devInit,
  },
  audit: AUDIT_COMMAND,
};

function overallUsage(): string {
  const width = Math.max(...Object.keys(COMMANDS).map((name) => name.length));
  return `Usage: ncp-keys <command> [options]

Agency keys, officer tokens and the trust registry of ncp-hub.

Commands:
${Object.entries(COMMANDS)
  .map(([name, command]) => `  ${name.padEnd(width)}  ${command.summary}`)
  .join('\n')}
  ${'help'.padEnd(width)}  print this help, or "help <command>" for a command's

Run "ncp-keys <command> --help" for a command's options.
Exit codes: 0 success, 1 failure (invalid value, unknown agency, refused token, audit
verification failed), 2 usage error.`;
}

// ---------------------------------------------------------------------------------------------
// Entry point

async function readStdin(): Promise<string> {
  if (process.stdin.isTTY) throw new UsageError('no token: give it as an argument or pipe it on stdin');
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of process.stdin) {
    chunks.push(chunk as Buffer);
    size += (chunk as Buffer).length;
    if (size > 2 * MAX_TOKEN_LENGTH) break; // long enough to be refused; read no further
  }
  return Buffer.concat(chunks).toString('utf8');
}

function parse(name: string, command: Command, argv: string[]): Args {
  try {
    const { values, positionals } = parseArgs({
      args: argv,
      options: { ...command.options, help: { type: 'boolean', short: 'h' } },
      allowPositionals: (command.maxPositionals ?? 0) > 0,
      strict: true,
    });
    if (positionals.length > (command.maxPositionals ?? 0)) {
      throw new UsageError(`unexpected argument "${positionals.at(-1)}"`, name);
    }
    return { values, positionals };
  } catch (error) {
    if (error instanceof UsageError) throw error;
    throw new UsageError((error as Error).message.split('\n')[0] ?? 'invalid arguments', name);
  }
}

/**
 * Runs `ncp-keys` with the arguments after the program name and returns the exit code: 0
 * success, 1 failure, 2 usage error. Never calls `process.exit`, so it can run in-process.
 *
 * @example
 * ```ts
 * process.exitCode = await runCli(process.argv.slice(2));
 * ```
 */
export async function runCli(argv: string[], io?: CliIo): Promise<number> {
  const streams: Required<CliIo> = {
    stdout: io?.stdout ?? ((s) => process.stdout.write(s)),
    stderr: io?.stderr ?? ((s) => process.stderr.write(s)),
    stdin: io?.stdin ?? readStdin,
  };
  const [name, ...rest] = argv;
  if (name === undefined) {
    streams.stderr(`${overallUsage()}\n`);
    return 2;
  }
  let known: string | undefined;
  try {
    if (name === 'help' || name === '--help' || name === '-h') {
      const topic = rest[0] === undefined ? undefined : COMMANDS[rest[0]];
      if (rest[0] !== undefined && !topic) throw new UsageError(`unknown command "${rest[0]}"`);
      print(streams, topic ? topic.usage : overallUsage());
      return 0;
    }
    const command = Object.hasOwn(COMMANDS, name) ? COMMANDS[name] : undefined;
    if (!command) throw new UsageError(`unknown command "${name}"`);
    known = name;
    const args = parse(name, command, rest);
    if (args.values.help) {
      print(streams, command.usage);
      return 0;
    }
    return await command.run(args, streams);
  } catch (error) {
    if (error instanceof UsageError) {
      const command = error.command ?? known;
      const hint = command ? `ncp-keys ${command} --help` : 'ncp-keys help';
      streams.stderr(`ncp-keys: ${error.message}\nRun "${hint}" for usage.\n`);
      return 2;
    }
    streams.stderr(`ncp-keys: ${error instanceof Error ? error.message : String(error)}\n`);
    return 1;
  }
}
