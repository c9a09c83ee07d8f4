import { randomBytes } from 'node:crypto';
import { mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CompactSign, exportJWK, generateKeyPair } from 'jose';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  AUDIT_CHECKPOINT_TYPE,
  type AuditEntry,
  type AuditEvent,
  chainAuditEvent,
  GENESIS_HASH,
} from '../src/audit-chain.js';
import { runCli } from '../src/cli.js';
import {
  loadTrustRegistry,
  parseRegistryEntry,
  type RegistryEntry,
  readRegistryEntry,
  verifyDeviceAttestation,
} from '../src/index.js';

const AUDIENCE = 'test-hub';

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

async function run(argv: string[], stdin?: string): Promise<Run> {
  let stdout = '';
  let stderr = '';
  const code = await runCli(argv, {
    stdout: (s) => {
      stdout += s;
    },
    stderr: (s) => {
      stderr += s;
    },
    stdin: async () => stdin ?? '',
  });
  return { code, stdout, stderr };
}

let dir: string;
let registry: string;
let keys: string;

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'ncp-keys-cli-'));
  registry = join(dir, 'registry');
  keys = join(dir, 'keys');
});

afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function createAgency(id = 'UA-NPU', kind = 'police'): Promise<Run> {
  const result = await run([
    'create-agency',
    '--id',
    id,
    '--name',
    'National Police of Ukraine',
    '--country',
    'UA',
    '--kind',
    kind,
    '--registry',
    registry,
    '--keys',
    keys,
  ]);
  expect(result.code, result.stderr).toBe(0);
  return result;
}

async function kids(id = 'UA-NPU'): Promise<string[]> {
  const entry = JSON.parse(await readFile(join(registry, `${id}.json`), 'utf8')) as RegistryEntry;
  return entry.jwks?.keys.map((key) => key.kid) ?? [];
}

async function issue(kid?: string): Promise<string> {
  const args = ['issue-token', '--agency', 'UA-NPU', '--officer', 'o.petrenko', '--roles', 'officer,supervisor'];
  const result = await run([...args, '--audience', AUDIENCE, '--keys', keys, ...(kid ? [`--kid=${kid}`] : [])]);
  expect(result.code, result.stderr).toBe(0);
  expect(result.stdout).toMatch(/^[\w-]+\.[\w-]+\.[\w-]+\n$/);
  return result.stdout.trim();
}

function inspect(token: string): Promise<Run> {
  return run(['inspect-token', token, '--registry', registry, '--audience', AUDIENCE]);
}

describe('create-agency', () => {
  it('writes a loadable registry file and a private key of mode 0600', async () => {
    const result = await createAgency();
    const file = join(registry, 'UA-NPU.json');
    expect(result.stdout).toBe(`${file}\n`);

    const trust = await loadTrustRegistry(registry);
    expect(trust.list()).toEqual([{ id: 'UA-NPU', name: 'National Police of Ukraine', country: 'UA', kind: 'police' }]);

    const [kid] = await kids();
    const names = await readdir(join(keys, 'UA-NPU'));
    expect(names).toEqual([`${kid}.private.jwk`]);
    expect((await stat(join(keys, 'UA-NPU', names[0] as string))).mode & 0o777).toBe(0o600);
    expect(result.stdout + result.stderr).not.toContain('"d"');
  });

  it('prints the registry entry, never the private key, without --registry', async () => {
    const result = await run([
      'create-agency',
      '--id',
      'PL-KGP',
      '--name',
      'Polish Police',
      '--country',
      'PL',
      '--kind',
      'police',
      '--alg',
      'ES256',
      '--keys',
      keys,
    ]);
    expect(result.code, result.stderr).toBe(0);
    const entry = parseRegistryEntry(result.stdout, 'stdout');
    expect(entry.jwks?.keys[0]?.alg).toBe('ES256');
    expect(result.stdout).not.toContain('"d"');
  });

  it('refuses to replace an existing registry entry', async () => {
    await createAgency();
    const again = await run([
      'create-agency',
      '--id',
      'UA-NPU',
      '--name',
      'Other',
      '--country',
      'UA',
      '--kind',
      'police',
      '--registry',
      registry,
      '--keys',
      keys,
    ]);
    expect(again.code).toBe(1);
    expect(again.stderr).toMatch(/^ncp-keys: .*already exists/);
  });

  it('refuses invalid values with the schema message', async () => {
    const base = ['create-agency', '--name', 'X', '--keys', keys];
    const badId = await run([...base, '--id', 'ua', '--country', 'UA', '--kind', 'police']);
    expect(badId.code).toBe(1);
    expect(badId.stderr).toContain('invalid --id "ua": agency id');
    const badCountry = await run([...base, '--id', 'UA-X', '--country', 'Ukraine', '--kind', 'police']);
    expect(badCountry.code).toBe(1);
    expect(badCountry.stderr).toContain('invalid --country');
    const badKind = await run([...base, '--id', 'UA-X', '--country', 'UA', '--kind', 'cop']);
    expect(badKind.code).toBe(1);
    expect(badKind.stderr).toContain('invalid --kind');
  });
});

