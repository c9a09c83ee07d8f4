#!/usr/bin/env node
/**
 * `npm run worker`: a process that runs only the follow-up jobs (NCB notifications,
 * reminders, deadlines, escalations), beside hub nodes started with WORKERS=off or not.
 * It reaches the officers' sockets through the same Redis as the hub nodes.
 */
import { createServer, type Server as HttpServer } from 'node:http';
import { RegistryError } from '@ncp-hub/keys';
import { Server } from 'socket.io';
import { loadConfig } from './config.js';
import { resolveTrustRegistry, StartupError } from './hub.js';
import { TrustRegistryHolder } from './identity/trust-registry-holder.js';
import { createLogger } from './logger.js';
import { HubMetrics } from './metrics.js';
import { clusterAdapter } from './realtime/create-socket-server.js';
import { createQueryNotifier } from './realtime/query-rooms.js';
import type { HubServer } from './realtime/socket-types.js';
import { assertRedisRequirements, connectRedis, openRedis, redisTargetOf } from './redis/connect-redis.js';
import { createServices } from './services.js';
import { settledWithin } from './settled-within.js';
import { exitOnStopSignals } from './stop-signals.js';

/** How long the worker's parts (jobs in progress, Redis) have to close on SIGTERM before it exits anyway. */
const STOP_TIMEOUT_MS = 7000;

/** Starts the worker; resolves to the function that stops it. */
async function startWorker(): Promise<(signal: NodeJS.Signals) => Promise<number>> {
  const config = loadConfig();
  const logger = createLogger(config).child({ role: 'worker' });
  if (!config.redisUrl && config.redisSentinels.length === 0) {
    throw new StartupError('npm run worker needs REDIS_URL (or REDIS_SENTINELS): the Redis of the hub nodes');
  }
  const target = redisTargetOf(config);
  const { dir } = await resolveTrustRegistry(config, logger);
  const registry = await TrustRegistryHolder.open(dir, logger);
  const redis = connectRedis(target, `${config.hubId}:worker`);
  redis.on('error', (error) => logger.warn({ code: (error as NodeJS.ErrnoException).code }, 'redis connection error'));
  await openRedis(redis, config.redisUrl, target.sentinels);
  await assertRedisRequirements(redis);
  // No HTTP server: this Socket.IO server only relays to the hub nodes' sockets through Redis.
  const io: HubServer = new Server({ adapter: clusterAdapter(redis, config) });
  const services = await createServices(
    config,
    target,
    redis,
    registry,
    createQueryNotifier(() => io),
    logger,
  );
  services.startWorker();
  const metricsServer = await serveWorkerMetrics(config, redis, services.followUp);
  logger.info(
    metricsServer ? { metrics: `http://${config.host}:${portOf(metricsServer)}/metrics` } : {},
    'follow-up worker started',
  );

  const close = async () => {
    await new Promise((done) => (metricsServer ? metricsServer.close(done) : done(undefined)));
    await services.close();
    // io.close() would close an Engine.IO server and an HTTP server this one does not have (a
    // TypeError): only its adapter, which reads the hub nodes' stream, is open.
    await io.of('/').adapter.close();
    registry.close();
    await redis.quit().catch(() => redis.disconnect());
  };
  return async (signal) => {
    logger.info({ signal }, 'stopping the follow-up worker');
    if (!(await settledWithin(close(), STOP_TIMEOUT_MS))) {
      logger.warn({ seconds: STOP_TIMEOUT_MS / 1000 }, 'the worker did not close in time: disconnecting Redis');
      registry.close();
      redis.disconnect();
    }
    logger.info('follow-up worker stopped');
    return 0;
  };
}

/**
 * WORKER_METRICS_PORT: a `/metrics` of the worker's own (Prometheus text), with the outcomes of
 * the jobs and webhooks it runs, the queue depths and the Redis round trip; nothing else is served.
 */
async function serveWorkerMetrics(
  config: ReturnType<typeof loadConfig>,
  redis: ReturnType<typeof connectRedis>,
  followUp: Awaited<ReturnType<typeof createServices>>['followUp'],
): Promise<HttpServer | undefined> {
  if (config.workerMetricsPort === undefined) return undefined;
  const metrics = new HubMetrics();
  metrics.observeRedis(redis);
  metrics.observeFollowUpQueue(followUp.queue);
  followUp.observe({
    jobFinished: (job, outcome) => metrics.followUpJobOutcomes.inc({ job, outcome }),
    webhookFinished: (outcome) => metrics.webhookOutcomes.inc({ outcome }),
  });
  const server = createServer((req, res) => {
    if (req.method !== 'GET' || req.url !== '/metrics') {
      res
        .writeHead(404, { 'content-type': 'application/json' })
        .end('{"error":{"code":"NOT_FOUND","message":"no such route"}}');
      return;
    }
    metrics.registry.metrics().then(
      (text) => res.writeHead(200, { 'content-type': metrics.registry.contentType }).end(text),
      () => res.writeHead(500).end(),
    );
  });
  await new Promise<void>((listening, failed) => {
    server.once('error', failed);
    server.listen(config.workerMetricsPort, config.host, () => listening());
  });
  return server;
}

function portOf(server: HttpServer): number {
  const address = server.address();
  return typeof address === 'object' && address ? address.port : 0;
}

async function main(): Promise<void> {
  const starting = startWorker();
  // From the first moment, before anything asynchronous: a signal that came before the handlers
  // would kill the process by its default action. One during the start stops the worker once
  // started (a failed start is reported below).
  exitOnStopSignals(
    async (signal) => {
      const stop = await starting.catch(() => new Promise<never>(() => {}));
      return stop(signal);
    },
    (signal) => process.stderr.write(`ncp-hub worker: ${signal} again while stopping: exiting now\n`),
  );
  await starting;
}

main().catch((error: unknown) => {
  // StartupError and its kinds (configuration, policy file, Redis), and the registry's: the message alone.
  const expected = [StartupError, RegistryError].some((type) => error instanceof type);
  process.stderr.write(
    `ncp-hub worker: cannot start: ${expected ? (error as Error).message : ((error as Error)?.stack ?? String(error))}\n`,
  );
  process.exit(1);
});
