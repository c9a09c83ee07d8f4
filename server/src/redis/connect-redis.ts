import { Redis, type RedisOptions } from 'ioredis';
import type { Config } from '../config.js';
import { StartupError } from '../startup-error.js';

/** The Redis behind the hub cannot be used: too old, evicting keys, or unreachable. */
export class RedisRequirementError extends StartupError {
  constructor(message: string) {
    super(message);
    this.name = 'RedisRequirementError';
  }
}

/** The oldest Redis the hub runs on (BullMQ, the Lua scripts). */
export const MINIMUM_REDIS_VERSION = [6, 2] as const;

/** Where the hub's Redis is: one address, or the primary that a set of Sentinels names. */
export interface RedisTarget {
  /**
   * `redis://` or `rediss://` URL. Holds a secret: never logged. With sentinels, its password,
   * user, TLS and db are those of the data nodes and its host is ignored.
   */
  url: string;
  /** Sentinel addresses; empty or absent: connect to `url` itself. */
  sentinels?: ReadonlyArray<{ host: string; port: number }>;
  /** The master name the Sentinels monitor. @defaultValue `ncp` */
  sentinelName?: string;
  /** Password of the Sentinels (not of the data nodes). Holds a secret. */
  sentinelPassword?: string | undefined;
  /** Talk TLS to the Sentinels. @defaultValue false */
  sentinelTls?: boolean;
}

/** The {@link RedisTarget} a configuration names; `url` overrides REDIS_URL (the embedded Redis). */
export function redisTargetOf(
  config: Pick<
    Config,
    'redisUrl' | 'redisSentinels' | 'redisSentinelName' | 'redisSentinelPassword' | 'redisSentinelTls'
  >,
  url: string | undefined = config.redisUrl,
): RedisTarget {
  return {
    url: url ?? 'redis://127.0.0.1:6379',
    sentinels: config.redisSentinels,
    sentinelName: config.redisSentinelName,
    sentinelPassword: config.redisSentinelPassword,
    sentinelTls: config.redisSentinelTls,
  };
}

const retryStrategy = (attempt: number) => Math.min(attempt * 100, 2000);

/**
 * The options of every connection the hub and its workers open (main, worker, BullMQ; the
 * Socket.IO adapter duplicates the main one), in one place so that all follow the same primary.
 * With Sentinels, ioredis asks them for the primary at each (re)connection and watches
 * `+switch-master` (`failoverDetector`); a `READONLY` reply (a demoted primary still answering)
 * makes the connection reconnect, and so ask again, and resend the command.
 */
export function redisOptions(target: RedisTarget, connectionName: string): RedisOptions {
  const common: RedisOptions = {
    connectionName,
    retryStrategy,
    reconnectOnError: (error) => (/^READONLY/.test(error.message) ? 2 : false),
  };
  if (!target.sentinels || target.sentinels.length === 0) return common;
  const url = new URL(target.url);
  const tls = url.protocol === 'rediss:';
  const db = Number(url.pathname.slice(1) || '0');
  return {
    ...common,
    sentinels: target.sentinels.map(({ host, port }) => ({ host, port })),
    name: target.sentinelName ?? 'ncp',
    ...(url.username ? { username: decodeURIComponent(url.username) } : {}),
    ...(url.password ? { password: decodeURIComponent(url.password) } : {}),
    ...(Number.isInteger(db) && db > 0 ? { db } : {}),
    ...(tls ? { tls: {}, enableTLSForSentinelMode: true } : {}),
    ...(target.sentinelPassword ? { sentinelPassword: target.sentinelPassword } : {}),
    ...(target.sentinelTls ? { sentinelTLS: {} } : {}),
    failoverDetector: true,
    sentinelRetryStrategy: retryStrategy,
  };
}

function createRedis(target: RedisTarget, options: RedisOptions): Redis {
  return target.sentinels && target.sentinels.length > 0 ? new Redis(options) : new Redis(target.url, options);
}

/**
 * Opens the hub's Redis connection; reconnects forever with a capped back-off.
 * `target.url` holds a secret: it is never logged.
 */
export function connectRedis(target: RedisTarget, connectionName: string): Redis {
  return createRedis(target, {
    ...redisOptions(target, connectionName),
    lazyConnect: true,
    // Commands issued in the same tick go out as one pipeline: the relay's hot path.
    enableAutoPipelining: true,
    maxRetriesPerRequest: 3,
  });
}

/**
 * Connects `redis` (made by {@link connectRedis}) or throws a {@link RedisRequirementError} of one
 * line that says what to change: a refused password or user, or an unreachable address. `url` is
 * REDIS_URL (its address is named, never its password); undefined for the embedded Redis.
 * Through Sentinels (`sentinels`), ioredis asks them again and again rather than fail: the
 * start gives up after {@link SENTINEL_OPEN_TIMEOUT_MS}.
 */
