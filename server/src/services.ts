import type { Worker } from 'bullmq';
import type { Redis } from 'ioredis';
import { AuditLog } from './audit/audit-log.js';
import type { Config } from './config.js';
import { ConversationService } from './conversations/conversation-service.js';
import { DirectoryService } from './directory/directory-service.js';
import { FollowUpQueue, startFollowUpWorker } from './followup/followup-queue.js';
import { type HubKey, loadOrCreateHubKey } from './identity/hub-key.js';
import type { TrustRegistryHolder } from './identity/trust-registry-holder.js';
import type { Logger } from './logger.js';
import { MessageService } from './messaging/message-service.js';
import { loadPolicy } from './queries/policy.js';
import { type QueryNotifier, QueryService } from './queries/query-service.js';
import { QueryStore } from './queries/query-store.js';
import { connectBullRedis, type RedisTarget } from './redis/connect-redis.js';
import { DurableWrites } from './redis/durable-write.js';
import { migrateKeyLayout } from './redis/key-layout.js';
import { redisKeys } from './redis/redis-keys.js';

/** The hub's services over one Redis, shared by hub nodes and worker processes. */
export interface HubServices {
  directory: DirectoryService;
  conversations: ConversationService;
  messages: MessageService;
  audit: AuditLog;
  /** The hub's own signing key (webhook notifications). */
  hubKey: HubKey;
  queries: QueryService;
  followUp: FollowUpQueue;
  /** Starts a follow-up worker in this process. */
  startWorker(): Worker;
  close(): Promise<void>;
}

/** Builds the services; `notifier` reaches the sockets (a hub's Socket.IO server, or a headless one: see `createQueryNotifier`). */
export async function createServices(
  config: Config,
  target: RedisTarget,
  redis: Redis,
  registry: TrustRegistryHolder,
  notifier: QueryNotifier,
  logger: Logger,
): Promise<HubServices> {
  const policy = await loadPolicy(config.policyFile);
  const keys = redisKeys(config.redisPrefix);
  // Before anything reads them: the keys an older hub wrote without hash tags.
  const renamed = await migrateKeyLayout(redis, config.redisPrefix, keys);
  if (renamed > 0) logger.info({ renamed }, 'redis keys renamed to the hash-tagged layout');
  const hubKey = await loadOrCreateHubKey(config.dataDir, config.hubKeyFile);
  const audit = new AuditLog(
    redis,
    keys,
    hubKey,
    {
      hubId: config.hubId,
      checkpointEvery: config.auditCheckpointEvery,
      checkpointIntervalMs: config.auditCheckpointSeconds * 1000,
      refusalWindowMs: config.auditRefusalWindowSeconds * 1000,
    },
    logger,
  );
  // One "write, then wait" for every store path the hub acknowledges (DURABILITY).
  const durable = new DurableWrites(redis, config);
  const directory = new DirectoryService(redis, keys, registry);
  const conversations = new ConversationService(redis, keys, directory, registry, durable);
  const messages = new MessageService(redis, keys, config, durable);
  const bull = connectBullRedis(target, `${config.hubId}:followup`);
  bull.on('error', (error) => logger.warn({ code: (error as NodeJS.ErrnoException).code }, 'redis (follow-up) error'));
  const followUp = new FollowUpQueue(bull, keys.bullPrefix);
  const queries = new QueryService(
    new QueryStore(redis, keys, durable),
    keys,
    registry,
    conversations,
    messages,
    policy,
    followUp,
    notifier,
    audit,
  );
  audit.start();
  const workers: Worker[] = [];
  return {
    directory,
    conversations,
    messages,
    hubKey,
    audit,
    queries,
    followUp,
    startWorker() {
      const worker = startFollowUpWorker(bull, keys.bullPrefix, queries, followUp, logger, {
        lockDurationMs: config.followUpLockMs,
        fault: config.followUpFault,
        hubKey,
      });
      workers.push(worker);
      return worker;
    },
    async close() {
      await audit.stop();
      await Promise.all(workers.map((worker) => worker.close()));
      await followUp.close();
      await bull.quit().catch(() => bull.disconnect());
    },
  };
}
