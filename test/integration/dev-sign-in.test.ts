/**
 * The development sign-in (docs/PROTOCOL.md section 8): in development mode the hub lists its
 * development identities and issues each a token and a device attestation from the development
 * keys; the token connects over a real Socket.IO connection and the attestation publishes the
 * device. With a TRUST_REGISTRY both routes answer as an unknown route does.
 */
import { rm } from 'node:fs/promises';
import { generateDeviceKeys } from '@ncp-hub/crypto';
import { deviceAddress, EVENTS, toBase64url } from '@ncp-hub/protocol';
import { type Hub, loadConfig, startHub } from '@ncp-hub/server';
import { decodeJwt } from 'jose';
import { afterAll, afterEach, beforeAll, describe, expect, inject, it } from 'vitest';
import { GENEROUS_BUDGETS, makeTempDir, startTestHub } from '../helpers/hub.js';
import { request } from '../helpers/raw-devices.js';
import { closeAllSockets, connectOfficer, createSocket } from '../helpers/sockets.js';

const HUB_ID = 'hub.dev-sign-in';

let hub: Hub;
let dataDir: string;

beforeAll(async () => {
  dataDir = await makeTempDir();
  hub = await startHub(
    loadConfig({
      PORT: '0',
      LOG_LEVEL: 'silent',
      HUB_ID,
      DATA_DIR: dataDir,
      REDIS_URL: inject('redisUrl'),
      REDIS_PREFIX: `ncp-dev-sign-in-${process.pid}:`,
      ...GENEROUS_BUDGETS,
    }),
  );
});
afterEach(() => closeAllSockets());
afterAll(async () => {
  await hub?.stop();
  await rm(dataDir, { recursive: true, force: true });
});

