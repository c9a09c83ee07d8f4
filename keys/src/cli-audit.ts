/**
 * `ncp-keys audit verify`: checks an audit export offline against the hub's public keys.
 *
 * @packageDocumentation
 */
import type { JWK } from 'jose';
import { type HubKeySet, verifyAuditExport } from './audit-verify.js';
import {
  type Args,
  CliError,
  type CliIo,
  type Command,
  print,
  readInput,
  required,
  UsageError,
} from './cli-arguments.js';

/** The hub's public key(s) from a file holding a JWK or a key set `{ "keys": [...] }` (GET /v1/hub-keys). */
async function hubKeysOption(args: Args): Promise<HubKeySet> {
  const file = required(args, 'hub-key');
  const text = await readInput(file, 'hub key file');
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    // The parse error may quote the file: say nothing of its content.
    throw new CliError(`the hub key file ${file} is not valid JSON`);
  }
  const isObject = (v: unknown): v is Record<string, unknown> =>
    typeof v === 'object' && v !== null && !Array.isArray(v);
  const keys = isObject(value) && Array.isArray(value.keys) ? (value.keys as unknown[]) : [value];
  if (keys.length === 0 || !keys.every((key) => isObject(key) && typeof key.kty === 'string')) {
    throw new CliError(`the hub key file ${file} holds neither a JWK nor a key set { "keys": [...] }`);
  }
  if (keys.some((key) => isObject(key) && 'd' in key)) {
    throw new CliError(
      `the hub key file ${file} holds a private key: give the hub's public key(s), as served at GET /v1/hub-keys`,
    );
  }
  return { keys: keys as JWK[] };
}

async function audit(args: Args, io: Required<CliIo>): Promise<number> {
  const [subcommand, file] = args.positionals;
  if (subcommand === undefined) throw new UsageError('missing subcommand: verify');
  if (subcommand !== 'verify') throw new UsageError(`unknown subcommand "${subcommand}" (subcommands: verify)`);
  if (file === undefined || file === '') throw new UsageError('missing FILE: the audit export to verify');
  const hubKeys = await hubKeysOption(args);
  const result = await verifyAuditExport(await readInput(file, 'audit export'), hubKeys);
  if (result.ok) {
    const head = result.head ? `head seq ${result.head.seq} hash ${result.head.hash}` : 'no head (no entries)';
    print(
      io,
      `OK: ${result.entries} entries (${result.redacted} redacted), ${result.checkpoints} checkpoints, ${head}`,
    );
    return 0;
  }
  const where = result.seq === undefined ? `line ${result.line}` : `line ${result.line}, entry seq ${result.seq}`;
  print(io, `FAIL: ${where}: ${result.problem}: ${result.message}`);
  return 1;
}

/** The `audit` command of the table. */
export const AUDIT_COMMAND: Command = {
  summary: "verify an audit export: its hash chain and the hub's signed checkpoints",
  usage: `Usage: ncp-keys audit verify FILE --hub-key KEYFILE

Verifies an audit export (JSON Lines, as the hub exports it): every entry links to the one
before, every full entry matches its hash, and every checkpoint is signed by the hub and
signs the entry just before it. Stops at the first problem and prints
OK: <n> entries (<r> redacted), <c> checkpoints, head seq <s> hash <h>    (exit 0)
FAIL: line <l>, entry seq <s>: <problem>: <message>                     (exit 1)
where <problem> is malformed, missing, altered, reordered, inserted, checkpoint-signature
or checkpoint-mismatch. Entries after the last checkpoint are not covered by a signature.

FILE              the export (.jsonl)
--hub-key KEYFILE the hub's public key: a JWK, or the key set { "keys": [...] } served
                  at GET /v1/hub-keys (a private key is refused)`,
  options: { 'hub-key': { type: 'string' } },
  maxPositionals: 2,
  run: audit,
};
