import { Redis } from 'ioredis';
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

/**
 * Opens the hub's Redis connection; reconnects forever with a capped back-off.
 * `url` holds a secret: it is never logged.
 */
export function connectRedis(url: string, connectionName: string): Redis {
  return new Redis(url, {
    connectionName,
    lazyConnect: true,
    // Commands issued in the same tick go out as one pipeline: the relay's hot path.
    enableAutoPipelining: true,
    maxRetriesPerRequest: 3,
    retryStrategy: (attempt) => Math.min(attempt * 100, 2000),
  });
}

/**
 * Connects `redis` (made by {@link connectRedis}) or throws a {@link RedisRequirementError} of one
 * line that says what to change: a refused password or user, or an unreachable address. `url` is
 * REDIS_URL (its address is named, never its password); undefined for the embedded Redis.
 */
export async function openRedis(redis: Redis, url: string | undefined): Promise<void> {
  let lastError: Error | undefined;
  const remember = (error: Error) => {
    lastError = error;
  };
  redis.on('error', remember);
  try {
    await redis.connect();
  } catch (error) {
    // ioredis rejects with "Connection is closed."; why it closed is in the error it emitted before.
    redis.disconnect();
    throw describeConnectFailure(lastError ?? (error as Error), url);
  } finally {
    redis.off('error', remember);
  }
}

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
export function connectBullRedis(url: string, connectionName: string): Redis {
  return new Redis(url, {
    connectionName,
    maxRetriesPerRequest: null,
    retryStrategy: (attempt) => Math.min(attempt * 100, 2000),
  });
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
