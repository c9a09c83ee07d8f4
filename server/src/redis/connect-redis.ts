import { Redis } from 'ioredis';
import { StartupError } from '../startup-error.js';

/** The Redis behind the hub cannot be used: too old, evicting keys, or unreachable. */
export class RedisRequirementError extends StartupError {
  constructor(message: string) {
    super(message);
    this.name = 'RedisRequirementError';
  }
}

const MINIMUM_VERSION = [6, 2] as const;

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
  if (major < MINIMUM_VERSION[0] || (major === MINIMUM_VERSION[0] && minor < MINIMUM_VERSION[1])) {
    throw new RedisRequirementError(
      `REDIS_URL: Redis ${MINIMUM_VERSION.join('.')} or newer is required, found ${version}`,
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