/** `POST /v1/dev/sign-in` with `body` as JSON. */
async function signIn(url: string, body: unknown): Promise<{ status: number; body: Record<string, unknown> }> {
  const response = await fetch(`${url}/v1/dev/sign-in`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  return { status: response.status, body: (await response.json()) as Record<string, unknown> };
}

describe('the development sign-in, in development mode', () => {
  it('lists the development identities', async () => {
    expect(hub.development).toBeDefined();
    const response = await fetch(`${hub.url}/v1/dev/identities`);
    expect(response.status).toBe(200);
    const { identities } = (await response.json()) as { identities: Array<Record<string, unknown>> };
    expect(identities.map(({ agency, officer, roles }) => ({ agency, officer, roles }))).toEqual([
      { agency: 'UA-NPU', officer: 'ua.officer', roles: ['officer'] },
      { agency: 'PL-KGP', officer: 'pl.officer', roles: ['officer'] },
      { agency: 'NCB-UA', officer: 'ua.ncb.desk', roles: ['ncb'] },
      { agency: 'NCB-PL', officer: 'pl.ncb.desk', roles: ['ncb'] },
      { agency: 'UA-PGO', officer: 'ua.pgo.clerk', roles: ['central-authority'] },
      { agency: 'UA-NPU', officer: 'ua.officer.2', roles: ['officer'] },
      { agency: 'PL-KGP', officer: 'pl.officer.2', roles: ['officer'] },
      { agency: 'UA-NPU', officer: 'ua.supervisor', roles: ['supervisor'] },
      { agency: 'UA-NPU', officer: 'ua.auditor', roles: ['auditor'] },
    ]);
    expect(identities[0]).toEqual({
      agency: 'UA-NPU',
      agencyName: 'National Police of Ukraine',
      country: 'UA',
      officer: 'ua.officer',
      roles: ['officer'],
      label: 'Officer — National Police of Ukraine',
    });
  });

  it('signs in every listed identity with a token the hub accepts over Socket.IO', async () => {
    const { identities } = (await (await fetch(`${hub.url}/v1/dev/identities`)).json()) as {
      identities: Array<{ agency: string; officer: string; roles: string[] }>;
    };
    for (const { agency, officer, roles } of identities) {
      const answer = await signIn(hub.url, { agency, officer });
      expect(answer, officer).toEqual({ status: 200, body: { token: expect.any(String), attestation: null } });
      const claims = decodeJwt(answer.body.token as string);
      expect(claims).toMatchObject({ iss: agency, sub: officer, aud: HUB_ID });
      expect((claims.exp as number) - (claims.iat as number)).toBe(3600);
      const { welcome } = await connectOfficer(hub.url, answer.body.token as string);
      expect(welcome.identity, officer).toMatchObject({ agency, officer, roles });
    }
  });

  it("with a device's public keys, also an attestation that directory:publish accepts", async () => {
    const keys = await generateDeviceKeys();
    const device = 'browser-tab-1';
    const answer = await signIn(hub.url, {
      agency: 'PL-KGP',
      officer: 'pl.officer.2',
      device,
      encryptionKey: toBase64url(keys.encryption.publicKey),
      signingKey: toBase64url(keys.signing.publicKey),
    });
    expect(answer).toEqual({ status: 200, body: { token: expect.any(String), attestation: expect.any(String) } });

    const socket = createSocket(hub.url, { token: answer.body.token, device });
    await new Promise<void>((resolve, reject) => {
      socket.once(EVENTS.sessionWelcome, () => resolve());
      socket.once('connect_error', reject);
      socket.connect();
    });
    const published = await request(socket, EVENTS.directoryPublish, { attestation: answer.body.attestation });
    expect(published).toMatchObject({
      ok: true,
      device: deviceAddress({ agency: 'PL-KGP', officer: 'pl.officer.2', device }),
    });
  });

  it('refuses BAD_REQUEST an identity not in the list, and a body that does not fit', async () => {
    const keys = await generateDeviceKeys();
    const encryptionKey = toBase64url(keys.encryption.publicKey);
    const signingKey = toBase64url(keys.signing.publicKey);
    const bad = [
      { agency: 'UA-NPU', officer: 'someone.else' },
      { agency: 'UA-NPU', officer: 'pl.officer' },
      { agency: 'XX-NONE', officer: 'ua.officer' },
      { agency: 'UA-NPU', officer: 'ua.officer', roles: ['auditor'] },
      { agency: 'UA-NPU', officer: 'ua.officer', device: 'tab' },
      { agency: 'UA-NPU', officer: 'ua.officer', device: 'tab', encryptionKey, signingKey: 'short' },
      { agency: 'UA-NPU' },
      [],
    ];
    for (const body of bad) {
      expect(await signIn(hub.url, body), JSON.stringify(body)).toEqual({
        status: 400,
        body: { error: { code: 'BAD_REQUEST', message: expect.stringMatching(/^sign-in: /) } },
      });
    }
    expect((await signIn(hub.url, { agency: 'UA-NPU', officer: 'someone.else' })).body).toEqual({
      error: {
        code: 'BAD_REQUEST',
        message: 'sign-in: not a development identity (GET /v1/dev/identities lists them)',
      },
    });
    // The same keys with the device: accepted (the refusals above are the body's, not the keys').
    expect(
      (await signIn(hub.url, { agency: 'UA-NPU', officer: 'ua.officer', device: 'tab', encryptionKey, signingKey }))
        .status,
    ).toBe(200);
  });
});

describe('the development sign-in, with a TRUST_REGISTRY', () => {
  it('both routes answer exactly as an unknown route does', async () => {
    const testHub = await startTestHub({ NODE_ENV: 'development' });
    try {
      expect(testHub.hub.development).toBeUndefined();
      const answer = async (method: string, path: string, body?: unknown) => {
        const response = await fetch(`${testHub.url}${path}`, {
          method,
          headers: { 'content-type': 'application/json' },
          ...(body === undefined ? {} : { body: JSON.stringify(body) }),
        });
        return {
          status: response.status,
          body: await response.json(),
          csp: response.headers.get('content-security-policy'),
        };
      };
      const unknownGet = await answer('GET', '/v1/unknown');
      const unknownPost = await answer('POST', '/v1/unknown', { agency: 'UA-NPU', officer: 'ua.officer' });
      expect(unknownGet).toMatchObject({
        status: 404,
        body: { error: { code: 'NOT_FOUND', message: 'no such route' } },
      });
      expect(await answer('GET', '/v1/dev/identities')).toEqual(unknownGet);
      expect(await answer('POST', '/v1/dev/sign-in', { agency: 'UA-NPU', officer: 'ua.officer' })).toEqual(unknownPost);
      expect(unknownPost).toEqual(unknownGet);
    } finally {
      await testHub.stop();
    }
  });
});
