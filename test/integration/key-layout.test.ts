/**
 * A hub started on a Redis an older hub wrote (keys without the Redis Cluster hash tags)
 * renames them to the hash-tagged layout of server/src/redis/redis-keys.ts before it reads
 * them: the officer's directory, expiries, conversation set and device acknowledgements, and
 * BullMQ's keys.
 */
import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterAll, describe, expect, inject, it } from 'vitest';
import { startTestHub, type TestHub } from '../helpers/hub.js';

const redis = new Redis(inject('redisUrl'));
let hub: TestHub | undefined;
afterAll(async () => {
  await hub?.stop();
  redis.disconnect();
});

describe('the key layout of an older hub', () => {
  it('is renamed at start to keys that share a hash tag per officer, and BullMQ under {bull}', async () => {
    const prefix = `ncp-test-${randomUUID()}:`;
    const officer = 'UA-NPU/o.old';
    await redis.hset(`${prefix}dir:${officer}`, 'device-1', '{"old":true}');
    await redis.hset(`${prefix}devexp:${officer}`, 'device-1', '4102444800');
    await redis.sadd(`${prefix}officer:${officer}:convs`, 'conv-1');
    await redis.hset(`${prefix}device:${officer}/device-1:acked`, 'conv-1', '1-0');
    await redis.hset(`${prefix}bull:followup:meta`, 'opts.maxLenEvents', '10000');
    hub = await startTestHub({ REDIS_PREFIX: prefix });
    const keys = (await redis.keys(`${prefix}*`)).filter((key) => !key.includes('audit') && !key.includes('rate'));
    expect(keys).toEqual(
      expect.arrayContaining([
        `${prefix}{o:${officer}}:dir`,
        `${prefix}{o:${officer}}:devexp`,
        `${prefix}{o:${officer}}:convs`,
        `${prefix}{o:${officer}}:device:device-1:acked`,
        `${prefix}{bull}:followup:meta`,
      ]),
    );
    expect(keys.filter((key) => !key.startsWith(`${prefix}{`))).toEqual([]);
    expect(await redis.hget(`${prefix}{o:${officer}}:dir`, 'device-1')).toBe('{"old":true}');
    expect(await redis.smembers(`${prefix}{o:${officer}}:convs`)).toEqual(['conv-1']);
  });
});
