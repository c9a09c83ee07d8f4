/**
 * A client written only from the README: its own Ed25519 key in a registry file it writes by
 * hand, its own tokens signed with jose, a plain socket.io-client. Nothing from this repository
 * is imported for the client itself (only the hub and its test registry are started by the
 * helpers), so the documented formats are what is tested.
 */

import { once } from 'node:events';
import { writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import { join } from 'node:path';
import { findFreePort } from '@ncp-hub/server';
import { exportJWK, generateKeyPair, importJWK, type JWK, SignJWT } from 'jose';
import { io } from 'socket.io-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestHub, type TestHub } from '../helpers/hub.js';

let testHub: TestHub;
let privateJwk: JWK;
let jwksServer: Server;
let remotePrivateJwk: JWK;

async function makeKey(alg: 'EdDSA' | 'ES256', kid: string): Promise<{ privateJwk: JWK; publicJwk: JWK }> {
  const { privateKey, publicKey } = await generateKeyPair(alg, { extractable: true });
  return {
    privateJwk: { ...(await exportJWK(privateKey)), kid, alg },
    publicJwk: { ...(await exportJWK(publicKey)), kid, alg },
  };
}

/** Writes a registry file by hand, in the README's format, and has the hub reload. */
async function registerAgency(
  entry: { id: string; name: string; country: string } & Record<string, unknown>,
): Promise<void> {
  await writeFile(join(testHub.registryDir, `${entry.id}.json`), JSON.stringify({ kind: 'police', ...entry }));
  expect(await testHub.hub.registry.reload()).toBe(true);
}

function sign(key: JWK, iss: string, sub: string, roles: string[], ttl = '10m'): Promise<string> {
  return importJWK(key, key.alg).then((imported) =>
    new SignJWT({ roles })
      .setProtectedHeader({ alg: key.alg as string, kid: key.kid as string })
      .setIssuer(iss)
      .setSubject(sub)
      .setAudience('ncp-hub')
      .setIssuedAt()
      .setExpirationTime(ttl)
      .sign(imported),
  );
}

function connect(url: string, token: string): Promise<{ identity: unknown } | { code: string }> {
  const socket = io(url, { auth: { token }, transports: ['websocket'], reconnection: false, forceNew: true });
  return new Promise((resolve) => {
    socket.on('session:welcome', (welcome: { identity: unknown }) => {
      socket.close();
      resolve({ identity: welcome.identity });
    });
    socket.on('connect_error', (error) => {
      socket.close();
      resolve({ code: (error as { data?: { code: string } }).data?.code ?? 'none' });
    });
  });
}

beforeAll(async () => {
  testHub = await startTestHub();
  const own = await makeKey('EdDSA', 'ro-igpr-2026-1');
  privateJwk = own.privateJwk;
  await registerAgency({ id: 'RO-IGPR', name: 'Romanian Police', country: 'RO', jwks: { keys: [own.publicJwk] } });

  // An agency that publishes its keys at a jwksUri of its own.
  const remote = await makeKey('ES256', 'md-igp-1');
  remotePrivateJwk = remote.privateJwk;
  jwksServer = createServer((req, res) => {
    res.setHeader('content-type', 'application/json');
    res.end(JSON.stringify(req.url === '/jwks.json' ? { keys: [remote.publicJwk] } : {}));
  });
  jwksServer.listen(0, '127.0.0.1');
  await once(jwksServer, 'listening');
  const { port } = jwksServer.address() as { port: number };
  await registerAgency({
    id: 'MD-IGP',
    name: 'General Police Inspectorate of Moldova',
    country: 'MD',
    jwksUri: `http://127.0.0.1:${port}/jwks.json`,
  });
});

afterAll(async () => {
  jwksServer?.close();
  await testHub?.stop();
});

describe('a client written from the README alone', () => {
  it('connects with a token it signed itself', async () => {
    const result = await connect(testHub.url, await sign(privateJwk, 'RO-IGPR', 'i.popescu', ['officer']));
    expect(result).toEqual({
      identity: {
        agency: 'RO-IGPR',
        agencyKind: 'police',
        country: 'RO',
        officer: 'i.popescu',
        roles: ['officer'],
        expiresAt: expect.any(Number),
      },
    });
  });

  it('is refused with a code for a token claiming another agency', async () => {
    expect(await connect(testHub.url, await sign(privateJwk, 'UA-NPU', 'i.popescu', ['officer']))).toEqual({
      code: 'AUTH_KID_UNKNOWN',
    });
  });

  it('is refused for a token living longer than 12 hours', async () => {
    expect(await connect(testHub.url, await sign(privateJwk, 'RO-IGPR', 'i.popescu', ['officer'], '13h'))).toEqual({
      code: 'AUTH_LIFETIME_TOO_LONG',
    });
  });

  it('is accepted through keys published at a jwksUri', async () => {
    const result = await connect(testHub.url, await sign(remotePrivateJwk, 'MD-IGP', 'a.rusu', ['supervisor']));
    expect(result).toMatchObject({ identity: { agency: 'MD-IGP', roles: ['supervisor'] } });
  });

  it('is refused with AUTH_KEYS_UNAVAILABLE when the agency jwksUri cannot be reached', async () => {
    const unreachable = await makeKey('EdDSA', 'md-bp-1');
    const closedPort = await findFreePort();
    await registerAgency({
      id: 'MD-BP',
      name: 'Border Police of Moldova',
      country: 'MD',
      jwksUri: `http://127.0.0.1:${closedPort}/jwks.json`,
    });
    expect(await connect(testHub.url, await sign(unreachable.privateJwk, 'MD-BP', 'v.ceban', ['officer']))).toEqual({
      code: 'AUTH_KEYS_UNAVAILABLE',
    });
  });
});
