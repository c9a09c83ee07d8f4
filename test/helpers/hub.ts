import { randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type Hub, loadConfig, startHub } from '@ncp-hub/server';
import { inject } from 'vitest';
import { createTestRegistry, type TestAgency, type TestAgencyId } from './agencies.js';

/** A hub on a free port with its own data folder and a fresh test registry. */
export interface TestHub {
  hub: Hub;
  url: string;
  agencies: Record<TestAgencyId, TestAgency>;
  registryDir: string;
  dataDir: string;
  /** Prefix of every Redis key this hub writes. */
  redisPrefix: string;
  /** Stops the hub and deletes its folders, unless `keepFiles` (for a successor to take over). */
  stop(options?: { keepFiles?: boolean }): Promise<void>;
}

/** Budgets and bounds no suite reaches by accident: the limit suites set their own (rate-budgets, overload). */
export const GENEROUS_BUDGETS = {
  RATE_LIMIT_PER_SECOND: '1000',
  RATE_LIMIT_BURST: '100000',
  RATE_LIMIT_READS_PER_SECOND: '10000',
  RATE_LIMIT_READS_BURST: '1000000',
  HANDSHAKES_PER_MINUTE: '1000000',
  // A hub in a test runs on the test's own event loop, on a machine that may be loaded: its
  // lag is not the hub's load, so the lag bound is out of the way (the overload suite sets it).
  MAX_EVENT_LOOP_LAG_MS: '60000',
} as const;

/** A fresh temporary folder; the caller removes it. */
export function makeTempDir(prefix = 'ncp-hub-test-'): Promise<string> {
  return mkdtemp(join(tmpdir(), prefix));
}

/**
 * Starts a hub on 127.0.0.1 port 0 against the suite's Redis, under a key prefix of its own,
 * with a new registry of the test agencies. `env` adds or overrides environment variables (set
 * one to `''` to unset it). The officers' budgets (requests, handshakes) are set far above what
 * a suite sends, as its officers share them across the suite's nodes; a suite of the limits
 * sets its own. `successorOf` starts a new hub process in place of a stopped one,
 * `peerOf` another node beside a running one: same data folder (so the same hub key),
 * registry, agencies and Redis prefix, as the nodes of one hub share them.
 */
export async function startTestHub(
  env: Record<string, string> = {},
  options: { successorOf?: TestHub; peerOf?: TestHub } = {},
): Promise<TestHub> {
  const predecessor = options.successorOf ?? options.peerOf;
  const dataDir = predecessor?.dataDir ?? (await makeTempDir());
  const registryDir = predecessor?.registryDir ?? join(dataDir, 'registry');
  const agencies = predecessor?.agencies ?? (await createTestRegistry(registryDir));
  const redisPrefix = predecessor?.redisPrefix ?? `ncp-test-${randomUUID()}:`;
  const config = loadConfig({
    REDIS_PREFIX: redisPrefix,
    PORT: '0',
    HOST: '127.0.0.1',
    NODE_ENV: 'test',
    LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'silent',
    REDIS_URL: inject('redisUrl'),
    TRUST_REGISTRY: registryDir,
    DATA_DIR: dataDir,
    ...GENEROUS_BUDGETS,
    ...env,
  });
  const hub = await startHub(config).catch(async (error: unknown) => {
    if (!predecessor) await rm(dataDir, { recursive: true, force: true });
    throw error;
  });
  return {
    hub,
    url: hub.url,
    agencies,
    registryDir,
    dataDir,
    redisPrefix,
    async stop({ keepFiles = false } = {}) {
      await hub.stop();
      // A peer leaves the shared folder to the node it joined; a successor owns it.
      if (keepFiles || options.peerOf) return;
      await rm(dataDir, { recursive: true, force: true });
    },
  };
}
