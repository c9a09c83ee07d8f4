import { randomBytes } from 'node:crypto';
import { EVENTS, type HubErrorCode } from '@ncp-hub/protocol';
import { CompactEncrypt, exportJWK, generateKeyPair, SignJWT } from 'jose';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { encodeSegment, signRaw, type TestAgency, type TestAgencyId, tokenFor } from '../helpers/agencies.js';
import { startTestHub, type TestHub } from '../helpers/hub.js';
import { closeAllSockets, connectOfficer, refusal } from '../helpers/sockets.js';

let testHub: TestHub;
let agencies: Record<TestAgencyId, TestAgency>;

beforeAll(async () => {
  testHub = await startTestHub();
  agencies = testHub.agencies;
});
afterEach(() => closeAllSockets());
afterAll(() => testHub?.stop());

const hour = 3600;
const now = () => Math.floor(Date.now() / 1000);

/** Each bad token the hub must refuse, with the code it must give. */
const refusals: Array<{
  name: string;
  code: HubErrorCode;
  token: () => Promise<string | undefined> | string | undefined;
}> = [
  { name: 'no token', code: 'AUTH_TOKEN_MISSING', token: () => undefined },
  { name: 'a token that is not a JWS', code: 'AUTH_TOKEN_MALFORMED', token: () => 'not-a-token' },
  {
    name: 'a token whose segments are not JSON',
    code: 'AUTH_TOKEN_MALFORMED',
    token: () => `${Buffer.from('nope').toString('base64url')}.e30.c2ln`,
  },
  {
    name: 'alg none',
    code: 'AUTH_ALG_NOT_ALLOWED',
    token: () =>
      `${encodeSegment({ alg: 'none', kid: agencies['UA-NPU'].key.kid })}.${encodeSegment({
        iss: 'UA-NPU',
        sub: 'mallory',
        aud: 'ncp-hub',
        iat: now(),
        exp: now() + 600,
        roles: ['officer'],
      })}.`,
  },
  {
    name: 'HS256 keyed with the agency public key (algorithm confusion)',
    code: 'AUTH_ALG_NOT_ALLOWED',
    token: () =>
      new SignJWT({ roles: ['officer'] })
        .setProtectedHeader({ alg: 'HS256', kid: agencies['UA-NPU'].key.kid })
        .setIssuer('UA-NPU')
        .setSubject('mallory')
        .setAudience('ncp-hub')
        .setIssuedAt()
        .setExpirationTime('10m')
        .sign(Buffer.from(JSON.stringify(agencies['UA-NPU'].key.publicJwk))),
  },
  {
    name: 'RS256, an algorithm outside the allowlist',
    code: 'AUTH_ALG_NOT_ALLOWED',
    token: async () => {
      const { privateKey } = await generateKeyPair('RS256');
      return new SignJWT({ roles: ['officer'] })
        .setProtectedHeader({ alg: 'RS256', kid: agencies['UA-NPU'].key.kid })
        .setIssuer('UA-NPU')
        .setSubject('mallory')
        .setAudience('ncp-hub')
        .setIssuedAt()
        .setExpirationTime('10m')
        .sign(privateKey);
    },
  },
  { name: 'no kid', code: 'AUTH_KID_MISSING', token: () => signRaw(agencies['UA-NPU'], {}, { kid: undefined }) },
  {
    name: 'an unknown issuer',
    code: 'AUTH_ISSUER_UNKNOWN',
    token: () => signRaw(agencies['UA-NPU'], { iss: 'XX-NOBODY' }),
  },
  {
    name: 'an unknown kid',
    code: 'AUTH_KID_UNKNOWN',
    token: () => signRaw(agencies['UA-NPU'], {}, { kid: 'no-such-kid' }),
  },
  {
    name: "another agency's key, under its own kid, claiming UA-NPU",
    code: 'AUTH_KID_UNKNOWN',
    token: () => signRaw(agencies['NCB-UA'], { iss: 'UA-NPU', roles: ['officer'] }),
  },
  {
    name: "another agency's key under UA-NPU's kid (bad signature)",
    code: 'AUTH_SIGNATURE_INVALID',
    token: () =>
      signRaw(agencies['NCB-UA'], { iss: 'UA-NPU', roles: ['officer'] }, { kid: agencies['UA-NPU'].key.kid }),
  },
  {
    name: 'claims altered after signing',
    code: 'AUTH_SIGNATURE_INVALID',
    token: async () => {
      const [header, , signature] = (await tokenFor(agencies['UA-NPU'])).split('.');
      const forged = encodeSegment({
        iss: 'UA-NPU',
        sub: 'mallory',
        aud: 'ncp-hub',
        iat: now(),
        exp: now() + 600,
        roles: ['supervisor'],
      });
      return `${header}.${forged}.${signature}`;
    },
  },
  {
    name: 'an expired token',
    code: 'AUTH_TOKEN_EXPIRED',
    token: () => signRaw(agencies['UA-NPU'], { iat: now() - 2 * hour, exp: now() - hour }),
  },
  {
    name: 'nbf in the future',
    code: 'AUTH_TOKEN_NOT_YET_VALID',
    token: () => signRaw(agencies['UA-NPU'], { nbf: now() + hour }),
  },
  {
    name: 'iat in the future',
    code: 'AUTH_TOKEN_NOT_YET_VALID',
    token: () => signRaw(agencies['UA-NPU'], { iat: now() + hour, exp: now() + 2 * hour }),
  },
  {
    name: 'another audience',
    code: 'AUTH_AUDIENCE_INVALID',
    token: () => signRaw(agencies['UA-NPU'], { aud: 'other-hub' }),
  },
  {
    name: 'an audience of this hub and another service',
    code: 'AUTH_AUDIENCE_INVALID',
    token: () => signRaw(agencies['UA-NPU'], { aud: ['other-service', 'ncp-hub'] }),
  },
  { name: 'no aud', code: 'AUTH_CLAIM_MISSING', token: () => signRaw(agencies['UA-NPU'], { aud: undefined }) },
  { name: 'no sub', code: 'AUTH_CLAIM_MISSING', token: () => signRaw(agencies['UA-NPU'], { sub: undefined }) },
  { name: 'no exp', code: 'AUTH_CLAIM_MISSING', token: () => signRaw(agencies['UA-NPU'], { exp: undefined }) },
  { name: 'no iat', code: 'AUTH_CLAIM_MISSING', token: () => signRaw(agencies['UA-NPU'], { iat: undefined }) },
  { name: 'no roles', code: 'AUTH_CLAIM_MISSING', token: () => signRaw(agencies['UA-NPU'], { roles: undefined }) },
  { name: 'an empty roles list', code: 'AUTH_CLAIM_INVALID', token: () => signRaw(agencies['UA-NPU'], { roles: [] }) },
  {
    name: 'an unknown role',
    code: 'AUTH_CLAIM_INVALID',
    token: () => signRaw(agencies['UA-NPU'], { roles: ['admin'] }),
  },
  {
    name: 'a lifetime over 12 hours',
    code: 'AUTH_LIFETIME_TOO_LONG',
    token: () => signRaw(agencies['UA-NPU'], { iat: now(), exp: now() + 12 * hour + 60 }),
  },
  {
    name: 'the ncb role from a police agency',
    code: 'AUTH_ROLE_NOT_ALLOWED',
    token: () => signRaw(agencies['UA-NPU'], { roles: ['officer', 'ncb'] }),
  },
  {
    name: 'the officer role from an NCB',
    code: 'AUTH_ROLE_NOT_ALLOWED',
    token: () => signRaw(agencies['NCB-UA'], { roles: ['officer'] }),
  },
  {
    name: 'a crit header',
    code: 'AUTH_HEADER_NOT_ALLOWED',
    token: () => signRaw(agencies['UA-NPU'], {}, { crit: ['urn:example:ext'], 'urn:example:ext': true }),
  },
  {
    name: 'an embedded jwk header',
    code: 'AUTH_HEADER_NOT_ALLOWED',
    token: async () => {
      const { publicKey } = await generateKeyPair('EdDSA');
      return signRaw(agencies['UA-NPU'], {}, { jwk: await exportJWK(publicKey) });
    },
  },
  {
    name: 'a jku header',
    code: 'AUTH_HEADER_NOT_ALLOWED',
    token: () => signRaw(agencies['UA-NPU'], {}, { jku: 'https://attacker.example/jwks' }),
  },
  {
    name: 'an x5u header',
    code: 'AUTH_HEADER_NOT_ALLOWED',
    token: () => signRaw(agencies['UA-NPU'], {}, { x5u: 'https://attacker.example/cert' }),
  },
  {
    name: 'an x5c header',
    code: 'AUTH_HEADER_NOT_ALLOWED',
    token: () => signRaw(agencies['UA-NPU'], {}, { x5c: ['MIIB'] }),
  },
  {
    name: 'a JWE',
    code: 'AUTH_JWE_NOT_ACCEPTED',
    token: () =>
      new CompactEncrypt(new TextEncoder().encode(JSON.stringify({ iss: 'UA-NPU', sub: 'x' })))
        .setProtectedHeader({ alg: 'dir', enc: 'A256GCM', kid: agencies['UA-NPU'].key.kid })
        .encrypt(randomBytes(32)),
  },
];