describe('issue-token and inspect-token', () => {
  it('round-trips the identity', async () => {
    await createAgency();
    const result = await inspect(await issue());
    expect(result.code, result.stdout).toBe(0);
    expect(JSON.parse(result.stdout)).toMatchObject({
      agency: 'UA-NPU',
      agencyKind: 'police',
      country: 'UA',
      officer: 'o.petrenko',
      roles: ['officer', 'supervisor'],
    });
  });

  it('reads the token from stdin when it is "-" or absent', async () => {
    await createAgency();
    const token = await issue();
    const dash = await run(['inspect-token', '-', '--registry', registry, '--audience', AUDIENCE], `${token}\n`);
    expect(dash.code, dash.stdout).toBe(0);
    const absent = await run(['inspect-token', '--registry', registry, '--audience', AUDIENCE], token);
    expect(JSON.parse(absent.stdout).officer).toBe('o.petrenko');
  });

  it('prints a refused token as an error JSON on stdout', async () => {
    await createAgency();
    const result = await run(['inspect-token', await issue(), '--registry', registry, '--audience', 'other-hub']);
    expect(result.code).toBe(1);
    expect(JSON.parse(result.stdout)).toEqual({
      error: { code: 'AUTH_AUDIENCE_INVALID', message: expect.any(String) },
    });
  });

  it('refuses an unknown role, a bad ttl and a missing key', async () => {
    await createAgency();
    const base = ['issue-token', '--agency', 'UA-NPU', '--officer', 'o.p', '--keys', keys];
    const role = await run([...base, '--roles', 'officer,boss']);
    expect(role.code).toBe(1);
    expect(role.stderr).toContain('unknown role: boss');
    const ttl = await run([...base, '--roles', 'officer', '--ttl', '999999']);
    expect(ttl.code).toBe(1);
    expect(ttl.stderr).toContain('invalid --ttl');
    const kid = await run([...base, '--roles', 'officer', '--kid', 'nope']);
    expect(kid.code).toBe(1);
    expect(kid.stderr).toMatch(/^ncp-keys: no private key with kid nope/);
    expect(role.stdout + ttl.stdout + kid.stdout).toBe('');
  });
});

describe('attest-device', () => {
  const deviceKey = () => randomBytes(32).toString('base64url');
  const base = (encryptionKey: string, signingKey: string) => [
    'attest-device',
    '--agency',
    'UA-NPU',
    '--officer',
    'o.petrenko',
    '--device',
    'laptop-1',
    // A base64url key may start with "-": give it as --option=VALUE.
    `--encryption-key=${encryptionKey}`,
    `--signing-key=${signingKey}`,
    '--keys',
    keys,
  ];

  it('prints only an attestation that verifies against the registry entry', async () => {
    await createAgency();
    const [encryptionKey, signingKey] = [deviceKey(), deviceKey()];
    const result = await run([...base(encryptionKey, signingKey), '--ttl', '86400']);
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout).toMatch(/^[\w-]+\.[\w-]+\.[\w-]+\n$/);
    expect(result.stderr).toBe('');

    const entry = await readRegistryEntry(registry, 'UA-NPU');
    const attestation = await verifyDeviceAttestation(
      result.stdout.trim(),
      { keys: entry.jwks?.keys ?? [] },
      { expected: { agency: 'UA-NPU', officer: 'o.petrenko', device: 'laptop-1' } },
    );
    expect(attestation).toMatchObject({ encryptionKey, signingKey, kid: (await kids())[0] });
    expect(attestation.expiresAt - attestation.issuedAt).toBe(86400);
  });

  it('refuses a key of the wrong length, a bad device id or ttl with exit 1', async () => {
    await createAgency();
    const short = await run(base(randomBytes(31).toString('base64url'), deviceKey()));
    expect(short.code).toBe(1);
    expect(short.stderr).toMatch(/^ncp-keys: invalid --encryption-key .*32 bytes/);
    const long = await run(base(deviceKey(), randomBytes(33).toString('base64url')));
    expect(long.code).toBe(1);
    expect(long.stderr).toContain('invalid --signing-key');
    const device = await run([...base(deviceKey(), deviceKey()), '--device', 'a/b']);
    expect(device.code).toBe(1);
    expect(device.stderr).toContain('invalid --device');
    const ttl = await run([...base(deviceKey(), deviceKey()), '--ttl', String(366 * 24 * 3600)]);
    expect(ttl.code).toBe(1);
    expect(ttl.stderr).toContain('invalid --ttl');
    expect(short.stdout + long.stdout + device.stdout + ttl.stdout).toBe('');
  });

  it('takes a key that starts with "-" as --option=VALUE', async () => {
    await createAgency();
    const dashed = `-${deviceKey().slice(1)}`;
    const result = await run(base(dashed, deviceKey()));
    expect(result.code, result.stderr).toBe(0);
    const entry = await readRegistryEntry(registry, 'UA-NPU');
    const attestation = await verifyDeviceAttestation(result.stdout.trim(), { keys: entry.jwks?.keys ?? [] });
    expect(attestation.encryptionKey).toBe(dashed);
  });

  it('returns 2 for a missing option', async () => {
    const result = await run(['attest-device', '--agency', 'UA-NPU', '--officer', 'o.p', '--device', 'd']);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('missing --encryption-key');
  });
});

