import { hubError } from '@ncp-hub/protocol';
import type { Redis } from 'ioredis';
import type { Config } from '../config.js';

/** The `retryAfter` of a `REPLICATION_TIMEOUT`: about the time a Sentinel failover takes. */
export const REPLICATION_RETRY_AFTER_MS = 2000;

/** What {@link DurableWrites} waits for: the durability settings of the configuration. */
export type DurabilityOptions = Pick<Config, 'durability' | 'durabilityReplicas' | 'durabilityTimeoutMs'>;

/** Each connection's (re)connections so far: a reply that came on another connection is told apart. */
const connectionEpochs = new WeakMap<Redis, { epoch: number }>();

function epochOf(redis: Redis): { epoch: number } {
  let counter = connectionEpochs.get(redis);
  if (!counter) {
    const fresh = { epoch: 0 };
    counter = fresh;
    connectionEpochs.set(redis, fresh);
    redis.on('ready', () => {
      fresh.epoch += 1;
    });
  }
  return counter;
}

/**
 * "Write, then wait": every store path that the hub acknowledges (a message, a receipt, a
 * membership change, a query's opening or step) runs its write through {@link write}. With
 * `DURABILITY=local` it is the write alone. With `replicated`, `WAIT <replicas> <timeout>` follows
 * on the same connection (WAIT counts the replicas that have every write of the connection that
 * sends it), and the write is acknowledged only if enough replicas confirm; else the request is
 * refused `REPLICATION_TIMEOUT` (it may or may not be kept: the client sends it again with the
 * same ids, which the stores dedupe).
 *
 * A WAIT answered after a reconnection (ioredis resends unanswered commands on the new
 * connection, maybe to the promoted replica) confirms nothing of a write answered before it, so
 * it counts as not confirmed.
 */
export class DurableWrites {
  private readonly redis: Redis;
  private readonly options: DurabilityOptions;
  private readonly connection: { epoch: number };

  constructor(redis: Redis, options: DurabilityOptions) {
    this.redis = redis;
    this.options = options;
    this.connection = epochOf(redis);
  }

  /** Whether writes wait for replicas. */
  get replicated(): boolean {
    return this.options.durability === 'replicated';
  }

  /** Runs `write` on the connection, then (with `replicated`) waits for the replicas to have it. */
  async write<T>(write: (redis: Redis) => Promise<T>): Promise<T> {
    const result = await write(this.redis);
    if (this.replicated) await this.confirm();
    return result;
  }

  /** Waits for the replicas to have every write of the connection so far, or throws `REPLICATION_TIMEOUT`. */
  async confirm(): Promise<void> {
    const epoch = this.connection.epoch;
    let confirmed = 0;
    try {
      confirmed = (await this.redis.call(
        'WAIT',
        String(this.options.durabilityReplicas),
        String(this.options.durabilityTimeoutMs),
      )) as number;
    } catch {
      confirmed = 0;
    }
    if (confirmed < this.options.durabilityReplicas || this.connection.epoch !== epoch) {
      throw hubError('REPLICATION_TIMEOUT', 'the replicas did not confirm the write in time: send it again', {
        retryAfter: REPLICATION_RETRY_AFTER_MS,
      });
    }
  }
}
