/**
 * The hub and the follow-up worker as processes under a supervisor (docker stop, systemd, a
 * terminal): signals, the grace period of a stop, the embedded Redis's lifetime, and the one line
 * a start that cannot succeed prints. Every process is real, with its own DATA_DIR and port.
 */
import { execFileSync, spawn } from 'node:child_process';
import { once } from 'node:events';
import { access, chmod, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer, type Server, Socket } from 'node:net';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { findFreePort } from '@ncp-hub/server';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { createTestRegistry } from '../helpers/agencies.js';
import { makeTempDir } from '../helpers/hub.js';
import {
  embeddedRedisPid,
  exitWithin,
  HUB_MAIN,
  isAlive,
  REPO_ROOT,
  type RunningProcess,
  runHubProcess,
  runProcess,
} from '../helpers/processes.js';
import { waitFor } from '../helpers/wait-for.js';

const WORKER_MAIN = join(REPO_ROOT, 'server/dist/worker.js');
const folders: string[] = [];
const running: RunningProcess[] = [];

beforeAll(async () => {
  for (const file of [HUB_MAIN, WORKER_MAIN]) {
    await access(file).catch(() => {
      throw new Error(`${file} is missing: run "npm run build" (npm test does) before this suite`);
    });
  }
});
afterAll(async () => {
  for (const child of running) child.kill();
  for (const dir of folders) await rm(dir, { recursive: true, force: true });
});

async function tempDir(): Promise<string> {
  const dir = await makeTempDir();
  folders.push(dir);
  return dir;
}

function track(child: RunningProcess): RunningProcess {
  running.push(child);
  return child;
}

async function healthy(port: number, timeoutMs = 30_000): Promise<void> {
  await waitFor(async () => (await fetch(`http://127.0.0.1:${port}/healthz`)).ok, timeoutMs, 100);
}

/** The pids of a process's children (pgrep -P: Linux and macOS). */
function childrenOf(pid: number): number[] {
  try {
    return execFileSync('pgrep', ['-P', String(pid)], { encoding: 'utf8' })
      .split('\n')
      .filter(Boolean)
      .map(Number);
  } catch {
    return [];
  }
}

/** Every process under `pid`, with its command line. */
function descendantsOf(pid: number): Array<{ pid: number; command: string }> {
  return childrenOf(pid).flatMap((child) => [
    { pid: child, command: execFileSync('ps', ['-o', 'args=', '-p', String(child)], { encoding: 'utf8' }).trim() },
    ...descendantsOf(child),
  ]);
}

/** A running hub's pid and its embedded Redis's, once it answers /healthz. */
async function startedHub(hub: RunningProcess, port: number, timeoutMs?: number): Promise<{ redisPid: number }> {
  await healthy(port, timeoutMs);
  const redisPid = await waitFor(() => embeddedRedisPid(hub.stdout()) ?? 0, 5000);
  expect(isAlive(redisPid)).toBe(true);
  return { redisPid };
}

describe('npm start under a supervisor', () => {
  // npm (11) forwards SIGTERM and SIGINT to the script's shell; the script ends with `exec node`, so
  // that shell is the hub itself, and npm exits with the hub's code once it has stopped.
  it('SIGTERM to the npm process stops the hub and its Redis; npm exits 0', async () => {
    const dataDir = await tempDir();
    const port = await findFreePort();
    const npm = track(
      runProcess('npm', ['start'], {
        cwd: REPO_ROOT,
        env: { DATA_DIR: dataDir, PORT: String(port), LOG_LEVEL: 'info' },
      }),
    );
    const { redisPid } = await startedHub(npm, port, 90_000);
    // npm, then the hub, its Redis's watchdog (sh) and redis-server.
    const started = descendantsOf(npm.child.pid as number);
    expect(started.map(({ pid }) => pid)).toContain(redisPid);

    npm.child.kill('SIGTERM');
    const exit = await exitWithin(npm, 15_000);
    expect(exit).toEqual({ code: 0, signal: null });
    expect(npm.output()).toContain('hub stopped');
    await waitFor(() => started.every(({ pid }) => !isAlive(pid)), 5000).catch(() => {
      throw new Error(`left running: ${JSON.stringify(started.filter(({ pid }) => isAlive(pid)))}`);
    });
    // No shell between npm and the hub: the script's shell became the hub (exec).
    expect(started[0]?.command).toMatch(/^node server\/dist\/main\.js/);
  }, 120_000);

  it('a Ctrl-C (SIGINT to the whole process group, so twice to the hub) stops it cleanly too', async () => {
    const dataDir = await tempDir();
    const port = await findFreePort();
    const npm = track(
      runProcess('npm', ['start'], {
        cwd: REPO_ROOT,
        env: { DATA_DIR: dataDir, PORT: String(port), LOG_LEVEL: 'info' },
        detached: true, // its own process group, as a terminal's foreground job
      }),
    );
    await startedHub(npm, port, 90_000);
    const started = descendantsOf(npm.child.pid as number);
    process.kill(-(npm.child.pid as number), 'SIGINT');
    const exit = await exitWithin(npm, 15_000);
    expect(exit).toEqual({ code: 0, signal: null });
    expect(npm.output()).toContain('hub stopped');
    expect(npm.output()).not.toContain('again while stopping');
    await waitFor(() => started.every(({ pid }) => !isAlive(pid)), 5000);
  }, 120_000);
});

