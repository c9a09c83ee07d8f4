import { rm } from 'node:fs/promises';
import { type RedisServer, startRedisServer } from '@ncp-hub/server';
import { Redis } from 'ioredis';
import { afterAll, beforeAll } from 'vitest';
import { makeTempDir, startTestHub, type TestHub } from './hub.js';

/** What {@link useHubOnOwnRedis} gives a suite, once its `beforeAll` has run. */
export interface HubOnOwnRedis {
  /** The suite's own redis-server (AOF on), whose memory the suite may fill. */
  readonly redis: RedisServer;
  /** A connection to it, for the suite's own commands (fillUp, makeRoom). */
  readonly admin: Redis;
  readonly hub: TestHub;
}

/**
 * A hub on a redis-server of the suite's own, started before its tests and stopped after
 * (Redis's folder removed): for the suites that fill that Redis up.
 */
export function useHubOnOwnRedis(): HubOnOwnRedis {
  const state: { dir?: string; redis?: RedisServer; admin?: Redis; hub?: TestHub } = {};
  beforeAll(async () => {
    state.dir = await makeTempDir();
    state.redis = await startRedisServer({ dir: state.dir, password: false, appendOnly: true });
    state.admin = new Redis(state.redis.url);
    state.hub = await startTestHub({ REDIS_URL: state.redis.url });
  });
  afterAll(async () => {
    await state.hub?.stop();
    state.admin?.disconnect();
    await state.redis?.stop();
    if (state.dir) await rm(state.dir, { recursive: true, force: true });
  });
  const started = <T>(value: T | undefined): T => {
    if (value === undefined) throw new Error('useHubOnOwnRedis: used before its beforeAll ran');
    return value;
  };
  return {
    get redis() {
      return started(state.redis);
    },
    get admin() {
      return started(state.admin);
    },
    get hub() {
      return started(state.hub);
    },
  };
}

/** Redis's `used_memory`, in bytes. */
export async function usedMemory(admin: Redis): Promise<number> {
  const info = await admin.info('memory');
  return Number(/^used_memory:(\d+)/m.exec(info)?.[1]);
}

/**
 * Fills a Redis of the suite's own (through `admin`) up to a `maxmemory` a little above what
 * it uses now, until it refuses a write with OOM, then sets `maxmemory` a little below what it
 * uses (right at the limit, a small write could still pass as buffers are freed), with
 * `noeviction`: every write is then refused `OOM command not allowed`. Returns the filler keys,
 * for {@link makeRoom}.
 */
export async function fillUp(admin: Redis): Promise<string[]> {
  await admin.config('SET', 'maxmemory-policy', 'noeviction');
  await admin.config('SET', 'maxmemory', String((await usedMemory(admin)) + 2 * 1024 * 1024));
  const filler: string[] = [];
  const value = 'x'.repeat(64 * 1024);
  for (let i = 0; i < 1000; i += 1) {
    const key = `filler:${i}`;
    try {
      await admin.set(key, value);
      filler.push(key);
    } catch (error) {
      if (!/^OOM command not allowed/.test((error as Error).message)) throw error;
      await admin.config('SET', 'maxmemory', String((await usedMemory(admin)) - 256 * 1024));
      return filler;
    }
  }
  throw new Error('Redis never ran out of memory');
}

/** Deletes the filler keys of {@link fillUp} and lifts `maxmemory`. */
export async function makeRoom(admin: Redis, filler: string[]): Promise<void> {
  if (filler.length > 0) await admin.del(...filler);
  await admin.config('SET', 'maxmemory', '0');
}
