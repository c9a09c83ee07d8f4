/**
 * One bad trust registry file does not freeze the registry (issue 9, item 5). With a running
 * hub watching its folder: a malformed file dropped in is listed by /readyz (still 200) and
 * /metrics, and a key revoked meanwhile in another agency's file takes effect (its sessions
 * end, its tokens are refused); a good file gone bad keeps its last good version; fixing the
 * files clears them from both.
 */
import { rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { createRegistryEntry, generateAgencyKey, writeRegistryEntry } from '@ncp-hub/keys';
import { EVENTS, type HubErrorBody } from '@ncp-hub/protocol';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { type TestAgency, tokenFor } from '../helpers/agencies.js';
import { startTestHub, type TestHub } from '../helpers/hub.js';
import { type ClientSocket, closeAllSockets, connectOfficer, refusal } from '../helpers/sockets.js';
import { waitFor } from '../helpers/wait-for.js';

let testHub: TestHub;

beforeAll(async () => {
  testHub = await startTestHub();
});
afterEach(() => closeAllSockets());
afterAll(() => testHub?.stop());

interface ReadyzBody {
  status: string;
  ready: boolean;
  checks: { redis: boolean; registry: boolean; registryBadFiles?: string[] };
}

async function readyz(): Promise<{ status: number; body: ReadyzBody }> {
  const response = await fetch(`${testHub.url}/readyz`);
  return { status: response.status, body: (await response.json()) as ReadyzBody };
}

/** The registry gauges of /metrics: the count, and the files named. */
async function registryMetrics(): Promise<{ count: number | undefined; files: string[] }> {
  const text = await (await fetch(`${testHub.url}/metrics`)).text();
  const count = /^ncp_hub_registry_bad_files (\d+)$/m.exec(text)?.[1];
  const files = [...text.matchAll(/^ncp_hub_registry_bad_file\{file="([^"]+)"\} 1$/gm)].map((match) => match[1]);
  return { count: count === undefined ? undefined : Number(count), files: files as string[] };
}

/** Resolves with the `session:expired` body and the disconnect reason of a socket. */
function ending(socket: ClientSocket): Promise<{ body: HubErrorBody; reason: string }> {
  const body = new Promise<HubErrorBody>((resolve) => socket.once(EVENTS.sessionExpired, resolve));
  const reason = new Promise<string>((resolve) => socket.once('disconnect', resolve));
  return Promise.all([body, reason]).then(([b, r]) => ({ body: b, reason: r }));
}

describe('a bad registry file, while the hub runs', () => {
  it('does not hold back a revocation in another file; /readyz and /metrics name it until it is fixed', async () => {
    const pl = testHub.agencies['PL-KGP'];
    const ua = testHub.agencies['UA-NPU'];
    // PL-KGP rotates: a second key beside the first, picked up by the watcher.
    const second = await generateAgencyKey('ES256');
    const plSecond: TestAgency = { ...pl, key: second };
    await writeRegistryEntry(testHub.registryDir, createRegistryEntry(pl, [pl.key.publicJwk, second.publicJwk]));
    const secondToken = await tokenFor(plSecond, { officer: 'pl.second' });
    const { socket: onSecond } = await waitFor(() => connectOfficer(testHub.url, secondToken), 10_000, 100);
    const firstToken = await tokenFor(pl, { officer: 'pl.first' });
    const { socket: onFirst } = await connectOfficer(testHub.url, firstToken);
    const { socket: onUa } = await connectOfficer(testHub.url, await tokenFor(ua));
    expect(await registryMetrics()).toEqual({ count: 0, files: [] });

    // A stray, malformed file.
    await writeFile(join(testHub.registryDir, 'EVIL-X.json'), '{"id": "EVIL-X", "name": ');
    await waitFor(async () => (await readyz()).body.checks.registryBadFiles?.includes('EVIL-X.json'));
    expect(await readyz()).toEqual({
      status: 200,
      body: {
        status: 'ready',
        ready: true,
        checks: { redis: true, registry: true, registryBadFiles: ['EVIL-X.json'] },
      },
    });
    expect(await registryMetrics()).toEqual({ count: 1, files: ['EVIL-X.json'] });

    // PL-KGP revokes its first key: the sessions it let in end, its tokens are refused.
    const firstEnded = ending(onFirst);
    await writeRegistryEntry(testHub.registryDir, createRegistryEntry(pl, [second.publicJwk]));
    const { body, reason } = await firstEnded;
    expect(body.code).toBe('AUTH_KID_UNKNOWN');
    expect(reason).toBe('io server disconnect');
    expect((await refusal(testHub.url, { token: firstToken })).code).toBe('AUTH_KID_UNKNOWN');
    expect(onSecond.connected).toBe(true);
    expect(onUa.connected).toBe(true);
    expect((await readyz()).body.checks.registryBadFiles).toEqual(['EVIL-X.json']);

    // A good file gone bad: its last good version stays in force (UA-NPU still admitted), listed too.
    const uaFile = join(testHub.registryDir, 'UA-NPU.json');
    await writeFile(uaFile, '{"id": "UA-NPU", "jwks": ');
    await waitFor(async () => (await readyz()).body.checks.registryBadFiles?.length === 2);
    expect((await readyz()).body.checks.registryBadFiles).toEqual(['EVIL-X.json', 'UA-NPU.json']);
    expect(await registryMetrics()).toEqual({ count: 2, files: ['EVIL-X.json', 'UA-NPU.json'] });
    expect(
      (await connectOfficer(testHub.url, await tokenFor(ua, { officer: 'ua.later' }))).welcome.identity.agency,
    ).toBe('UA-NPU');
    expect(onUa.connected).toBe(true);
    expect((await refusal(testHub.url, { token: await tokenFor(pl, { officer: 'pl.again' }) })).code).toBe(
      'AUTH_KID_UNKNOWN',
    );

    // Fixed: nothing listed any more.
    await writeRegistryEntry(testHub.registryDir, createRegistryEntry(ua, [ua.key.publicJwk]));
    await rm(join(testHub.registryDir, 'EVIL-X.json'));
    await waitFor(async () => (await readyz()).body.checks.registryBadFiles === undefined);
    expect(await readyz()).toEqual({
      status: 200,
      body: { status: 'ready', ready: true, checks: { redis: true, registry: true } },
    });
    expect(await registryMetrics()).toEqual({ count: 0, files: [] });
    expect(onUa.connected).toBe(true);
    expect(onSecond.connected).toBe(true);
  });
});