describe('a token the hub must refuse', () => {
  it.each(refusals)('socket: $name -> $code', async ({ token, code }) => {
    const value = await token();
    const error = await refusal(testHub.url, value === undefined ? {} : { token: value });
    expect(error.code).toBe(code);
    expect(error.message).toEqual(expect.any(String));
    if (value) expect(error.message).not.toContain(value);
  });

  it.each(refusals)('http: $name -> $code', async ({ token, code }) => {
    const value = await token();
    const response = await fetch(`${testHub.url}/v1/whoami`, {
      headers: value === undefined ? {} : { authorization: `Bearer ${value}` },
    });
    expect(response.status).toBe(401);
    expect(response.headers.get('www-authenticate')).toContain('Bearer');
    const body = (await response.json()) as { error: { code: string; message: string } };
    expect(body.error.code).toBe(code);
  });

  it('counts refusals by code in /metrics', async () => {
    await refusal(testHub.url, { token: 'garbage' });
    const metrics = await (await fetch(`${testHub.url}/metrics`)).text();
    expect(metrics).toMatch(/ncp_hub_auth_failures_total\{code="AUTH_TOKEN_MALFORMED",transport="socket"\} [1-9]/);
  });
});

describe('a valid token', () => {
  it.each(['UA-NPU', 'PL-KGP', 'NCB-UA', 'UA-PGO', 'PL-PK'] as const)(
    'from %s connects with its verified identity',
    async (id) => {
      const agency = agencies[id];
      const token = await tokenFor(agency, { officer: 'desk-7' });
      const { socket, welcome } = await connectOfficer(testHub.url, token);
      expect(welcome.hubId).toBe('ncp-hub');
      expect(welcome.identity).toMatchObject({
        agency: id,
        agencyKind: agency.kind,
        country: agency.country,
        officer: 'desk-7',
      });

      const answer = await socket.emitWithAck(EVENTS.sessionWhoami, {});
      expect(answer).toEqual({ ok: true, identity: welcome.identity });

      const response = await fetch(`${testHub.url}/v1/whoami`, { headers: { authorization: `Bearer ${token}` } });
      expect(response.status).toBe(200);
      expect(await response.json()).toEqual({ identity: welcome.identity });
    },
  );

  it('may name this hub alone in an audience array', async () => {
    const token = await signRaw(agencies['UA-NPU'], { aud: ['ncp-hub'] });
    const { welcome } = await connectOfficer(testHub.url, token);
    expect(welcome.identity.agency).toBe('UA-NPU');
  });

  it('is counted in the connected sockets gauge while connected', async () => {
    const { socket } = await connectOfficer(testHub.url, await tokenFor(agencies['UA-NPU']));
    const gauge = async () =>
      Number(/^ncp_hub_connected_sockets (\d+)/m.exec(await (await fetch(`${testHub.url}/metrics`)).text())?.[1]);
    expect(await gauge()).toBeGreaterThanOrEqual(1);
    const before = await gauge();
    socket.close();
    await expect.poll(gauge).toBe(before - 1);
  });
});

