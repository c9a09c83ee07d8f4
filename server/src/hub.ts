import { once } from 'node:events';
import { createServer } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { join } from 'node:path';
import { type DevelopmentRegistry, ensureDevelopmentAgencies } from '@ncp-hub/keys';
import type { Redis } from 'ioredis';
import type { Config } from './config.js';
import { answerClientError } from './http/client-error.js';
import { CONSOLE_NOT_BUILT_MESSAGE, isConsoleBuilt } from './http/console-assets.js';
import { createHttpApp, type Readiness } from './http/create-http-app.js';
import type { SessionGate } from './identity/admit-session.js';
import { Authenticator } from './identity/authenticate.js';
import { withDataDirLock } from './identity/data-dir-lock.js';
import { TrustRegistryHolder } from './identity/trust-registry-holder.js';
import { LoadShedder } from './load/load-shedder.js';
import { createLogger, type Logger } from './logger.js';
import { HubMetrics } from './metrics.js';
import { createSocketServer } from './realtime/create-socket-server.js';
import { createQueryNotifier } from './realtime/query-rooms.js';
import { createHandshakeBudgets, createRateLimits } from './realtime/rate-limiter.js';
import type { HubServer } from './realtime/socket-types.js';
import { assertRedisRequirements, connectRedis, openRedis, redisTargetOf } from './redis/connect-redis.js';
import { type RedisServer, startRedisServer } from './redis/embedded-redis.js';
import { createServices } from './services.js';
import { settledWithin } from './settled-within.js';
import { StartupError } from './startup-error.js';

export { StartupError };

/** A running hub. */
export interface Hub {
  /** The port it listens on (useful with `PORT=0`). */
  readonly port: number;
  /** `http://host:port`. */
  readonly url: string;
  readonly config: Config;
  readonly logger: Logger;
  /** The embedded Redis, when `REDIS_URL` was not set. */
  readonly embeddedRedis: RedisServer | undefined;
  /** The development registry, when `TRUST_REGISTRY` was not set. */
  readonly development: DevelopmentRegistry | undefined;
  readonly registry: TrustRegistryHolder;
  readonly io: HubServer;
  readiness(): Promise<Readiness>;
  /**
   * Stops accepting, disconnects the sockets and waits for the open connections to end, for
   * `shutdownGraceMs` at most, then destroys those left; closes the follow-up workers, the audit
   * log, Redis, then the embedded Redis, and if these are not done {@link CLOSE_PARTS_MS} after
   * the grace period, disconnects Redis and stops the embedded Redis by force. Never rejects.
   * Idempotent.
   */
  stop(): Promise<void>;
}

/** Options of {@link startHub}. */
export interface StartHubOptions {
  /** @defaultValue a pino logger at `config.logLevel` */
  logger?: Logger;
  /**
   * How long open connections (requests in flight, clients that do not close) have to end once
   * {@link Hub.stop} is called, before they are destroyed.
   * @defaultValue {@link SHUTDOWN_GRACE_MS}
   */
  shutdownGraceMs?: number;
}

/** The default grace period of {@link Hub.stop} for open connections. */
export const SHUTDOWN_GRACE_MS = 5000;
/**
 * What {@link Hub.stop} gives its own parts (workers, audit, Redis) after the grace period before
 * it cuts them: so that a stop ends within 8 s by default, under `docker stop`'s 10 s.
 */
export const CLOSE_PARTS_MS = 2000;
/** How long the embedded Redis has to write its AOF and exit, when stopped by force, before SIGKILL. */
const EMBEDDED_REDIS_KILL_MS = 1000;

const READINESS_TIMEOUT_MS = 1000;

async function pingWithin(redis: Redis, ms: number): Promise<boolean> {
  let pong = false;
  const ping = redis.ping().then((reply) => {
    pong = reply === 'PONG';
  });
  return (await settledWithin(ping, ms)) && pong;
}

export async function resolveTrustRegistry(
  config: Config,
  logger: Logger,
): Promise<{ dir: string; development?: DevelopmentRegistry }> {
  if (config.trustRegistry) return { dir: config.trustRegistry };
  if (config.nodeEnv === 'production') {
    throw new StartupError('TRUST_REGISTRY is required when NODE_ENV=production (a folder of agency files)');
  }
  // Under the DATA_DIR lock: nodes started together on a fresh folder make one registry, not one each.
  const development = await withDataDirLock(config.dataDir, () =>
    ensureDevelopmentAgencies(join(config.dataDir, 'dev')),
  );
  logger.warn(
    { registry: development.registryDir, created: development.created },
    'DEVELOPMENT MODE: no TRUST_REGISTRY is set, trusting generated development agencies. Never use this in production.',
  );
  return { dir: development.registryDir, development };
}

/**
 * Starts a hub: Redis (embedded unless `REDIS_URL`), the trust registry, HTTP and Socket.IO.
 *
 * @example
 * ```ts
 * const hub = await startHub(loadConfig());
 * process.once('SIGTERM', () => hub.stop());
 * ```
 */