describe('the embedded Redis never outlives its hub', () => {
  it('stops (SIGTERM, AOF written) when the hub is SIGKILLed; the next start on the same folder works', async () => {
    const cwd = await tempDir();
    const port = await findFreePort();
    const first = track(runHubProcess({ PORT: String(port), LOG_LEVEL: 'info' }, cwd));
    const { redisPid } = await startedHub(first, port);

    first.child.kill('SIGKILL');
    await first.exited;
    await waitFor(() => !isAlive(redisPid), 5000);
    const log = await readFile(join(cwd, '.data', 'redis', 'redis.log'), 'utf8');
    expect(log).toMatch(/Received SIGTERM/);
    expect(log).toMatch(/Redis is now ready to exit/);

    const second = track(runHubProcess({ PORT: String(port), LOG_LEVEL: 'info' }, cwd));
    const { redisPid: secondRedisPid } = await startedHub(second, port);
    second.child.kill('SIGTERM');
    expect(await exitWithin(second, 15_000)).toEqual({ code: 0, signal: null });
    expect(isAlive(secondRedisPid)).toBe(false);
  }, 60_000);
});

describe('a stop with clients that do not let go', () => {
  it('ends within the grace period: the connections left are destroyed, Redis stopped, exit 0', async () => {
    const cwd = await tempDir();
    const port = await findFreePort();
    const hub = track(runHubProcess({ PORT: String(port), LOG_LEVEL: 'info' }, cwd));
    const { redisPid } = await startedHub(hub, port);

    const connect = async () => {
      const socket = new Socket({ allowHalfOpen: true });
      socket.connect(port, '127.0.0.1');
      await once(socket, 'connect');
      socket.on('error', () => {});
      return socket;
    };
    // A request whose headers never end.
    const stalledRequest = await connect();
    stalledRequest.write('GET /healthz HTTP/1.1\r\nHost: hub\r\n');
    // A WebSocket that stops reading: it never answers the close frame of the stop.
    const silentWebSocket = await connect();
    silentWebSocket.write(
      'GET /socket.io/?EIO=4&transport=websocket HTTP/1.1\r\nHost: hub\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n' +
        'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n',
    );
    await once(silentWebSocket, 'data'); // 101 Switching Protocols
    silentWebSocket.pause();
    // One that has sent its request and half-closed its side, and reads nothing more.
    const halfClosed = await connect();
    halfClosed.write(
      'GET /socket.io/?EIO=4&transport=websocket HTTP/1.1\r\nHost: hub\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n' +
        'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n',
    );
    await once(halfClosed, 'data');
    halfClosed.pause();
    halfClosed.end();
    await sleep(200);

    const started = Date.now();
    hub.child.kill('SIGTERM');
    const exit = await exitWithin(hub, 12_000);
    const seconds = (Date.now() - started) / 1000;
    expect(exit).toEqual({ code: 0, signal: null });
    // The grace period (5 s) and little more: the parts of the hub close at once once the clients are gone.
    expect(seconds).toBeGreaterThanOrEqual(4.5);
    expect(seconds).toBeLessThan(8);
    const forced = /"connections":(\d+)[^\n]*shutdown grace period over: destroying the connections left/.exec(
      hub.output(),
    );
    expect(Number(forced?.[1])).toBeGreaterThanOrEqual(2); // the stalled request and the silent WebSocket at least
    expect(hub.output()).toContain('hub stopped');
    expect(hub.output()).not.toContain('shutdown took too long'); // Redis and the rest closed in order
    for (const socket of [stalledRequest, silentWebSocket, halfClosed]) socket.destroy();
    expect(isAlive(redisPid)).toBe(false);
    console.info(`stop with stalled clients: ${seconds.toFixed(2)} s`);
  }, 60_000);
});

