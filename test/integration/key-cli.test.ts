import { execFile } from 'node:child_process';
import { resolve } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startTestHub, type TestHub } from '../helpers/hub.js';
import { closeAllSockets, connectOfficer } from '../helpers/sockets.js';
import { waitFor } from '../helpers/wait-for.js';

/** The CLI as `npx ncp-keys` runs it: the keys package's bin, on the built package. */
const NCP_KEYS = resolve(import.meta.dirname, '../../node_modules/.bin/ncp-keys');
const run = promisify(execFile);

let testHub: TestHub;
beforeAll(async () => {
  testHub = await startTestHub();
});
afterEach(() => closeAllSockets());
afterAll(() => testHub?.stop());

describe('the key CLI round trip', () => {
  it('creates an agency into the running hub registry, issues a token, and the token connects', async () => {
    const keys = resolve(testHub.dataDir, 'cli-keys');
    const created = await run(NCP_KEYS, [
      'create-agency',
      '--id',
      'LT-PD',
      '--name',
      'Lithuanian Police Department',
      '--country',
      'LT',
      '--kind',
      'police',
      '--alg',
      'ES256',
      '--registry',
      testHub.registryDir,
      '--keys',
      keys,
    ]);
    expect(created.stdout).toContain('LT-PD.json');

    const { stdout: token } = await run(NCP_KEYS, [
      'issue-token',
      '--keys',
      keys,
      '--agency',
      'LT-PD',
      '--officer',
      'j.kazlauskas',
      '--roles',
      'officer,supervisor',
      '--ttl',
      '900',
    ]);
    const { welcome } = await waitFor(() => connectOfficer(testHub.url, token.trim()), 10_000, 100);
    expect(welcome.identity).toMatchObject({
      agency: 'LT-PD',
      country: 'LT',
      officer: 'j.kazlauskas',
      roles: ['officer', 'supervisor'],
    });

    const inspected = await run(NCP_KEYS, ['inspect-token', token.trim(), '--registry', testHub.registryDir]);
    expect(JSON.parse(inspected.stdout)).toEqual(welcome.identity);
  });
});