describe('browser origins', () => {
  it('refuses a socket from an origin outside ALLOWED_ORIGINS', async () => {
    const token = await tokenFor(agencies['UA-NPU']);
    const error = await refusal(testHub.url, { token }, { origin: 'https://evil.example' });
    expect(error.code).toBe('ORIGIN_NOT_ALLOWED');
  });

  it('refuses HTTP from an origin outside ALLOWED_ORIGINS', async () => {
    const response = await fetch(`${testHub.url}/healthz`, { headers: { origin: 'https://evil.example' } });
    expect(response.status).toBe(403);
    expect(((await response.json()) as { error: { code: string } }).error.code).toBe('ORIGIN_NOT_ALLOWED');
  });

  it('accepts an allowed origin and answers CORS for it', async () => {
    const allowed = await startTestHub({ ALLOWED_ORIGINS: 'https://console.agency.example' });
    try {
      const token = await tokenFor(allowed.agencies['UA-NPU']);
      const response = await fetch(`${allowed.url}/v1/whoami`, {
        headers: { origin: 'https://console.agency.example', authorization: `Bearer ${token}` },
      });
      expect(response.status).toBe(200);
      expect(response.headers.get('access-control-allow-origin')).toBe('https://console.agency.example');
    } finally {
      await allowed.stop();
    }
  });
});
