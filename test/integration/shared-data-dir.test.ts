/**
 * Two hub nodes on one fresh DATA_DIR (a shared volume), started at the same instant, make one
 * hub key and one development registry between them (the DATA_DIR lock); `npm run hub-init`
 * makes them explicitly, and a node started after uses them.
 */
import { randomUUID } from 'node:crypto';
import { readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { findFreePort } from '@ncp-hub/server';
import { afterAll, describe, expect, inject, it } from 'vitest';
import { GENEROUS_BUDGETS, makeTempDir } from '../helpers/hub.js';
import { REPO_ROOT, type RunningProcess, runHubProcess, runProcess } from '../helpers/processes.js';
import { waitFor } from '../helpers/wait-for.js';

const folders: string[] = [];
const started: RunningProcess[] = [];
afterAll(async () => {
  for (const running of started) {
    running.kill();
    await running.exited;
  }
  for (const dir of folders) await rm(dir, { recursive: true, force: true });
});

/** A node's environment: the suite's Redis, a prefix of the folder's own, the development registry (no TRUST_REGISTRY). */
function nodeEnv(dataDir: string, prefix: string, port: number): Record<string, string> {
  return {
    NODE_ENV: 'test',
    LOG_LEVEL: 'warn',
    HOST: '127.0.0.1',
    PORT: String(port),
    REDIS_URL: inject('redisUrl'),
    REDIS_PREFIX: prefix,
    DATA_DIR: dataDir,
    ...GENEROUS_BUDGETS,
  };
}

async function hubKeysOf(url: string): Promise<unknown> {
  await waitFor(async () => (await fetch(`${url}/readyz`).catch(() => undefined))?.ok === true, 30_000, 100);
  return (await fetch(`${url}/v1/hub-keys`)).json();
}

/** The private keys in each folder of `dir` (one folder per owner), by owner. */
async function keyFilesByOwner(dir: string): Promise<Record<string, number>> {
  const owners = await readdir(dir);
  return Object.fromEntries(
    await Promise.all(owners.map(async (owner) => [owner, (await readdir(join(dir, owner))).length] as const)),
  );
}

describe('hub nodes on one DATA_DIR', () => {
  it('two nodes started at the same instant on a fresh DATA_DIR serve one hub key and trust one registry', async () => {
    const dataDir = join(await makeTempDir(), 'shared');
    folders.push(dataDir);
    const prefix = `ncp-test-${randomUUID()}:`;
    const ports = [await findFreePort(), await findFreePort()];
    const nodes = ports.map((port) => runHubProcess(nodeEnv(dataDir, prefix, port), REPO_ROOT));
    started.push(...nodes);
    const [a, b] = await Promise.all(ports.map((port) => hubKeysOf(`http://127.0.0.1:${port}`)));
    expect(a).toEqual(b);
    expect((a as { keys: unknown[] }).keys).toHaveLength(1);
    expect(await keyFilesByOwner(join(dataDir, 'hub-keys'))).toEqual({ hub: 1 });
    // One key per development agency, and its registry entry: not one set per node.
    const agencyKeys = await keyFilesByOwner(join(dataDir, 'dev', 'keys'));
    expect(Object.values(agencyKeys).every((count) => count === 1)).toBe(true);
    expect((await readdir(join(dataDir, 'dev', 'registry'))).length).toBe(Object.keys(agencyKeys).length);
    expect(await readdir(dataDir)).not.toContain('.init.lock');
  });

  it('npm run hub-init makes the hub key once; a node started after serves it', async () => {
    const dataDir = join(await makeTempDir(), 'shared');
    folders.push(dataDir);
    const prefix = `ncp-test-${randomUUID()}:`;
    const port = await findFreePort();
    const env = nodeEnv(dataDir, prefix, port);
    const init = async () => {
      const running = runProcess(process.execPath, [join(REPO_ROOT, 'server/dist/init.js')], { env, cwd: REPO_ROOT });
      expect(await running.exited).toEqual({ code: 0, signal: null });
      // Its summary is the last line; the development registry's warning (a pino line) comes before.
      return JSON.parse(running.stdout().trim().split('\n').at(-1) ?? '') as {
        hubKey: string;
        developmentRegistryCreated: boolean;
      };
    };
    const first = await init();
    const second = await init();
    expect(first.developmentRegistryCreated).toBe(true);
    expect(second).toEqual({ ...first, developmentRegistryCreated: false });
    const node = runHubProcess(env, REPO_ROOT);
    started.push(node);
    const served = (await hubKeysOf(`http://127.0.0.1:${port}`)) as { keys: Array<{ kid: string }> };
    expect(served.keys.map((key) => key.kid)).toEqual([first.hubKey]);
  });
});
