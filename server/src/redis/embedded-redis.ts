import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { constants } from 'node:fs';
import { access, mkdir, readFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { delimiter, join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { Redis } from 'ioredis';
import { StartupError } from '../startup-error.js';

/** No `redis-server` binary could be found; the message names the three ways out. */
export class RedisServerNotFoundError extends StartupError {
  constructor() {
    super(
      [
        'no redis-server binary was found on PATH, and REDIS_URL is not set. Either:',
        '  1. install Redis 6.2 or newer (Debian/Ubuntu: apt-get install redis-server; macOS: brew install redis),',
        '     or point REDIS_SERVER_BIN at a redis-server binary;',
        '  2. set REDIS_URL to a Redis 6.2+ server with maxmemory-policy noeviction; or',
        '  3. run one with Docker: docker run -d -p 127.0.0.1:6379:6379 redis:7 --maxmemory-policy noeviction',
        '     and set REDIS_URL=redis://127.0.0.1:6379',
      ].join('\n'),
    );
    this.name = 'RedisServerNotFoundError';
  }
}

/** Options of {@link startRedisServer}. */
export interface RedisServerOptions {
  /** Folder for the AOF, the pid file and the log; created if missing. */
  dir: string;
  /**
   * Port on 127.0.0.1.
   * @defaultValue a free port
   */
  port?: number;
  /**
   * Path of the binary.
   * @defaultValue `redis-server` on PATH
   */
  bin?: string;
  /**
   * Persist with an append-only file (`appendfsync everysec`).
   * @defaultValue true
   */
  appendOnly?: boolean;
  /**
   * Require a random password, so that other local users cannot reach the data.
   * @defaultValue true
   */
  password?: boolean;
}

/** A `redis-server` child process bound to 127.0.0.1. */
export interface RedisServer {
  /** `redis://` URL, with the password if any. A secret: never log it. */
  readonly url: string;
  readonly port: number;
  readonly pid: number;
  /** Stops the server (SIGTERM, so the AOF is flushed) and waits for it to exit. */
  stop(): Promise<void>;
}

/** Finds `redis-server`: `bin` if given, else the first executable on PATH. */
export async function findRedisServerBinary(bin?: string): Promise<string> {
  const candidates = bin
    ? [bin]
    : (process.env.PATH ?? '')
        .split(delimiter)
        .filter(Boolean)
        .map((dir) => join(dir, 'redis-server'));
  for (const candidate of candidates) {
    try {
      await access(candidate, constants.X_OK);
      return candidate;
    } catch {}
  }
  throw new RedisServerNotFoundError();
}

/** A TCP port on 127.0.0.1 that was free a moment ago. */
export async function findFreePort(): Promise<number> {
  const server = createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as { port: number };
  server.close();
  await once(server, 'close');
  return port;
}

/** Stops a redis-server left behind by a hub that was killed, found through its pid file. */
async function stopStaleServer(pidFile: string): Promise<void> {
  const pid = Number.parseInt(await readFile(pidFile, 'utf8').catch(() => ''), 10);
  if (!Number.isInteger(pid) || pid <= 0) return;
  const commandLine = await readFile(`/proc/${pid}/cmdline`, 'utf8').catch(() => '');
  if (!commandLine.includes('redis-server')) return;
  process.kill(pid, 'SIGTERM');
  for (let i = 0; i < 100 && isAlive(pid); i++) await sleep(50);
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/**
 * Starts a private `redis-server` on 127.0.0.1, configured through its standard input so that
 * the password never shows in the process list: AOF on with `appendfsync everysec`, no RDB
 * snapshots, `maxmemory-policy noeviction`, `hz 100`. Resolves once it answers PING.
 */
export async function startRedisServer(options: RedisServerOptions): Promise<RedisServer> {
  const bin = await findRedisServerBinary(options.bin);
  await mkdir(options.dir, { recursive: true, mode: 0o700 });
  const pidFile = join(options.dir, 'redis.pid');
  const logFile = join(options.dir, 'redis.log');
  await stopStaleServer(pidFile);
  const port = options.port ?? (await findFreePort());
  const password = options.password === false ? undefined : randomBytes(24).toString('hex');
  const directives = [
    'bind 127.0.0.1',
    `port ${port}`,
    'protected-mode yes',
    `dir "${options.dir}"`,
    `pidfile "${pidFile}"`,
    `logfile "${logFile}"`,
    'daemonize no',
    'save ""',
    `appendonly ${options.appendOnly === false ? 'no' : 'yes'}`,
    'appendfsync everysec',
    'maxmemory-policy noeviction',
    'hz 100',
    ...(password ? [`requirepass ${password}`] : []),
  ];
  const child = spawn(bin, ['-'], { stdio: ['pipe', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => {
    stderr = (stderr + chunk.toString()).slice(-2000);
  });
  child.stdin?.end(`${directives.join('\n')}\n`);
  const exited = once(child, 'exit');

  const url = `redis://${password ? `:${password}@` : ''}127.0.0.1:${port}`;
  await waitForPing(child, port, password, async () => {
    const log = await readFile(logFile, 'utf8').catch(() => '');
    return `${stderr}\n${log.split('\n').slice(-5).join('\n')}`.trim();
  });

  return {
    url,
    port,
    pid: child.pid as number,
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
      await exited;
      clearTimeout(timer);
    },
  };
}

async function waitForPing(
  child: ChildProcess,
  port: number,
  password: string | undefined,
  describeFailure: () => Promise<string>,
): Promise<void> {
  const deadline = Date.now() + 15_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null || child.signalCode !== null) {
      throw new Error(`redis-server exited during start-up: ${await describeFailure()}`);
    }
    const probe = new Redis({
      host: '127.0.0.1',
      port,
      password,
      lazyConnect: true,
      maxRetriesPerRequest: 0,
      retryStrategy: () => null,
    });
    probe.on('error', () => {});
    try {
      await probe.connect();
      if ((await probe.ping()) === 'PONG') return;
    } catch {
    } finally {
      probe.disconnect();
    }
    await sleep(50);
  }
  child.kill('SIGKILL');
  throw new Error(`redis-server did not answer within 15 s: ${await describeFailure()}`);
}
