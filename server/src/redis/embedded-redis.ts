import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { constants } from 'node:fs';
import { access, mkdir, open, readFile, stat } from 'node:fs/promises';
import { createServer } from 'node:net';
import { delimiter, join } from 'node:path';
import type { Writable } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import { promisify } from 'node:util';
import { Redis } from 'ioredis';
import { StartupError } from '../startup-error.js';
import { MINIMUM_REDIS_VERSION } from './connect-redis.js';

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

/** `REDIS_SERVER_BIN`, or the `redis-server` found on PATH, cannot be run as a Redis 6.2+ server; the message says what to do. */
export class RedisServerBinaryError extends StartupError {
  constructor(message: string) {
    super(message);
    this.name = 'RedisServerBinaryError';
  }
}

/** The embedded redis-server did not come up (its data folder, its AOF): the message gives the last lines it wrote. */
export class RedisServerStartError extends StartupError {
  constructor(message: string) {
    super(message);
    this.name = 'RedisServerStartError';
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
  /**
   * Stops the server (SIGTERM, so the AOF is flushed) and waits for it to exit; SIGKILL after
   * `killAfterMs` (default 10 s). Idempotent.
   */
  stop(options?: { killAfterMs?: number }): Promise<void>;
}

const run = promisify(execFile);

/**
 * Finds `redis-server` (`bin` if given, else the first executable on PATH) and checks that it is
 * one: its `--version` must name Redis 6.2+ (or Valkey). Throws {@link RedisServerNotFoundError}
 * when there is none on PATH, {@link RedisServerBinaryError} (one line, what to do) when `bin` is
 * missing or the binary found is not a usable redis-server.
 */
export async function findRedisServerBinary(bin?: string): Promise<string> {
  const found = bin ? await checkExecutable(bin) : await searchPath();
  if (!found) throw new RedisServerNotFoundError();
  await checkIsRedisServer(found, bin !== undefined);
  return found;
}

async function searchPath(): Promise<string | undefined> {
  for (const dir of (process.env.PATH ?? '').split(delimiter).filter(Boolean)) {
    const candidate = join(dir, 'redis-server');
    if (await isExecutableFile(candidate)) return candidate;
  }
  return undefined;
}

async function isExecutableFile(path: string): Promise<boolean> {
  try {
    await access(path, constants.X_OK);
    return (await stat(path)).isFile();
  } catch {
    return false;
  }
}

async function checkExecutable(bin: string): Promise<string> {
  if (await isExecutableFile(bin)) return bin;
  const exists = await stat(bin).then(
    (info) => (info.isFile() ? 'is not executable' : 'is not a file'),
    () => 'does not exist',
  );
  throw new RedisServerBinaryError(
    `REDIS_SERVER_BIN=${bin} ${exists}: point it at a redis-server binary (Redis 6.2+), or unset it to use redis-server on PATH, or set REDIS_URL`,
  );
}

async function checkIsRedisServer(bin: string, fromVariable: boolean): Promise<void> {
  const named = fromVariable ? `REDIS_SERVER_BIN=${bin}` : `${bin} (found on PATH)`;
  const fix = fromVariable
    ? 'point REDIS_SERVER_BIN at a redis-server binary (Redis 6.2+), or set REDIS_URL'
    : 'install Redis 6.2 or newer, point REDIS_SERVER_BIN at one, or set REDIS_URL';
  const output = await run(bin, ['--version'], { timeout: 5000, maxBuffer: 64 * 1024 }).then(
    ({ stdout }) => stdout,
    () => '',
  );
  const match = /\b(Redis|Valkey) server v=(\d+)\.(\d+)/.exec(output);
  if (!match) {
    throw new RedisServerBinaryError(`${named} is not redis-server (its --version names no Redis version): ${fix}`);
  }
  const [, product, major = '0', minor = '0'] = match;
  const tooOld =
    product === 'Redis' &&
    (Number(major) < MINIMUM_REDIS_VERSION[0] ||
      (Number(major) === MINIMUM_REDIS_VERSION[0] && Number(minor) < MINIMUM_REDIS_VERSION[1]));
  if (tooOld) {
    throw new RedisServerBinaryError(
      `${named} is Redis ${major}.${minor}, the hub needs ${MINIMUM_REDIS_VERSION.join('.')} or newer: ${fix}`,
    );
  }
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
 * The watchdog that ties the embedded Redis to its hub, run by `/bin/sh` with the binary as `$0`:
 * it starts redis-server with the configuration from fd 3 (`-`: read from standard input), prints
 * its pid, and stops it with SIGTERM (so the AOF is flushed) once its own standard input, a pipe
 * from the hub, reaches end of file. The hub ends that pipe to stop Redis; the kernel closes it
 * when the hub dies in any way, SIGKILL included. Only POSIX sh (`trap`, `wait`, `read`, an
 * asynchronous list), so the same on Linux (dash, bash, busybox ash) and macOS (bash, zsh as sh),
 * where no parent-death signal (Linux's PR_SET_PDEATHSIG) can be had from Node, and redis-server
 * has no option of its own to exit with its parent (`--supervised` only reports readiness).
 * An asynchronous list's standard input is /dev/null unless redirected: hence fd 4.
 */
const WATCHDOG_SCRIPT = [
  'exec 4<&0',
  '"$0" - <&3 >/dev/null 3<&- 4<&- &',
  'redis=$!',
  'exec 3<&-',
  'trap \'kill -TERM "$redis" 2>/dev/null\' TERM INT HUP',
  'echo "$redis"',
  '{ while read -r _; do :; done; kill -TERM "$redis" 2>/dev/null; } <&4 &',
  'watchdog=$!',
  'exec 4<&-',
  'wait "$redis"; status=$?',
  // A trapped signal interrupts wait (status > 128) while Redis is still shutting down: wait again.
  'while [ "$status" -gt 128 ] && kill -0 "$redis" 2>/dev/null; do wait "$redis"; status=$?; done',
  'kill "$watchdog" 2>/dev/null',
  'exit "$status"',
].join('\n');

/**
 * Starts a private `redis-server` on 127.0.0.1, configured through a pipe so that the password
 * never shows in the process list: AOF on with `appendfsync everysec`, no RDB snapshots,
 * `maxmemory-policy noeviction`, `hz 100`. It runs under a watchdog (see {@link WATCHDOG_SCRIPT})
 * in a process group of its own, so that it never outlives this process, even one killed with
 * SIGKILL, and a Ctrl-C at the terminal reaches only the hub, which stops it last. Resolves once
 * it answers PING.
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
  const logStart = await stat(logFile).then(
    (info) => info.size,
    () => 0,
  );
  const child = spawn('/bin/sh', ['-c', WATCHDOG_SCRIPT, bin], {
    stdio: ['pipe', 'pipe', 'pipe', 'pipe'],
    detached: true,
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => {
    stderr = (stderr + chunk.toString()).slice(-2000);
  });
  // Errors on the pipes (EPIPE once the process is gone) are the exit's to report.
  child.on('error', () => {});
  child.stdin?.on('error', () => {});
  const config = child.stdio[3] as Writable;
  config.on('error', () => {});
  config.end(`${directives.join('\n')}\n`);
  const redisPid = readPid(child);

  const url = `redis://${password ? `:${password}@` : ''}127.0.0.1:${port}`;
  // The last lines of its output and of what this start added to its log, on one line.
  const describeFailure = async () =>
    `${`${stderr}\n${await readFrom(logFile, logStart)}`
      .split('\n')
      .map((line) => line.trim())
      .filter(Boolean)
      .slice(-3)
      .join(' / ')} (the whole log: ${logFile})`;
  const kill = async () => {
    const pid = await Promise.race([redisPid, sleep(100, undefined)]);
    if (pid !== undefined) signal(pid, 'SIGKILL');
    child.kill('SIGKILL');
  };
  try {
    await waitForPing(child, port, password, describeFailure);
  } catch (error) {
    await kill();
    await exited;
    throw error;
  }
  const pid = await Promise.race([redisPid, sleep(1000, undefined)]);
  if (pid === undefined) {
    await kill();
    throw new Error('redis-server started, but its watchdog did not say its pid');
  }

  return {
    url,
    port,
    pid,
    async stop({ killAfterMs = 10_000 } = {}) {
      if (child.exitCode !== null || child.signalCode !== null) return;
      // The end of the watchdog's input: it sends SIGTERM to Redis, waits for it, then exits.
      child.stdin?.end();
      const timer = setTimeout(() => {
        signal(pid, 'SIGKILL');
        child.kill('SIGKILL');
      }, killAfterMs);
      await exited;
      clearTimeout(timer);
    },
  };
}

/** The pid the watchdog prints on its first line of output. */
function readPid(child: ChildProcess): Promise<number | undefined> {
  return new Promise((resolve) => {
    let text = '';
    child.stdout?.on('data', (chunk: Buffer) => {
      text += chunk.toString();
      const line = /^(\d+)\n/.exec(text);
      if (line) resolve(Number(line[1]));
    });
    child.once('exit', () => resolve(undefined));
  });
}

function signal(pid: number, name: NodeJS.Signals): void {
  try {
    process.kill(pid, name);
  } catch {}
}

/** What a file holds past `offset` (the lines this start added to the log), the last 2000 characters at most. */
async function readFrom(path: string, offset: number): Promise<string> {
  const file = await open(path, 'r').catch(() => undefined);
  if (!file) return '';
  try {
    const { size } = await file.stat();
    const start = Math.max(offset, size - 2000);
    const buffer = Buffer.alloc(Math.max(0, size - start));
    await file.read(buffer, 0, buffer.length, start);
    return buffer.toString();
  } finally {
    await file.close();
  }
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
      throw new RedisServerStartError(`the embedded redis-server exited during start-up: ${await describeFailure()}`);
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
  throw new RedisServerStartError(`the embedded redis-server did not answer within 15 s: ${await describeFailure()}`);
}
