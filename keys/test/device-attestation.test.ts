import { randomBytes } from 'node:crypto';
import { HubError } from '@ncp-hub/protocol';
import { importJWK, type JWK, SignJWT } from 'jose';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  type AgencyKeyPair,
  createRegistryEntry,
  DEVICE_ATTESTATION_TYPE,
  decodeDeviceAttestation,
  generateAgencyKey,
  issueDeviceAttestation,
  issueOfficerToken,
  MAX_ATTESTATION_TTL_SECONDS,
  TrustRegistry,
  trustAgency,
  verifyDeviceAttestation,
  verifyOfficerToken,
} from '../src/index.js';

const AGENCY = 'UA-NPU';
const OFFICER = 'o.petrenko';
const DEVICE = 'laptop-1';

function deviceKey(): string {
  return randomBytes(32).toString('base64url');
}

function jwks(key: AgencyKeyPair): { keys: JWK[] } {
  return { keys: [key.publicJwk] };
}

/** Expects `promise` to reject with a HubError of `code`, whose message does not contain `jws`. */
async function refused(promise: Promise<unknown>, jws: string, code = 'ATTESTATION_INVALID'): Promise<HubError> {
  const error = await promise.then(
    () => {
      throw new Error('expected a refusal');
    },
    (reason: unknown) => reason,
  );
  expect(error).toBeInstanceOf(HubError);
  expect((error as HubError).code).toBe(code);
  if (jws.length > 8) expect((error as HubError).message).not.toContain(jws);
  return error as HubError;
}

/** Signs arbitrary claims with the agency key, as a forger holding it (or a buggy agency) would. */
async function signRaw(
  key: AgencyKeyPair,
  claims: Record<string, unknown>,
  header: Record<string, unknown> = {},
): Promise<string> {
  const signingKey = await importJWK(key.privateJwk, key.alg);
  return new SignJWT(claims)
    .setProtectedHeader({ alg: key.alg, kid: key.kid, typ: DEVICE_ATTESTATION_TYPE, ...header })
    .sign(signingKey);
}

function b64json(value: unknown): string {
  return Buffer.from(JSON.stringify(value)).toString('base64url');
}

let eddsa: AgencyKeyPair;
let es256: AgencyKeyPair;
let other: AgencyKeyPair;

beforeAll(async () => {
  [eddsa, es256, other] = await Promise.all([
    generateAgencyKey('EdDSA'),
    generateAgencyKey('ES256'),
    generateAgencyKey('EdDSA'),
  ]);
});

function attest(key: AgencyKeyPair, overrides: Record<string, unknown> = {}): Promise<string> {
  return issueDeviceAttestation({
    agency: AGENCY,
    officer: OFFICER,
    device: DEVICE,
    encryptionKey: deviceKey(),
    signingKey: deviceKey(),
    privateJwk: key.privateJwk,
    ...overrides,
  });
}

describe('issue and verify', () => {
  it.each(['EdDSA', 'ES256'] as const)('round-trips with %s', async (alg) => {
    const key = alg === 'EdDSA' ? eddsa : es256;
    const encryptionKey = deviceKey();
    const signingKey = deviceKey();
    const before = Math.floor(Date.now() / 1000);
    const jws = await attest(key, { encryptionKey, signingKey, ttlSeconds: 3600 });
    expect(jws).toMatch(/^[\w-]+\.[\w-]+\.[\w-]+$/);
    expect(decodeDeviceAttestation(jws)).toEqual({ agency: AGENCY, officer: OFFICER, device: DEVICE });

    const verified = await verifyDeviceAttestation(jws, jwks(key), {
      expected: { agency: AGENCY, officer: OFFICER, device: DEVICE },
    });
    expect(verified).toEqual({
      agency: AGENCY,
      officer: OFFICER,
      device: DEVICE,
      encryptionKey,
      signingKey,
      issuedAt: expect.any(Number),
      expiresAt: expect.any(Number),
      kid: key.kid,
      jws,
    });
    expect(verified.issuedAt).toBeGreaterThanOrEqual(before);
    expect(verified.expiresAt - verified.issuedAt).toBe(3600);
  });

  it('accepts a key resolver, such as a trust registry agency', async () => {
    const agency = trustAgency(
      createRegistryEntry({ id: AGENCY, name: 'N', country: 'UA', kind: 'police' }, [eddsa.publicJwk]),
    );
    const verified = await verifyDeviceAttestation(await attest(eddsa), agency.keys);
    expect(verified.device).toBe(DEVICE);
  });

  it('defaults to a 30-day lifetime', async () => {
    const verified = await verifyDeviceAttestation(await attest(eddsa), jwks(eddsa));
    expect(verified.expiresAt - verified.issuedAt).toBe(30 * 24 * 3600);
  });

  it('refuses bad input when issuing', async () => {
    await expect(attest(eddsa, { agency: 'ua' })).rejects.toThrow(TypeError);
    await expect(attest(eddsa, { device: 'a/b' })).rejects.toThrow(TypeError);
    await expect(attest(eddsa, { encryptionKey: randomBytes(31).toString('base64url') })).rejects.toThrow(TypeError);
    await expect(attest(eddsa, { signingKey: randomBytes(32).toString('base64') })).rejects.toThrow(TypeError);
    await expect(attest(eddsa, { privateJwk: eddsa.publicJwk })).rejects.toThrow(TypeError);
    await expect(attest(eddsa, { ttlSeconds: MAX_ATTESTATION_TTL_SECONDS + 1 })).rejects.toThrow(RangeError);
    await expect(attest(eddsa, { ttlSeconds: 0 })).rejects.toThrow(RangeError);
  });
});