describe('rotate, jwks and revoke', () => {
  it('rotate adds a key; tokens of the new and the old key verify', async () => {
    await createAgency();
    const [oldKid] = await kids();
    const rotated = await run(['rotate', '--id', 'UA-NPU', '--registry', registry, '--keys', keys]);
    expect(rotated.code, rotated.stderr).toBe(0);
    const newKid = rotated.stdout.trim();
    expect(await kids()).toEqual([oldKid, newKid]);

    expect((await inspect(await issue(newKid))).code).toBe(0);
    expect((await inspect(await issue(oldKid))).code).toBe(0);

    const jwks = await run(['jwks', '--id', 'UA-NPU', '--registry', registry]);
    expect(jwks.code).toBe(0);
    expect(JSON.parse(jwks.stdout).keys.map((key: { kid: string }) => key.kid)).toEqual([oldKid, newKid]);
    expect(jwks.stdout).not.toContain('"d"');
  });

  it('revoke removes a kid, whose tokens are then refused with AUTH_KID_UNKNOWN', async () => {
    await createAgency();
    const [oldKid] = (await kids()) as [string];
    const oldToken = await issue(oldKid);
    const rotated = await run(['rotate', '--id', 'UA-NPU', '--registry', registry, '--keys', keys]);
    const newKid = rotated.stdout.trim();

    const revoked = await run(['revoke', '--id', 'UA-NPU', `--kid=${oldKid}`, '--registry', registry, '--keys', keys]);
    expect(revoked.code, revoked.stderr).toBe(0);
    expect(revoked.stdout).toContain('private key was deleted');
    expect(await kids()).toEqual([newKid]);
    expect(await readdir(join(keys, 'UA-NPU'))).toEqual([`${newKid}.private.jwk`]);

    const refused = await inspect(oldToken);
    expect(refused.code).toBe(1);
    expect(JSON.parse(refused.stdout).error.code).toBe('AUTH_KID_UNKNOWN');
    expect((await inspect(await issue(newKid))).code).toBe(0);
  });

  it('refuses to revoke the last key, or an unknown kid', async () => {
    await createAgency();
    const [kid] = (await kids()) as [string];
    const last = await run(['revoke', '--id', 'UA-NPU', `--kid=${kid}`, '--registry', registry]);
    expect(last.code).toBe(1);
    expect(last.stderr).toContain('last key');
    expect(await kids()).toEqual([kid]);
    const unknown = await run(['revoke', '--id', 'UA-NPU', '--kid', 'nope', '--registry', registry]);
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toContain('no key with kid nope');
  });

  it('revoke --officer and --device list them in the entry, keys untouched; --restore lifts them', async () => {
    await createAgency();
    const before = await kids();
    const token = await issue();
    const revoke = (...args: string[]) => run(['revoke', '--id', 'UA-NPU', '--registry', registry, ...args]);
    expect((await revoke('--officer', 'o.petrenko')).code).toBe(0);
    const device = await revoke('--device', 'o.kovalenko/laptop-2');
    expect(device.code, device.stderr).toBe(0);
    expect(device.stdout).toBe('revoked device o.kovalenko/laptop-2 of agency UA-NPU\n');
    const entry = await readRegistryEntry(registry, 'UA-NPU');
    expect(entry.revoked).toEqual({ officers: ['o.petrenko'], devices: ['o.kovalenko/laptop-2'] });
    expect(await kids()).toEqual(before);
    const refused = await inspect(token);
    expect(refused.code).toBe(1);
    expect(JSON.parse(refused.stdout).error.code).toBe('AUTH_OFFICER_REVOKED');

    const again = await revoke('--officer', 'o.petrenko');
    expect(again.code).toBe(1);
    expect(again.stderr).toContain('already revoked');
    expect((await revoke('--device', 'no-slash')).code).toBe(1);
    expect((await revoke('--kid', 'x', '--officer', 'o.petrenko')).code).toBe(2);

    expect((await revoke('--officer', 'o.petrenko', '--restore')).code).toBe(0);
    expect((await revoke('--device', 'o.kovalenko/laptop-2', '--restore')).code).toBe(0);
    expect((await readRegistryEntry(registry, 'UA-NPU')).revoked).toBeUndefined();
    expect((await inspect(token)).code).toBe(0);
    const notRevoked = await revoke('--officer', 'o.petrenko', '--restore');
    expect(notRevoked.code).toBe(1);
    expect(notRevoked.stderr).toContain('not revoked');
  });
});