export async function openRedis(
  redis: Redis,
  url: string | undefined,
  sentinels?: RedisTarget['sentinels'],
): Promise<void> {
  let lastError: Error | undefined;
  const remember = (error: Error) => {
    lastError = error;
  };
  redis.on('error', remember);
  let timer: NodeJS.Timeout | undefined;
  try {
    const viaSentinels = sentinels !== undefined && sentinels.length > 0;
    await Promise.race([
      redis.connect(),
      ...(viaSentinels
        ? [
            new Promise<never>((_, reject) => {
              timer = setTimeout(() => reject(new Error('no primary found in time')), SENTINEL_OPEN_TIMEOUT_MS);
            }),
          ]
        : []),
    ]).catch((error: unknown) => {
      if (!viaSentinels) throw error;
      redis.disconnect();
      const list = (sentinels ?? []).map(({ host, port }) => `${host}:${port}`).join(', ');
      throw new RedisRequirementError(
        `cannot reach the Redis primary through the Sentinels ${list} (${(lastError as { code?: string } | undefined)?.code ?? lastError?.message ?? (error as Error).message}); check REDIS_SENTINELS, REDIS_SENTINEL_NAME and that the Sentinels run and agree on a primary`,
      );
    });
  } catch (error) {
    if (error instanceof RedisRequirementError) throw error;
    // ioredis rejects with "Connection is closed."; why it closed is in the error it emitted before.
    redis.disconnect();
    throw describeConnectFailure(lastError ?? (error as Error), url);
  } finally {
    clearTimeout(timer);
    redis.off('error', remember);
  }
}

/** How long a start waits for the Sentinels to name a reachable primary. */
export const SENTINEL_OPEN_TIMEOUT_MS = 15_000;

function describeConnectFailure(error: Error & { code?: string }, url: string | undefined): RedisRequirementError {
  const { hostname, port } = new URL(url ?? 'redis://embedded');
  const at = url ? `Redis at ${hostname}:${port || 6379}` : 'the embedded Redis';
  const reply = error.message ?? '';
  if (/WRONGPASS|invalid password|invalid username-password/i.test(reply)) {
    return new RedisRequirementError(
      `${at} refused the password${url && new URL(url).username ? ' or user' : ''} in REDIS_URL (WRONGPASS): ` +
        'put the right one in REDIS_URL (redis://:PASSWORD@host:port, or redis://USER:PASSWORD@host:port for an ACL user)',
    );
  }
  if (/NOAUTH/.test(reply)) {
    return new RedisRequirementError(
      `${at} requires a password and REDIS_URL gives none (NOAUTH): put it in REDIS_URL as redis://:PASSWORD@host:port`,
    );
  }
  if (/NOPERM/.test(reply)) {
    return new RedisRequirementError(
      `${at}: the user in REDIS_URL may not run the commands the hub needs (NOPERM): grant it every command, key and channel (ACL SETUSER <user> ~* &* +@all), or use another user`,
    );
  }
  return new RedisRequirementError(
    url
      ? `cannot reach Redis at ${hostname}:${port || 6379} (${error.code ?? error.message}); check REDIS_URL and that Redis runs there`
      : `cannot reach the embedded Redis (${error.code ?? error.message})`,
  );
}

/**
 * A connection for BullMQ (its queue and its workers): commands wait for Redis to come back
 * instead of failing, as BullMQ requires.
 */
export function connectBullRedis(target: RedisTarget, connectionName: string): Redis {
  return createRedis(target, { ...redisOptions(target, connectionName), maxRetriesPerRequest: null });
}

function infoField(info: string, field: string): string | undefined {
  return info.match(new RegExp(`^${field}:(.*)$`, 'm'))?.[1]?.trim();
}

/**
 * Checks that the server is Redis 6.2+ with `maxmemory-policy noeviction` (BullMQ loses jobs
 * under any eviction policy). Throws {@link RedisRequirementError} saying what to change.
 */
export async function assertRedisRequirements(redis: Redis): Promise<{ version: string }> {
  const server = await redis.info('server');
  const memory = await redis.info('memory');
  const version = infoField(server, 'redis_version') ?? '0';
  const [major = 0, minor = 0] = version.split('.').map(Number);
  if (major < MINIMUM_REDIS_VERSION[0] || (major === MINIMUM_REDIS_VERSION[0] && minor < MINIMUM_REDIS_VERSION[1])) {
    throw new RedisRequirementError(
      `REDIS_URL: Redis ${MINIMUM_REDIS_VERSION.join('.')} or newer is required, found ${version}`,
    );
  }
  const policy = infoField(memory, 'maxmemory_policy');
  if (policy !== 'noeviction') {
    throw new RedisRequirementError(
      `REDIS_URL: the server's maxmemory-policy is ${policy ?? 'unknown'}, it must be noeviction, or queued ` +
        'follow-up jobs can be evicted and lost. Set it in redis.conf or with: CONFIG SET maxmemory-policy noeviction',
    );
  }
  return { version };
}
