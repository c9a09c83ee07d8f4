import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { issueOfficerToken, readSigningKey } from '@ncp-hub/keys';
import { loadConfig, StartupError, startHub } from '@ncp-hub/server';
import { afterAll, afterEach, describe, expect, inject, it } from 'vitest';
import { makeTempDir } from '../helpers/hub.js';
import { closeAllSockets, connectOfficer } from '../helpers/sockets.js';

const folders: string[] = [];
afterEach(() => closeAllSockets());
afterAll(async () => {
  for (const dir of folders) await rm(dir, { recursive: true, force: true });
});

describe('development mode (no TRUST_REGISTRY)', () => {
  it('creates the development agencies once, and their tokens connect', async () => {
    const dataDir = await makeTempDir();
    folders.push(dataDir);
    const env = { PORT: '0', LOG_LEVEL: 'silent', DATA_DIR: dataDir, REDIS_URL: inject('redisUrl') };

    const first = await startHub(loadConfig(env));
    const development = first.development;
    expect(development?.created).toBe(true);
    expect(development?.registryDir).toBe(join(dataDir, 'dev', 'registry'));
    expect(first.registry.current.list().map((agency) => agency.id)).toEqual([
      'NCB-PL',
      'NCB-UA',
      'PL-KGP',
      'UA-NPU',
      'UA-PGO',
    ]);
    await first.stop();

    const second = await startHub(loadConfig(env));
    try {
      expect(second.development?.created).toBe(false);
      for (const agency of second.development?.agencies ?? []) {
        const token = await issueOfficerToken({
          agency: agency.id,
          officer: agency.officer,
          roles: agency.roles,
          privateJwk: await readSigningKey(join(dataDir, 'dev', 'keys'), agency.id),
        });
        const { welcome } = await connectOfficer(second.url, token);
        expect(welcome.identity).toMatchObject({ agency: agency.id, agencyKind: agency.kind, roles: agency.roles });
      }
    } finally {
      await second.stop();
    }
  });

  it('is refused when NODE_ENV=production', async () => {
    const dataDir = await makeTempDir();
    folders.push(dataDir);
    const started = startHub(
      loadConfig({
        PORT: '0',
        LOG_LEVEL: 'silent',
        DATA_DIR: dataDir,
        REDIS_URL: inject('redisUrl'),
        NODE_ENV: 'production',
      }),
    );
    await expect(started).rejects.toThrow(StartupError);
    await expect(started).rejects.toThrow(/TRUST_REGISTRY/);
  });
});
