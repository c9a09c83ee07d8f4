import { access, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { findFreePort, loadConfig, RedisRequirementError, startHub, startRedisServer } from '@ncp-hub/server';
import { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import { createTestRegistry } from '../helpers/agencies.js';
import { makeTempDir, startTestHub } from '../helpers/hub.js';
import { isAlive } from '../helpers/processes.js';
import { waitFor } from '../helpers/wait-for.js';

const folders: string[] = [];
afterAll(async () => {
  for (const dir of folders) await rm(dir, { recursive: true, force: true });
});

async function tempDir(): Promise<string> {
  const dir = await makeTempDir();
  folders.push(dir);
  return dir;
}

describe('readiness follows Redis', () => {
  it('/readyz turns 503 when Redis stops and 200 when it is back', async () => {
    const dir = await tempDir();
    const port = await findFreePort();
    let redis = await startRedisServer({ dir, port, password: false, appendOnly: false });
    const testHub = await startTestHub({ REDIS_URL: redis.url });
    try {
      const status = async () => (await fetch(`${testHub.url}/readyz`)).status;
      expect(await status()).toBe(200);

      await redis.stop();
      await waitFor(async () => (await status()) === 503);
      const body = await (await fetch(`${testHub.url}/readyz`)).json();
      expect(body).toMatchObject({ status: 'not-ready', checks: { redis: false, registry: true } });
      expect((await fetch(`${testHub.url}/healthz`)).status).toBe(200);

      redis = await startRedisServer({ dir, port, password: false, appendOnly: false });
      await waitFor(async () => (await status()) === 200, 15_000);
    } finally {
      await testHub.stop();
      await redis.stop();
    }
  });
});

describe('embedded Redis', () => {
  it('starts with the hub, persists with AOF under DATA_DIR, and stops with it', async () => {
    const dataDir = await tempDir();
    const registryDir = join(dataDir, 'registry');
    await createTestRegistry(registryDir);
    const hub = await startHub(
      loadConfig({ PORT: '0', NODE_ENV: 'test', LOG_LEVEL: 'silent', DATA_DIR: dataDir, TRUST_REGISTRY: registryDir }),
    );
    const embedded = hub.embeddedRedis;
    expect(embedded).toBeDefined();
    if (!embedded) return;
    expect(new URL(embedded.url).hostname).toBe('127.0.0.1');

    const client = new Redis(embedded.url);
    try {
      expect(await client.config('GET', 'maxmemory-policy')).toEqual(['maxmemory-policy', 'noeviction']);
      expect(await client.config('GET', 'appendonly')).toEqual(['appendonly', 'yes']);
      expect(await client.config('GET', 'appendfsync')).toEqual(['appendfsync', 'everysec']);
      expect(await client.config('GET', 'bind')).toEqual(['bind', '127.0.0.1']);
    } finally {
      client.disconnect();
    }
    await access(join(dataDir, 'redis', 'appendonlydir'));
    expect((await fetch(`${hub.url}/readyz`)).status).toBe(200);

    const unauthenticated = new Redis({
      port: embedded.port,
      host: '127.0.0.1',
      lazyConnect: true,
      maxRetriesPerRequest: 0,
    });
    unauthenticated.on('error', () => {});
    await unauthenticated.connect().catch(() => {});
    await expect(unauthenticated.get('x')).rejects.toThrow(/NOAUTH/);
    unauthenticated.disconnect();

    await hub.stop();
    expect(isAlive(embedded.pid)).toBe(false);
  });
});

describe('an external Redis that would lose jobs', () => {
  it('is refused unless maxmemory-policy is noeviction', async () => {
    const redis = await startRedisServer({ dir: await tempDir(), password: false, appendOnly: false });
    const admin = new Redis(redis.url);
    try {
      await admin.config('SET', 'maxmemory-policy', 'allkeys-lru');
      const started = startTestHub({ REDIS_URL: redis.url });
      await expect(started).rejects.toThrow(RedisRequirementError);
      await expect(started).rejects.toThrow(/noeviction/);
    } finally {
      admin.disconnect();
      await redis.stop();
    }
  });
});

describe('an external Redis that cannot be reached', () => {
  it('stops the start with the address, not the password', async () => {
    const port = await findFreePort();
    const started = startTestHub({ REDIS_URL: `redis://:s3cret-pass@127.0.0.1:${port}` });
    await expect(started).rejects.toThrow(RedisRequirementError);
    await expect(started).rejects.toThrow(`cannot reach Redis at 127.0.0.1:${port}`);
    await expect(started).rejects.not.toThrow(/s3cret-pass/);
  });
});
