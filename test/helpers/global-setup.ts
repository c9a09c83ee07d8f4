import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type RedisServer, startRedisServer } from '@ncp-hub/server';
import type { TestProject } from 'vitest/node';

declare module 'vitest' {
  export interface ProvidedContext {
    /** The Redis every test may use: its own redis-server, or REDIS_URL when that is set. */
    redisUrl: string;
  }
}

/**
 * Starts a private redis-server on a free port for the whole run (never another Redis's
 * data), unless REDIS_URL points the suite at one.
 */
export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  if (process.env.REDIS_URL) {
    project.provide('redisUrl', process.env.REDIS_URL);
    return async () => {};
  }
  const dir = await mkdtemp(join(tmpdir(), 'ncp-hub-test-redis-'));
  const redis: RedisServer = await startRedisServer({ dir, appendOnly: false });
  project.provide('redisUrl', redis.url);
  return async () => {
    await redis.stop();
    await rm(dir, { recursive: true, force: true });
  };
}
