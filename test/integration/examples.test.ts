/**
 * The runnable examples (examples/), run as `npm run example:*` runs them: compiled, as child
 * processes, against a hub process in development mode (as `npm start` starts it), with
 * HUB_URL and NCP_DEV_KEYS pointing at that hub and its development keys.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { once } from 'node:events';
import { access, rm } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { findFreePort } from '@ncp-hub/server';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { makeTempDir } from '../helpers/hub.js';
import { waitFor } from '../helpers/wait-for.js';

const ROOT = resolve(import.meta.dirname, '../..');
const MAIN = join(ROOT, 'server/dist/main.js');
const TSC = join(ROOT, 'node_modules/typescript/bin/tsc');
/** An example's own waits give up after 15 s each; a run that outlives this is killed. */
const EXAMPLE_TIMEOUT_MS = 45_000;
const TEST_TIMEOUT_MS = 60_000;

interface Run {
  code: number | null;
  output: string;
}

/** Runs `node <file>` with only `env` (and PATH) set; kills it after `timeoutMs`. */
async function run(args: string[], env: Record<string, string>, timeoutMs = EXAMPLE_TIMEOUT_MS): Promise<Run> {
  const child = spawn(process.execPath, args, {
    cwd: ROOT,
    env: { PATH: process.env.PATH ?? '', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => {
    output += chunk.toString();
  });
  child.stderr.on('data', (chunk: Buffer) => {
    output += chunk.toString();
  });
  const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
  const [code] = (await once(child, 'exit')) as [number | null];
  clearTimeout(timer);
  return { code, output };
}

let dataDir: string;
let hub: ChildProcess | undefined;
let hubOutput = '';
let hubUrl: string;

beforeAll(async () => {
  await access(MAIN).catch(() => {
    throw new Error(`${MAIN} is missing: run "npm run build" (npm test does) before this suite`);
  });
  // As `npm run example:*` does after the build: the examples compile against the packages' dist/.
  const compiled = await run([TSC, '-p', join(ROOT, 'examples')], {});
  if (compiled.code !== 0) throw new Error(`tsc -p examples failed:\n${compiled.output}`);

  dataDir = await makeTempDir('ncp-hub-examples-');
  const port = await findFreePort();
  hubUrl = `http://127.0.0.1:${port}`;
  // Development mode: no TRUST_REGISTRY, so the hub creates the development agencies in DATA_DIR/dev.
  hub = spawn(process.execPath, [MAIN], {
    cwd: dataDir,
    env: {
      PATH: process.env.PATH ?? '',
      PORT: String(port),
      DATA_DIR: join(dataDir, 'data'),
      REDIS_URL: inject('redisUrl'),
      REDIS_PREFIX: `ncp-examples-${randomUUID()}:`,
      LOG_LEVEL: 'warn',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  hub.stdout?.on('data', (chunk: Buffer) => {
    hubOutput += chunk.toString();
  });
  hub.stderr?.on('data', (chunk: Buffer) => {
    hubOutput += chunk.toString();
  });
  await waitFor(async () => (await fetch(`${hubUrl}/healthz`).catch(() => undefined))?.ok === true, 30_000, 100).catch(
    (error: unknown) => {
      throw new Error(`the hub did not start:\n${hubOutput}`, { cause: error });
    },
  );
}, 60_000);

afterAll(async () => {
  if (hub && hub.exitCode === null && hub.signalCode === null) {
    hub.kill('SIGTERM');
    await once(hub, 'exit');
  }
  if (dataDir) await rm(dataDir, { recursive: true, force: true });
});

function runExample(name: string, env: Record<string, string> = {}): Promise<Run> {
  return run([join(ROOT, 'examples/dist', `${name}.js`)], {
    HUB_URL: hubUrl,
    NCP_DEV_KEYS: join(dataDir, 'data/dev/keys'),
    ...env,
  });
}

describe('the examples, against a hub in development mode', () => {
  it('two-officers: an encrypted message, its delivered receipt, matching safety numbers', {
    timeout: TEST_TIMEOUT_MS,
  }, async () => {
    const { code, output } = await runExample('two-officers');
    expect(output).toMatch(/UA-NPU ua\.officer: device ua-laptop connected/);
    expect(output).toMatch(/PL-KGP pl\.officer: device pl-laptop connected/);
    expect(output).toMatch(/pl\.officer received and decrypted message \S+ from UA-NPU\/ua\.officer/);
    expect(output).toContain('"Suspect vehicle AB1234 crossed the border at Yahodyn at 14:05, heading for Lublin."');
    expect(output).toContain('got the delivered receipt, signed by PL-KGP/pl.officer/pl-laptop');
    const numbers = [...output.matchAll(/sees ((?:\d{5} ){11}\d{5})/g)].map((match) => match[1]);
    expect(numbers).toHaveLength(2);
    expect(numbers[0]).toBe(numbers[1]);
    expect(output).toContain('OK: message delivered end to end');
    expect(code, output).toBe(0);
  });

  it('two-officers again: the same devices (kept in their key stores) work a second time', {
    timeout: TEST_TIMEOUT_MS,
  }, async () => {
    const { code, output } = await runExample('two-officers');
    expect(code, output).toBe(0);
  });

  it('operational-query: the whole lifecycle, then the audit export verified against the hub key', {
    timeout: TEST_TIMEOUT_MS,
  }, async () => {
    const { code, output } = await runExample('operational-query');
    expect(output).toMatch(/opened query \S+ on ground ABSCONDING_RISK/);
    expect(output).toContain('"The suspect bought a one-way ticket Warsaw-Dubai for tonight."');
    expect(output).toContain('ua.ncb.desk acknowledged: NCB track ACKNOWLEDGED');
    expect(output).toContain('registered formal request MLA/2026/0042 via UA-PGO: FILED');
    expect(output).toContain('confirmed it: formal request CONFIRMED');
    expect(output).toContain(
      'timeline: OPENED -> NCB_NOTIFIED -> NCB_ACKNOWLEDGED -> ANSWERED -> FILED -> CONFIRMED -> CLOSED',
    );
    expect(output).toMatch(
      /verified offline: \d+ entries \(\d+ of other agencies redacted\), [1-9]\d* signed checkpoints/,
    );
    expect(output).toMatch(/entry \d+ of the verified chain is the opening/);
    expect(output).toContain('OK: query opened');
    expect(code, output).toBe(0);
  });

  it('say to start the hub, and exit 1, when no hub answers', async () => {
    const port = await findFreePort();
    const { code, output } = await runExample('two-officers', { HUB_URL: `http://127.0.0.1:${port}` });
    expect(output).toContain(`FAILED: no hub answers at http://127.0.0.1:${port}`);
    expect(output).toContain('start the hub with npm start');
    expect(code).toBe(1);
  });

  it('say where the development keys should be, and exit 1, when they are not', async () => {
    const { code, output } = await runExample('operational-query', { NCP_DEV_KEYS: join(dataDir, 'nowhere') });
    expect(output).toContain(`FAILED: no development keys in ${join(dataDir, 'nowhere')}`);
    expect(code).toBe(1);
  });
});
