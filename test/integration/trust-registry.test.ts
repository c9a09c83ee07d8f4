import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { createRegistryEntry, RegistryError, writeRegistryEntry } from '@ncp-hub/keys';
import { EVENTS } from '@ncp-hub/protocol';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { addTestAgency, tokenFor } from '../helpers/agencies.js';
import { startTestHub, type TestHub } from '../helpers/hub.js';
import { closeAllSockets, connectOfficer, refusal } from '../helpers/sockets.js';
import { waitFor } from '../helpers/wait-for.js';

let testHub: TestHub;

beforeAll(async () => {
  testHub = await startTestHub();
});
afterEach(() => closeAllSockets());
afterAll(() => testHub?.stop());

describe('trust registry reload', () => {
  it('picks up an agency added to the folder while the hub runs', async () => {
    // Keys made outside the registry, as an agency would before asking to join.
    const newcomer = await addTestAgency(await mkdtemp(join(testHub.dataDir, 'staging-')), {
      id: 'DE-BKA',
      name: 'Bundeskriminalamt',
      country: 'DE',
      kind: 'police',
    });
    const token = await tokenFor(newcomer);
    expect((await refusal(testHub.url, { token })).code).toBe('AUTH_ISSUER_UNKNOWN');

    await writeRegistryEntry(testHub.registryDir, createRegistryEntry(newcomer, [newcomer.key.publicJwk]));
    const { welcome } = await waitFor(() => connectOfficer(testHub.url, token), 10_000, 100);
    expect(welcome.identity).toMatchObject({ agency: 'DE-BKA', country: 'DE', agencyKind: 'police' });
  });

  it('ends the open sessions of an agency removed from the registry', async () => {
    const leaving = await addTestAgency(testHub.registryDir, {
      id: 'LT-FCIS',
      name: 'FCIS',
      country: 'LT',
      kind: 'police',
    });
    expect(await testHub.hub.registry.reload()).toBe(true);
    const { socket } = await connectOfficer(testHub.url, await tokenFor(leaving));
    const staying = await connectOfficer(testHub.url, await tokenFor(testHub.agencies['UA-NPU']));
    const ended = new Promise<{ code: string }>((resolve) => socket.once(EVENTS.sessionExpired, resolve));
    const disconnected = new Promise<string>((resolve) => socket.once('disconnect', resolve));
    await rm(join(testHub.registryDir, 'LT-FCIS.json'));
    expect(await testHub.hub.registry.reload()).toBe(true);
    expect((await ended).code).toBe('AUTH_ISSUER_UNKNOWN');
    expect(await disconnected).toBe('io server disconnect');
    expect(staying.socket.connected).toBe(true);
  });

  it('keeps the registry in force when a changed file is bad', async () => {
    await writeFile(join(testHub.registryDir, 'XX-BROKEN.json'), '{ "id": "XX-BROKEN", ');
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect(await testHub.hub.registry.reload()).toBe(false);
    const { welcome } = await connectOfficer(testHub.url, await tokenFor(testHub.agencies['UA-NPU']));
    expect(welcome.identity.agency).toBe('UA-NPU');
    expect((await fetch(`${testHub.url}/readyz`)).status).toBe(200);
  });
});

describe('a bad registry at start', () => {
  it('stops the start with the file name and the problem', async () => {
    const dir = await mkdtemp(join(testHub.dataDir, 'bad-'));
    await writeFile(
      join(dir, 'UA-NPU.json'),
      JSON.stringify({
        id: 'UA-NPU',
        name: 'x',
        country: 'UA',
        kind: 'police',
        jwks: { keys: [{ kty: 'oct', k: 'c2VjcmV0', alg: 'HS256', kid: 'k1' }] },
      }),
    );
    const started = startTestHub({ TRUST_REGISTRY: dir });
    await expect(started).rejects.toThrow(RegistryError);
    await expect(started).rejects.toThrow(/UA-NPU\.json/);
  });
});
