import { randomUUID } from 'node:crypto';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { findFreePort } from '@ncp-hub/server';
import { inject } from 'vitest';
import { createTestRegistry, type TestAgency, type TestAgencyId } from './agencies.js';
import { GENEROUS_BUDGETS, makeTempDir } from './hub.js';
import { exitWithin, type RunningProcess, runHubProcess } from './processes.js';
import { waitFor } from './wait-for.js';

/**
 * A hub as a process of its own (`node server/dist/main.js`), on a fixed port, with a data
 * folder, a test registry and a Redis prefix that outlive the process: so that it can be killed
 * and started again in place, and its clients reconnect to the same address.
 */
export interface HubChild {
  url: string;
  port: number;
  agencies: Record<TestAgencyId, TestAgency>;
  dataDir: string;
  registryDir: string;
  redisPrefix: string;
  /** The process running now. */
  current: RunningProcess;
  /** SIGKILL, and waits for the exit. */
  kill(): Promise<void>;
  /** Starts a new process in place of the one that exited; resolves once it answers /readyz. */
  restart(): Promise<void>;
  /** SIGKILL if running, and deletes the folder (unless a peer's). */
  stop(): Promise<void>;
}

/**
 * Starts a hub process against the suite's Redis (or `env.REDIS_URL`); resolves once it answers
 * /readyz. `peerOf` starts another node of the same hub beside a running one, on a port of its
 * own: same data folder (so the same hub key), agencies, Redis prefix and registry (unless
 * `env.TRUST_REGISTRY` names another folder), as the nodes of one deployment share them; its
 * `stop` leaves the shared folder to the node it joined.
 */
export async function startHubChild(
  env: Record<string, string> = {},
  options: { peerOf?: HubChild } = {},
): Promise<HubChild> {
  const peerOf = options.peerOf;
  const dataDir = peerOf?.dataDir ?? (await makeTempDir());
  const registryDir = peerOf ? (env.TRUST_REGISTRY ?? peerOf.registryDir) : join(dataDir, 'registry');
  const agencies = peerOf?.agencies ?? (await createTestRegistry(registryDir));
  const redisPrefix = peerOf?.redisPrefix ?? `ncp-test-${randomUUID()}:`;
  const port = await findFreePort();
  const url = `http://127.0.0.1:${port}`;
  const fullEnv = {
    NODE_ENV: 'test',
    LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'warn',
    HOST: '127.0.0.1',
    PORT: String(port),
    REDIS_URL: inject('redisUrl'),
    REDIS_PREFIX: redisPrefix,
    TRUST_REGISTRY: registryDir,
    DATA_DIR: dataDir,
    ...GENEROUS_BUDGETS,
    ...env,
  };
  const launch = async () => {
    const running = runHubProcess(fullEnv, dataDir);
    const exitedEarly = running.exited.then((exit) => {
      throw new Error(`hub exited while starting (${JSON.stringify(exit)}):\n${running.output().slice(-3000)}`);
    });
    exitedEarly.catch(() => {});
    try {
      await Promise.race([waitFor(async () => (await fetch(`${url}/readyz`)).ok, 30_000, 100), exitedEarly]);
    } catch (error) {
      running.kill();
      throw error;
    }
    return running;
  };
  const child: HubChild = {
    url,
    port,
    agencies,
    dataDir,
    registryDir,
    redisPrefix,
    current: await launch(),
    async kill() {
      child.current.kill();
      await exitWithin(child.current, 10_000);
    },
    async restart() {
      child.current = await launch();
    },
    async stop() {
      child.current.kill();
      await child.current.exited;
      if (!peerOf) await rm(dataDir, { recursive: true, force: true });
    },
  };
  return child;
}
