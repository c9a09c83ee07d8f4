#!/usr/bin/env node
/**
 * `npm run worker`: a process that runs only the follow-up jobs (NCB notifications,
 * reminders, deadlines, escalations), beside hub nodes started with WORKERS=off or not.
 * It reaches the officers' sockets through the same Redis as the hub nodes.
 */
import { Server } from 'socket.io';
import { ConfigError, loadConfig } from './config.js';
import { resolveTrustRegistry, StartupError } from './hub.js';
import { TrustRegistryHolder } from './identity/trust-registry-holder.js';
import { createLogger } from './logger.js';
import { PolicyError } from './queries/policy.js';
import { clusterAdapter } from './realtime/create-socket-server.js';
import { createQueryNotifier } from './realtime/query-rooms.js';
import type { HubServer } from './realtime/socket-types.js';
import { assertRedisRequirements, connectRedis, RedisRequirementError } from './redis/connect-redis.js';
import { createServices } from './services.js';

async function main(): Promise<void> {
  const config = loadConfig();
  const logger = createLogger(config).child({ role: 'worker' });
  if (!config.redisUrl) throw new StartupError('npm run worker needs REDIS_URL: the Redis of the hub nodes');
  const { dir } = await resolveTrustRegistry(config, logger);
  const registry = await TrustRegistryHolder.open(dir, logger);
  const redis = connectRedis(config.redisUrl, `${config.hubId}:worker`);
  redis.on('error', (error) => logger.warn({ code: (error as NodeJS.ErrnoException).code }, 'redis connection error'));
  await redis.connect();
  await assertRedisRequirements(redis);
  // No HTTP server: this Socket.IO server only relays to the hub nodes' sockets through Redis.
  const io: HubServer = new Server({ adapter: clusterAdapter(redis, config.redisPrefix) });
  const services = await createServices(
    config,
    config.redisUrl,
    redis,
    registry,
    createQueryNotifier(() => io),
    logger,
  );
  services.startWorker();
  logger.info('follow-up worker started');

  let stopping = false;
  const stop = async () => {
    if (stopping) process.exit(1);
    stopping = true;
    await services.close();
    await io.close();
    registry.close();
    await redis.quit().catch(() => redis.disconnect());
    logger.info('follow-up worker stopped');
    process.exit(0);
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
}

main().catch((error: unknown) => {
  const expected = [ConfigError, StartupError, RedisRequirementError, PolicyError].some(
    (type) => error instanceof type,
  );
  process.stderr.write(
    `ncp-hub worker: cannot start: ${expected ? (error as Error).message : ((error as Error)?.stack ?? String(error))}\n`,
  );
  process.exit(1);
});