describe('errors and help', () => {
  it('returns 1 for an unknown agency', async () => {
    await createAgency();
    const rotate = await run(['rotate', '--id', 'PL-KGP', '--registry', registry, '--keys', keys]);
    expect(rotate.code).toBe(1);
    expect(rotate.stderr).toContain('agency PL-KGP is not in this registry');
    const token = await run([
      'issue-token',
      '--agency',
      'PL-KGP',
      '--officer',
      'o',
      '--roles',
      'officer',
      '--keys',
      keys,
    ]);
    expect(token.code).toBe(1);
    expect(token.stderr).toContain('no private key for agency PL-KGP');
  });

  it('returns 2 with a message for usage errors', async () => {
    const cases: string[][] = [
      [],
      ['frobnicate'],
      ['rotate', '--registry', registry],
      ['jwks', '--id', 'UA-NPU', '--registry', registry, '--bogus'],
      ['issue-token', '--agency'],
      ['revoke', 'UA-NPU', '--kid', 'x', '--registry', registry],
      ['inspect-token', 'a', 'b', '--registry', registry],
    ];
    for (const argv of cases) {
      const result = await run(argv);
      expect(result.code, argv.join(' ')).toBe(2);
      expect(result.stderr, argv.join(' ')).toMatch(/ncp-keys/);
      expect(result.stdout).toBe('');
    }
    expect((await run(['rotate', '--registry', registry])).stderr).toContain('missing --id');
  });

  it('prints help with exit 0', async () => {
    for (const argv of [['help'], ['--help'], ['help', 'rotate'], ['issue-token', '--help'], ['dev-init', '-h']]) {
      const result = await run(argv);
      expect(result.code, argv.join(' ')).toBe(0);
      expect(result.stdout).toMatch(/^Usage: ncp-keys /);
    }
  });
});

describe('dev-init', () => {
  it('creates the development registry and says where it is', async () => {
    const result = await run(['dev-init', '--dir', dir]);
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout).toContain(join(dir, 'registry'));
    expect(result.stdout).toContain(join(dir, 'keys'));
    expect((await loadTrustRegistry(join(dir, 'registry'))).size).toBeGreaterThan(1);
  });
});