export async function startHub(config: Config, options: StartHubOptions = {}): Promise<Hub> {
  const logger = options.logger ?? createLogger(config);
  const graceMs = options.shutdownGraceMs ?? SHUTDOWN_GRACE_MS;
  const cleanups: Array<() => Promise<unknown> | unknown> = [];
  // What a stop that took too long does to the parts still open, last first: no waiting on a peer.
  const forceCloses: Array<() => Promise<unknown> | unknown> = [];
  const runSteps = async (steps: Array<() => Promise<unknown> | unknown>) => {
    for (const step of steps.splice(0).reverse()) {
      await Promise.resolve()
        .then(step)
        .catch((error: unknown) => logger.error({ err: error }, 'shutdown step failed'));
    }
  };
  const cleanUp = () => runSteps(cleanups);
  const stopWithin = async (ms: number) => {
    if (!(await settledWithin(cleanUp(), ms))) {
      logger.warn(
        { seconds: ms / 1000 },
        'shutdown took too long: disconnecting Redis and stopping the embedded Redis by force',
      );
      await runSteps(forceCloses);
    }
  };

  try {
    const { dir, development } = await resolveTrustRegistry(config, logger);
    const registry = await TrustRegistryHolder.open(dir, logger);
    cleanups.push(() => registry.close());
    forceCloses.push(() => registry.close());

    let embeddedRedis: RedisServer | undefined;
    // Sentinels name the primary themselves: no embedded Redis then, even without REDIS_URL.
    if (!config.redisUrl && config.redisSentinels.length === 0) {
      embeddedRedis = await startRedisServer({ dir: join(config.dataDir, 'redis'), bin: config.redisServerBin });
      cleanups.push(() => embeddedRedis?.stop());
      forceCloses.push(() => embeddedRedis?.stop({ killAfterMs: EMBEDDED_REDIS_KILL_MS }));
      logger.info({ port: embeddedRedis.port, pid: embeddedRedis.pid }, 'embedded redis started');
    }
    const target = redisTargetOf(config, embeddedRedis ? embeddedRedis.url : config.redisUrl);
    const redis = connectRedis(target, `${config.hubId}:main`);
    redis.on('error', (error) =>
      logger.warn({ code: (error as NodeJS.ErrnoException).code }, 'redis connection error'),
    );
    cleanups.push(() => redis.quit().catch(() => redis.disconnect()));
    forceCloses.push(() => redis.disconnect());
    await openRedis(redis, config.redisUrl, target.sentinels);
    const { version } = await assertRedisRequirements(redis);
    logger.info({ version, embedded: embeddedRedis !== undefined }, 'redis ready');

    const metrics = new HubMetrics();
    const authenticator = new Authenticator(registry, config);
    const readiness = async (): Promise<Readiness> => {
      const checks = {
        redis: redis.status === 'ready' && (await pingWithin(redis, READINESS_TIMEOUT_MS)),
        registry: registry.current.size > 0,
      };
      return { ready: checks.redis && checks.registry, checks };
    };

    let io: HubServer | undefined;
    const services = await createServices(
      config,
      target,
      redis,
      registry,
      createQueryNotifier(() => io),
      logger,
    );
    cleanups.push(() => services.close());
    // Devices an older hub published have no expiry beside their entry: the store scripts need one.
    const filled = await services.directory.fillMissingExpiries();
    if (filled > 0) logger.info({ filled }, 'device expiries filled in from the directory');
    if (config.workers === 'embedded') services.startWorker();
    // The officers' budgets live in Redis, so that every node of the hub draws on the same ones.
    const limits = createRateLimits(redis, config);
    const budgets = createHandshakeBudgets(redis, config);
    const gate: SessionGate = { authenticator, audit: services.audit, metrics, logger, budgets };
    // One bound for the whole node, its sockets and HTTP together: BUSY past it.
    const shedder = new LoadShedder(config, redis, (reason, transport) =>
      metrics.overloadRefusals.inc({ reason, transport }),
    );
    cleanups.push(() => shedder.close());
    metrics.observeLoad(shedder);
    const app = createHttpApp({
      config,
      gate,
      readiness,
      queries: services.queries,
      hubPublicJwk: services.hubKey.publicJwk,
      audit: services.audit,
      limits,
      shedder,
      development,
    });
    if (!isConsoleBuilt(config.consoleDir)) {
      logger.warn({ consoleDir: config.consoleDir }, `${CONSOLE_NOT_BUILT_MESSAGE} (CONSOLE_DIR)`);
    }
    const httpServer = createServer(app);
    // A request Node's parser refuses gets the hub's JSON error body, not a bare 400 (PROTOCOL §8).
    httpServer.on('clientError', answerClientError);
    // Every TCP connection, upgraded ones (WebSocket) included, to destroy those left at the end of the grace period.
    const connections = new Set<Socket>();
    httpServer.on('connection', (socket: Socket) => {
      connections.add(socket);
      socket.once('close', () => connections.delete(socket));
    });
    io = createSocketServer(httpServer, {
      config,
      redis,
      gate,
      services: { ...services, logger },
      limits,
      registry,
      shedder,
    });
    cleanups.push(async () => {
      io.disconnectSockets(true);
      // Stops accepting, closes the Engine.IO clients; resolves once every connection has ended.
      const closed = io.close();
      httpServer.closeIdleConnections();
      if (!(await settledWithin(closed, graceMs))) {
        logger.warn(
          { connections: connections.size, graceSeconds: graceMs / 1000 },
          'shutdown grace period over: destroying the connections left',
        );
        httpServer.closeAllConnections();
        for (const socket of connections) socket.destroy();
        await closed;
      }
    });
    httpServer.listen(config.port, config.host);
    await Promise.race([
      once(httpServer, 'listening'),
      once(httpServer, 'error').then(([error]) => {
        throw error;
      }),
    ]);
    const { port } = httpServer.address() as AddressInfo;
    const url = `http://${config.host.includes(':') ? `[${config.host}]` : config.host}:${port}`;
    logger.info({ url, hubId: config.hubId }, 'hub listening');

    let stopping: Promise<void> | undefined;
    return {
      port,
      url,
      config,
      logger,
      embeddedRedis,
      development,
      registry,
      io,
      readiness,
      stop() {
        stopping ??= stopWithin(graceMs + CLOSE_PARTS_MS).then(() => logger.info('hub stopped'));
        return stopping;
      },
    };
  } catch (error) {
    await cleanUp();
    throw error;
  }
}
