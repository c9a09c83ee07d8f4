import type { OfficerAddress } from '@ncp-hub/protocol';
import type { Redis } from 'ioredis';
import type { RedisKeys } from './redis-keys.js';

/**
 * The keys a hub before the Redis Cluster hash tags wrote without one, with the key each is
 * now: `<prefix>dir:<officer>`, `devexp:<officer>`, `officer:<officer>:convs`,
 * `device:<device>:acked` and BullMQ's `bull:*`.
 */
function renamesOf(prefix: string, keys: RedisKeys) {
  const after = (key: string, start: string, end = '') => key.slice(start.length, key.length - end.length);
  return [
    { match: `${prefix}dir:*`, to: (key: string) => keys.directory(after(key, `${prefix}dir:`) as OfficerAddress) },
    {
      match: `${prefix}devexp:*`,
      to: (key: string) => keys.deviceExpiries(after(key, `${prefix}devexp:`) as OfficerAddress),
    },
    {
      match: `${prefix}officer:*:convs`,
      to: (key: string) => keys.officerConversations(after(key, `${prefix}officer:`, ':convs') as OfficerAddress),
    },
    {
      match: `${prefix}device:*:acked`,
      to: (key: string) => keys.deviceAcks(after(key, `${prefix}device:`, ':acked') as `${string}/${string}/${string}`),
    },
    { match: `${prefix}bull:*`, to: (key: string) => `${keys.bullPrefix}:${after(key, `${prefix}bull:`)}` },
  ];
}

/**
 * Renames the keys an older hub wrote without hash tags to the keys of redis-keys.ts, once per
 * start, idempotent; resolves to how many were renamed. Several nodes may run it at once: a key
 * another node renamed first is gone (RENAMENX fails, ignored); a key whose new name already
 * exists is left as it is (RENAMENX). Upgrade every node at once (stop them all first): a node
 * of the older version would keep writing the old keys.
 */
export async function migrateKeyLayout(redis: Redis, prefix: string, keys: RedisKeys): Promise<number> {
  let renamed = 0;
  // REDIS_PREFIX has no character SCAN's patterns treat as special (config.ts).
  for (const { match, to } of renamesOf(prefix, keys)) {
    let cursor = '0';
    do {
      const [next, found] = await redis.scan(cursor, 'MATCH', match, 'COUNT', 1000);
      cursor = next;
      for (const key of found) {
        renamed += await redis.renamenx(key, to(key)).catch(() => 0);
      }
    } while (cursor !== '0');
  }
  return renamed;
}