describe('refusals (ATTESTATION_INVALID)', () => {
  it("refuses an attestation signed by another agency's key", async () => {
    const jws = await attest(other);
    const error = await refused(verifyDeviceAttestation(jws, jwks(eddsa)), jws);
    expect(error.message).toContain('kid');
    // The same kid, another key: the signature check refuses it.
    const forged = await attest({ ...other, privateJwk: { ...other.privateJwk, kid: eddsa.kid } });
    const signature = await refused(verifyDeviceAttestation(forged, jwks(eddsa)), forged);
    expect(signature.message).toContain('signature');
  });

  it('refuses a tampered payload (encryption key swapped)', async () => {
    const jws = await attest(eddsa);
    const [header, payload, signature] = jws.split('.') as [string, string, string];
    const claims = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8'));
    const tampered = `${header}.${b64json({ ...claims, enc: deviceKey() })}.${signature}`;
    const error = await refused(verifyDeviceAttestation(tampered, jwks(eddsa)), tampered);
    expect(error.message).toBe('the attestation signature is invalid');
  });

  it('refuses an expired attestation', async () => {
    const jws = await attest(eddsa, { ttlSeconds: 60 });
    const later = new Date(Date.now() + 120_000);
    const error = await refused(verifyDeviceAttestation(jws, jwks(eddsa), { currentDate: later }), jws);
    expect(error.message).toBe('the attestation has expired');
    // Tolerated clock skew accepts it.
    await expect(
      verifyDeviceAttestation(jws, jwks(eddsa), { currentDate: later, clockToleranceSeconds: 120 }),
    ).resolves.toMatchObject({ device: DEVICE });
  });

  it('refuses an officer token (wrong typ), also with an unverified decode', async () => {
    const token = await issueOfficerToken({
      agency: AGENCY,
      officer: OFFICER,
      roles: ['officer'],
      privateJwk: eddsa.privateJwk,
    });
    const error = await refused(verifyDeviceAttestation(token, jwks(eddsa)), token);
    expect(error.message).toContain('typ');
    expect(() => decodeDeviceAttestation(token)).toThrow(HubError);
  });

  it('refuses a typ that only normalises to ncp-device+jwt', async () => {
    const jws = await signRaw(
      eddsa,
      { iss: AGENCY, sub: OFFICER, dev: DEVICE, enc: deviceKey(), sig: deviceKey() },
      {
        typ: 'application/NCP-DEVICE+JWT',
      },
    );
    await refused(verifyDeviceAttestation(jws, jwks(eddsa)), jws);
  });

  it('refuses alg none', async () => {
    const jws = await attest(eddsa);
    const [, payload] = jws.split('.') as [string, string];
    const none = `${b64json({ alg: 'none', kid: eddsa.kid, typ: DEVICE_ATTESTATION_TYPE })}.${payload}.`;
    const error = await refused(verifyDeviceAttestation(none, jwks(eddsa)), none);
    expect(error.code).toBe('ATTESTATION_INVALID');
    const withSignature = `${b64json({ alg: 'none', kid: eddsa.kid, typ: DEVICE_ATTESTATION_TYPE })}.${payload}.${jws.split('.')[2]}`;
    const second = await refused(verifyDeviceAttestation(withSignature, jwks(eddsa)), withSignature);
    expect(second.message).toContain('alg');
  });

  it('refuses a header that brings key material, and a missing kid', async () => {
    const claims = { iss: AGENCY, sub: OFFICER, dev: DEVICE, enc: deviceKey(), sig: deviceKey() };
    const embedded = await signRaw(eddsa, claims, { jwk: eddsa.publicJwk });
    await refused(verifyDeviceAttestation(embedded, jwks(eddsa)), embedded);
    const noKid = await signRaw(eddsa, claims, { kid: undefined });
    const error = await refused(verifyDeviceAttestation(noKid, jwks(eddsa)), noKid);
    expect(error.message).toContain('kid');
  });

  it('refuses a mismatch with the expected officer or device', async () => {
    const jws = await attest(eddsa);
    const officer = await refused(verifyDeviceAttestation(jws, jwks(eddsa), { expected: { officer: 'o.other' } }), jws);
    expect(officer.message).toContain('officer');
    const device = await refused(verifyDeviceAttestation(jws, jwks(eddsa), { expected: { device: 'phone-2' } }), jws);
    expect(device.message).toContain('device');
    const agency = await refused(verifyDeviceAttestation(jws, jwks(eddsa), { expected: { agency: 'PL-KGP' } }), jws);
    expect(agency.message).toContain('agency');
  });

  it('refuses a missing dev, and invalid claims', async () => {
    const now = Math.floor(Date.now() / 1000);
    const base = {
      iss: AGENCY,
      sub: OFFICER,
      dev: DEVICE,
      enc: deviceKey(),
      sig: deviceKey(),
      iat: now,
      exp: now + 60,
    };
    const { dev: _dev, ...withoutDev } = base;
    const missing = await signRaw(eddsa, withoutDev);
    const error = await refused(verifyDeviceAttestation(missing, jwks(eddsa)), missing);
    expect(error.message).toBe('the attestation has no dev');
    expect(() => decodeDeviceAttestation(missing)).toThrow(HubError);

    for (const change of [
      { enc: randomBytes(31).toString('base64url') },
      { sig: 42 },
      { dev: 'a/b' },
      { iss: 'ua-npu' },
      { iat: now + 3600, exp: now + 7200 },
      { iat: now + 0.5 },
    ]) {
      const bad = await signRaw(eddsa, { ...base, ...change });
      await refused(verifyDeviceAttestation(bad, jwks(eddsa)), bad);
    }
  });

  it('refuses a lifetime over the maximum', async () => {
    const now = Math.floor(Date.now() / 1000);
    const claims = { iss: AGENCY, sub: OFFICER, dev: DEVICE, enc: deviceKey(), sig: deviceKey(), iat: now };
    const long = await signRaw(eddsa, { ...claims, exp: now + MAX_ATTESTATION_TTL_SECONDS + 1 });
    const error = await refused(verifyDeviceAttestation(long, jwks(eddsa)), long);
    expect(error.message).toContain('lifetime');
    const longest = await signRaw(eddsa, { ...claims, exp: now + MAX_ATTESTATION_TTL_SECONDS });
    await expect(verifyDeviceAttestation(longest, jwks(eddsa))).resolves.toMatchObject({ device: DEVICE });
  });

  it('refuses garbage without echoing it', async () => {
    for (const garbage of [undefined, '', 'abc', 'a.b.c', 'a.b', 'x'.repeat(5000), 42]) {
      await refused(verifyDeviceAttestation(garbage, jwks(eddsa)), String(garbage));
    }
    expect(() => decodeDeviceAttestation('not.a.jws')).toThrow(HubError);
  });
});

describe('an attestation is never an officer token', () => {
  it('is refused by verifyOfficerToken with AUTH_HEADER_NOT_ALLOWED', async () => {
    const registry = new TrustRegistry([
      trustAgency(createRegistryEntry({ id: AGENCY, name: 'N', country: 'UA', kind: 'police' }, [eddsa.publicJwk])),
    ]);
    const jws = await attest(eddsa);
    await refused(verifyOfficerToken(jws, registry, { audience: 'ncp-hub' }), jws, 'AUTH_HEADER_NOT_ALLOWED');
    // A real officer token (typ JWT) still verifies.
    const token = await issueOfficerToken({
      agency: AGENCY,
      officer: OFFICER,
      roles: ['officer'],
      privateJwk: eddsa.privateJwk,
    });
    await expect(verifyOfficerToken(token, registry, { audience: 'ncp-hub' })).resolves.toMatchObject({
      officer: OFFICER,
    });
  });
});