describe('audit verify', () => {
  const HUB_KID = 'hub-1';

  /** A three-entry export (entry 2 redacted, a checkpoint of entry 3), its lines, and the hub key files. */
  async function auditExport(): Promise<{
    file: string;
    jwks: string;
    jwk: string;
    privateFile: string;
    lines: string[];
  }> {
    const hubKey = await generateKeyPair('EdDSA', { extractable: true });
    const entries: AuditEntry[] = [];
    for (const seq of [1, 2, 3]) {
      const event: AuditEvent = {
        at: 1_700_000_000_000 + seq,
        type: 'message.relayed',
        actor: { agency: 'UA-NPU', officer: 'o.petrenko' },
        agencies: ['UA-NPU'],
        data: { size: seq * 10 },
      };
      entries.push(chainAuditEvent(event, seq, entries.at(-1)?.hash ?? GENESIS_HASH));
    }
    const head = entries[2] as AuditEntry;
    const payload = new TextEncoder().encode(JSON.stringify({ hub: AUDIENCE, seq: 3, hash: head.hash, at: 1 }));
    const jws = await new CompactSign(payload)
      .setProtectedHeader({ alg: 'EdDSA', kid: HUB_KID, typ: AUDIT_CHECKPOINT_TYPE })
      .sign(hubKey.privateKey);
    const [first, second] = entries as [AuditEntry, AuditEntry];
    const lines = [
      { kind: 'entry', ...first },
      { kind: 'entry', seq: 2, prev: second.prev, hash: second.hash, redacted: true },
      { kind: 'entry', ...head },
      { kind: 'checkpoint', seq: 3, hash: head.hash, at: 1, jws },
    ].map((line) => JSON.stringify(line));
    const publicJwk = { ...(await exportJWK(hubKey.publicKey)), kid: HUB_KID };
    const files = {
      file: join(dir, 'audit.jsonl'),
      jwks: join(dir, 'hub-keys.json'),
      jwk: join(dir, 'hub-key.jwk'),
      privateFile: join(dir, 'hub-private.jwk'),
    };
    await writeFile(files.file, `${lines.join('\n')}\n`);
    await writeFile(files.jwks, JSON.stringify({ keys: [publicJwk] }));
    await writeFile(files.jwk, JSON.stringify(publicJwk));
    await writeFile(files.privateFile, JSON.stringify({ ...(await exportJWK(hubKey.privateKey)), kid: HUB_KID }));
    return { ...files, lines };
  }

  it('prints OK with the counts and the head, with a key set or a single JWK', async () => {
    const { file, jwks, jwk } = await auditExport();
    const head = JSON.parse((await readFile(file, 'utf8')).split('\n')[2] as string).hash;
    for (const key of [jwks, jwk]) {
      const result = await run(['audit', 'verify', file, '--hub-key', key]);
      expect(result.code, result.stderr).toBe(0);
      expect(result.stdout).toBe(`OK: 3 entries (1 redacted), 1 checkpoints, head seq 3 hash ${head}\n`);
      expect(result.stderr).toBe('');
    }
  });

  it('prints FAIL with the line, the seq and the problem, with exit 1', async () => {
    const { file, jwks, lines } = await auditExport();
    await writeFile(file, `${[lines[0], lines[2], lines[3]].join('\n')}\n`);
    const result = await run(['audit', 'verify', file, '--hub-key', jwks]);
    expect(result.code).toBe(1);
    expect(result.stdout).toBe(
      'FAIL: line 2, entry seq 3: missing: entry 2 is missing (removed): entry 3 follows entry 1\n',
    );

    await writeFile(file, `${lines[0]}\nnot json\n`);
    const malformed = await run(['audit', 'verify', file, '--hub-key', jwks]);
    expect(malformed.code).toBe(1);
    expect(malformed.stdout).toBe('FAIL: line 2: malformed: the line is not valid JSON\n');
  });

  it('refuses a private hub key without printing it', async () => {
    const { file, privateFile } = await auditExport();
    const result = await run(['audit', 'verify', file, '--hub-key', privateFile]);
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/^ncp-keys: the hub key file .* holds a private key/);
    const { d } = JSON.parse(await readFile(privateFile, 'utf8'));
    expect(result.stdout + result.stderr).not.toContain(d);
    expect(result.stdout).toBe('');
  });

  it('fails with exit 1 for a missing export or key file', async () => {
    const { file, jwks } = await auditExport();
    const missing = await run(['audit', 'verify', join(dir, 'nope.jsonl'), '--hub-key', jwks]);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(/^ncp-keys: cannot read audit export .*nope\.jsonl: no such file/);
    const noKey = await run(['audit', 'verify', file, '--hub-key', join(dir, 'nope.json')]);
    expect(noKey.code).toBe(1);
    expect(noKey.stderr).toMatch(/^ncp-keys: cannot read hub key file/);
  });

  it('returns 2 for usage errors, and prints its help', async () => {
    const { file, jwks } = await auditExport();
    const cases: [string[], string][] = [
      [['audit'], 'missing subcommand'],
      [['audit', 'check', file, '--hub-key', jwks], 'unknown subcommand "check"'],
      [['audit', 'verify', '--hub-key', jwks], 'missing FILE'],
      [['audit', 'verify', file], 'missing --hub-key'],
      [['audit', 'verify', file, 'extra', '--hub-key', jwks], 'unexpected argument "extra"'],
    ];
    for (const [argv, message] of cases) {
      const result = await run(argv);
      expect(result.code, argv.join(' ')).toBe(2);
      expect(result.stderr, argv.join(' ')).toContain(message);
      expect(result.stdout).toBe('');
    }
    const help = await run(['audit', '--help']);
    expect(help.code).toBe(0);
    expect(help.stdout).toMatch(/^Usage: ncp-keys audit verify FILE --hub-key KEYFILE/);
  });
});