/** The hub's one line on stderr, after it exited 1. */
async function failedStart(hub: RunningProcess): Promise<string> {
  const exit = await exitWithin(hub, 30_000);
  expect(exit).toEqual({ code: 1, signal: null });
  const lines = hub.stderr().trimEnd().split('\n');
  expect(lines).toHaveLength(1);
  expect(hub.output()).not.toMatch(/\n\s+at /); // no stack
  const [line = ''] = lines;
  expect(line).toMatch(/^ncp-hub: cannot start: /);
  return line;
}

describe('a start that cannot succeed says what to do in one line, exits 1, and leaves nothing running', () => {
  let listener: Server;
  let busyPort: number;
  beforeAll(async () => {
    listener = createServer();
    listener.listen(0, '127.0.0.1');
    await once(listener, 'listening');
    busyPort = (listener.address() as { port: number }).port;
  });
  afterAll(() => {
    listener.close();
  });

  it('a port in use', async () => {
    const cwd = await tempDir();
    const hub = track(runHubProcess({ PORT: String(busyPort), LOG_LEVEL: 'info' }, cwd));
    const line = await failedStart(hub);
    expect(line).toBe(
      `ncp-hub: cannot start: 127.0.0.1:${busyPort} is already in use (another hub or another program listens there): stop it, or set PORT to a free port (PORT=0 picks one)`,
    );
    // The embedded Redis it had started is stopped.
    const redisPid = embeddedRedisPid(hub.stdout());
    expect(redisPid).toBeGreaterThan(0);
    await waitFor(() => !isAlive(redisPid as number), 5000);
  });

  it('REDIS_SERVER_BIN pointing nowhere, or at a folder', async () => {
    const cwd = await tempDir();
    const missing = join(cwd, 'no-such-redis-server');
    expect(await failedStart(track(runHubProcess({ PORT: '0', REDIS_SERVER_BIN: missing }, cwd)))).toBe(
      `ncp-hub: cannot start: REDIS_SERVER_BIN=${missing} does not exist: point it at a redis-server binary (Redis 6.2+), or unset it to use redis-server on PATH, or set REDIS_URL`,
    );
    expect(await failedStart(track(runHubProcess({ PORT: '0', REDIS_SERVER_BIN: cwd }, cwd)))).toContain(
      `REDIS_SERVER_BIN=${cwd} is not a file`,
    );
  });

  it.each([
    ['a program that exits at once', '#!/bin/sh\nexit 0\n'],
    ['a program that reads its input and prints it back', '#!/bin/sh\nexec cat\n'],
    ['an old Redis', '#!/bin/sh\necho "Redis server v=5.0.7 sha=00000000:0 malloc=jemalloc-5.2.1 bits=64"\n'],
  ])('REDIS_SERVER_BIN pointing at %s', async (_, script) => {
    const cwd = await tempDir();
    const bin = join(cwd, 'fake-redis-server');
    await writeFile(bin, script);
    await chmod(bin, 0o755);
    const line = await failedStart(track(runHubProcess({ PORT: '0', REDIS_SERVER_BIN: bin }, cwd)));
    expect(line).toMatch(
      script.includes('5.0.7')
        ? `REDIS_SERVER_BIN=${bin} is Redis 5.0, the hub needs 6.2 or newer: point REDIS_SERVER_BIN at a redis-server binary (Redis 6.2+), or set REDIS_URL`
        : `REDIS_SERVER_BIN=${bin} is not redis-server (its --version names no Redis version): point REDIS_SERVER_BIN at a redis-server binary (Redis 6.2+), or set REDIS_URL`,
    );
  });

  describe('a Redis that requires a password (redis-server --requirepass)', () => {
    let redisPid: number;
    let redisPort: number;
    beforeAll(async () => {
      const dir = await tempDir();
      redisPort = await findFreePort();
      const redis = spawn(
        'redis-server',
        [
          '--port',
          String(redisPort),
          '--bind',
          '127.0.0.1',
          '--requirepass',
          'the-right-one',
          '--save',
          '',
          '--appendonly',
          'no',
          '--dir',
          dir,
        ],
        { stdio: 'ignore' },
      );
      redisPid = redis.pid as number;
      await waitFor(
        () =>
          new Promise<boolean>((resolve) => {
            const probe = new Socket();
            probe.once('error', () => resolve(false));
            probe.connect(redisPort, '127.0.0.1', () => {
              probe.destroy();
              resolve(true);
            });
          }),
        10_000,
      );
    });
    afterAll(async () => {
      process.kill(redisPid, 'SIGTERM');
      await waitFor(() => !isAlive(redisPid), 5000);
    });

    it.each([
      [
        'a wrong password',
        'redis://:the-wrong-one@127.0.0.1:PORT',
        'Redis at 127.0.0.1:PORT refused the password in REDIS_URL (WRONGPASS): put the right one in REDIS_URL (redis://:PASSWORD@host:port, or redis://USER:PASSWORD@host:port for an ACL user)',
      ],
      [
        'a wrong user',
        'redis://nobody:the-right-one@127.0.0.1:PORT',
        'Redis at 127.0.0.1:PORT refused the password or user in REDIS_URL (WRONGPASS): put the right one in REDIS_URL',
      ],
      [
        'no password',
        'redis://127.0.0.1:PORT',
        'Redis at 127.0.0.1:PORT requires a password and REDIS_URL gives none (NOAUTH): put it in REDIS_URL as redis://:PASSWORD@host:port',
      ],
    ])('%s', async (_, url, message) => {
      const cwd = await tempDir();
      const REDIS_URL = url.replace('PORT', String(redisPort));
      const line = await failedStart(track(runHubProcess({ PORT: '0', REDIS_URL }, cwd)));
      expect(line).toContain(`ncp-hub: cannot start: ${message.replaceAll('PORT', String(redisPort))}`);
      expect(line).not.toContain('the-wrong-one');
      expect(line).not.toContain('the-right-one');
    });
  });
});

