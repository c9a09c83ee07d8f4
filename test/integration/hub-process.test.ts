import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { access, rm } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { findFreePort } from '@ncp-hub/server';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeTempDir } from '../helpers/hub.js';
import { isAlive } from '../helpers/processes.js';
import { waitFor } from '../helpers/wait-for.js';

const MAIN = resolve(import.meta.dirname, '../../server/dist/main.js');
const folders: string[] = [];

beforeAll(async () => {
  await access(MAIN).catch(() => {
    throw new Error(`${MAIN} is missing: run "npm run build" (npm test does) before this suite`);
  });
});
afterAll(async () => {
  for (const dir of folders) await rm(dir, { recursive: true, force: true });
});

/** Runs the hub as `npm start` does (node server/dist/main.js), with only `env` set. */
function runHub(env: Record<string, string>, cwd: string): { child: ChildProcess; output: () => string } {
  const child = spawn(process.execPath, [MAIN], { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
  let text = '';
  child.stdout?.on('data', (chunk: Buffer) => {
    text += chunk.toString();
  });
  child.stderr?.on('data', (chunk: Buffer) => {
    text += chunk.toString();
  });
  return { child, output: () => text };
}

describe('the hub process', () => {
  it('starts with no variables set: embedded Redis, development identities, /healthz; exits 0 on SIGTERM', async () => {
    const cwd = await makeTempDir();
    folders.push(cwd);
    const port = await findFreePort();
    const { child, output } = runHub({ PATH: process.env.PATH ?? '', PORT: String(port) }, cwd);
    try {
      await waitFor(async () => (await fetch(`http://127.0.0.1:${port}/healthz`)).ok, 30_000, 200);
      await waitFor(() => output().includes('DEVELOPMENT MODE: not for real cases'), 5_000);
      for (const id of ['UA-NPU', 'PL-KGP', 'NCB-UA', 'NCB-PL', 'UA-PGO']) {
        expect(output()).toMatch(new RegExp(`npx ncp-keys issue-token --keys \\.data/dev/keys --agency ${id} `));
      }
      expect(output()).not.toMatch(/eyJ[A-Za-z0-9_-]{10,}\./);
      const pid = Number(/"pid":(\d+)[^\n]*embedded redis started/.exec(output())?.[1]);
      expect(pid).toBeGreaterThan(0);
      await access(join(cwd, '.data', 'redis', 'appendonlydir'));

      child.kill('SIGTERM');
      const [code] = await once(child, 'exit');
      expect(code).toBe(0);
      expect(isAlive(pid)).toBe(false);
      expect(output()).toContain('hub stopped');
    } finally {
      child.kill('SIGKILL');
    }
  });

  it('exits 1 naming the three ways out when no redis-server can be found', async () => {
    const cwd = await makeTempDir();
    folders.push(cwd);
    // A PATH with nothing on it: the hub is started by absolute path and must find no redis-server.
    const { child, output } = runHub({ PATH: cwd, PORT: '0' }, cwd);
    const [code] = await once(child, 'exit');
    expect(code).toBe(1);
    expect(output()).toContain('no redis-server binary was found');
    expect(output()).toContain('REDIS_URL');
    expect(output()).toContain('docker run');
  });

  it('exits 1 naming each bad variable', async () => {
    const cwd = await makeTempDir();
    folders.push(cwd);
    const { child, output } = runHub({ PATH: process.env.PATH ?? '', PORT: 'x', LOG_LEVEL: 'chatty' }, cwd);
    const [code] = await once(child, 'exit');
    expect(code).toBe(1);
    expect(output()).toMatch(/PORT: /);
    expect(output()).toMatch(/LOG_LEVEL: /);
  });
});
