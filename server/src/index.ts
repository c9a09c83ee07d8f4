export type { Config } from './config.js';
export { ConfigError, loadConfig } from './config.js';
export type { Readiness } from './http/create-http-app.js';
export type { Hub, StartHubOptions } from './hub.js';
export { StartupError, startHub } from './hub.js';
export { createLogger, type Logger } from './logger.js';
export {
  assertRedisRequirements,
  connectRedis,
  RedisRequirementError,
  type RedisTarget,
  redisOptions,
  redisTargetOf,
} from './redis/connect-redis.js';
export type { RedisServer, RedisServerOptions } from './redis/embedded-redis.js';
export {
  findFreePort,
  findRedisServerBinary,
  RedisServerNotFoundError,
  startRedisServer,
} from './redis/embedded-redis.js';
export { type RedisKeys, redisKeys } from './redis/redis-keys.js';