describe('the follow-up worker process', () => {
  async function workerEnv(): Promise<Record<string, string>> {
    const dataDir = await tempDir();
    const registryDir = join(dataDir, 'registry');
    await createTestRegistry(registryDir);
    return {
      REDIS_URL: inject('redisUrl'),
      REDIS_PREFIX: `ncp-test-worker-${Date.now()}-${Math.random().toString(36).slice(2)}:`,
      TRUST_REGISTRY: registryDir,
      DATA_DIR: dataDir,
      NODE_ENV: 'test',
      LOG_LEVEL: 'info',
    };
  }

  it.each(['SIGINT', 'SIGTERM'] as const)(
    'stops cleanly on %s: workers, adapter, registry, Redis closed, exit 0',
    async (signal) => {
      const worker = track(runProcess(process.execPath, [WORKER_MAIN], { env: await workerEnv() }));
      await waitFor(() => worker.output().includes('follow-up worker started'), 20_000);
      worker.child.kill(signal);
      const exit = await exitWithin(worker, 12_000);
      expect(exit).toEqual({ code: 0, signal: null });
      expect(worker.output()).toContain('follow-up worker stopped');
      expect(worker.output()).not.toMatch(/TypeError|cannot read properties/i);
      expect(worker.stderr()).toBe('');
    },
    40_000,
  );

  it('npm run worker: SIGTERM to the npm process stops the worker; npm exits 0', async () => {
    const worker = track(runProcess('npm', ['run', 'worker'], { cwd: REPO_ROOT, env: await workerEnv() }));
    await waitFor(() => worker.output().includes('follow-up worker started'), 90_000, 100);
    const started = descendantsOf(worker.child.pid as number);
    expect(started.length).toBeGreaterThan(0);
    worker.child.kill('SIGTERM');
    expect(await exitWithin(worker, 12_000)).toEqual({ code: 0, signal: null });
    expect(worker.output()).toContain('follow-up worker stopped');
    await waitFor(() => started.every(({ pid }) => !isAlive(pid)), 5000);
  }, 120_000);
});
