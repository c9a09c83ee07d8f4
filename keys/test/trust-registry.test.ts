/**
 * The trust registry folder: loaded strictly at start (any bad file throws), and reloaded
 * file by file (reloadTrustRegistry), so that one bad file does not hold back the others.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  createRegistryEntry,
  generateAgencyKey,
  loadTrustRegistry,
  parseRegistryEntry,
  RegistryError,
  registryChanges,
  reloadTrustRegistry,
  writeRegistryEntry,
} from '../src/index.js';

const UA = { id: 'UA-NPU', name: 'National Police of Ukraine', country: 'UA', kind: 'police' } as const;
const PL = { id: 'PL-KGP', name: 'Polish National Police', country: 'PL', kind: 'police' } as const;
const TRUNCATED = '{"id": "EVIL-X", "name": ';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'ncp-registry-'));
});
afterEach(() => rm(dir, { recursive: true, force: true }));

/** The kids of an agency's key set, as the registry holds it. */
function kidsOf(registry: Awaited<ReturnType<typeof loadTrustRegistry>>, id: string): string[] | undefined {
  return registry.get(id)?.entry.jwks?.keys.map((key) => key.kid);
}

describe('loadTrustRegistry (at start)', () => {
  it('throws on any bad file, naming it', async () => {
    await writeRegistryEntry(dir, createRegistryEntry(UA, [(await generateAgencyKey()).publicJwk]));
    await writeFile(join(dir, 'EVIL-X.json'), TRUNCATED);
    await expect(loadTrustRegistry(dir)).rejects.toThrow(RegistryError);
    await expect(loadTrustRegistry(dir)).rejects.toThrow(/EVIL-X\.json: not valid JSON/);
  });
});

describe('reloadTrustRegistry', () => {
  it('applies every good file while a new bad file loads nothing and is listed', async () => {
    const [k1, k2] = [await generateAgencyKey(), await generateAgencyKey('ES256')];
    await writeRegistryEntry(dir, createRegistryEntry(UA, [k1.publicJwk]));
    await writeRegistryEntry(dir, createRegistryEntry(PL, [k1.publicJwk, k2.publicJwk]));
    const start = await loadTrustRegistry(dir);

    await writeFile(join(dir, 'EVIL-X.json'), TRUNCATED);
    await writeRegistryEntry(dir, createRegistryEntry(PL, [k2.publicJwk])); // k1 revoked at PL-KGP
    const { registry, badFiles } = await reloadTrustRegistry(dir, start);
    expect(badFiles).toEqual([{ file: 'EVIL-X.json', problem: expect.stringMatching(/EVIL-X\.json: not valid JSON/) }]);
    expect(kidsOf(registry, 'PL-KGP')).toEqual([k2.kid]);
    expect(registry.get('EVIL-X')).toBeUndefined();
    expect(registry.list().map((agency) => agency.id)).toEqual(['PL-KGP', 'UA-NPU']);
  });

  it('keeps the last good version of a file gone bad, whatever is wrong with it', async () => {
    const key = await generateAgencyKey();
    await writeRegistryEntry(dir, createRegistryEntry(UA, [key.publicJwk]));
    await writeRegistryEntry(dir, createRegistryEntry(PL, [key.publicJwk]));
    const start = await loadTrustRegistry(dir);
    const goodUa = start.get('UA-NPU');

    for (const text of [
      TRUNCATED,
      JSON.stringify({ ...UA, jwks: { keys: [] } }),
      JSON.stringify({ ...UA, id: 'UA-OTHER', jwks: { keys: [key.publicJwk] } }),
    ]) {
      await writeFile(join(dir, 'UA-NPU.json'), text);
      const { registry, badFiles } = await reloadTrustRegistry(dir, start);
      expect(badFiles.map((bad) => bad.file)).toEqual(['UA-NPU.json']);
      expect(registry.get('UA-NPU')).toBe(goodUa);
      expect(registry.get('UA-OTHER')).toBeUndefined();
    }

    // Fixed, it loads again and nothing is listed.
    const k2 = await generateAgencyKey();
    await writeRegistryEntry(dir, createRegistryEntry(UA, [k2.publicJwk]));
    const fixed = await reloadTrustRegistry(dir, start);
    expect(fixed.badFiles).toEqual([]);
    expect(kidsOf(fixed.registry, 'UA-NPU')).toEqual([k2.kid]);
  });

  it('keeps the key set of an unchanged agency, removes one whose file is gone', async () => {
    const key = await generateAgencyKey();
    await writeRegistryEntry(dir, createRegistryEntry(UA, [key.publicJwk]));
    await writeRegistryEntry(dir, createRegistryEntry(PL, [key.publicJwk]));
    const start = await loadTrustRegistry(dir);
    await rm(join(dir, 'PL-KGP.json'));
    const { registry, badFiles } = await reloadTrustRegistry(dir, start);
    expect(badFiles).toEqual([]);
    expect(registry.get('UA-NPU')).toBe(start.get('UA-NPU'));
    expect(registry.get('PL-KGP')).toBeUndefined();
  });

  it('throws when the folder holds no agency file, so that the caller keeps what it has', async () => {
    await writeRegistryEntry(dir, createRegistryEntry(UA, [(await generateAgencyKey()).publicJwk]));
    const start = await loadTrustRegistry(dir);
    await rm(join(dir, 'UA-NPU.json'));
    await expect(reloadTrustRegistry(dir, start)).rejects.toThrow(/no agency files/);
    await expect(reloadTrustRegistry(join(dir, 'gone'), start)).rejects.toThrow(/cannot read the folder/);
  });
});

describe('revocations in the entry, and what a reload changes', () => {
  it('refuses a malformed revoked list; revocation() and registryChanges() tell what is revoked and what changed', async () => {
    const key = (await generateAgencyKey()).publicJwk;
    const ua = createRegistryEntry(UA, [key]);
    const pl = createRegistryEntry(PL, [(await generateAgencyKey()).publicJwk]);
    for (const revoked of [
      { devices: ['no-slash'] },
      { devices: ['/d-1'] },
      { officers: ['a/b'] },
      { officers: ['o.one', 'o.one'] },
      { officers: [], others: [] },
    ]) {
      expect(() => parseRegistryEntry(JSON.stringify({ ...ua, revoked }), 'UA-NPU.json')).toThrow(RegistryError);
    }
    await writeRegistryEntry(dir, ua);
    await writeRegistryEntry(dir, pl);
    const before = await loadTrustRegistry(dir);
    await writeRegistryEntry(dir, { ...ua, revoked: { officers: ['o.one'], devices: ['o.two/d-2'] } });
    const { registry: after } = await reloadTrustRegistry(dir, before);

    expect(after.revocation({ agency: 'UA-NPU', officer: 'o.one' })).toBe('AUTH_OFFICER_REVOKED');
    expect(after.revocation({ agency: 'UA-NPU', officer: 'o.one', device: 'd-1' })).toBe('AUTH_OFFICER_REVOKED');
    expect(after.revocation({ agency: 'UA-NPU', officer: 'o.two', device: 'd-2' })).toBe('AUTH_DEVICE_REVOKED');
    expect(after.revocation({ agency: 'UA-NPU', officer: 'o.two', device: 'd-1' })).toBeUndefined();
    expect(after.revocation({ agency: 'UA-NPU', officer: 'o.two', device: null })).toBeUndefined();
    expect(after.revocation({ agency: 'PL-KGP', officer: 'o.one' })).toBeUndefined();
    expect(registryChanges(before, after)).toEqual({
      agencies: ['UA-NPU'],
      revokedOfficers: ['UA-NPU/o.one'],
      revokedDevices: ['UA-NPU/o.two/d-2'],
    });
    // Lifting a revocation or removing an agency changes the agency, revokes nothing.
    await writeRegistryEntry(dir, ua);
    await rm(join(dir, 'PL-KGP.json'));
    const { registry: lifted } = await reloadTrustRegistry(dir, after);
    expect(registryChanges(after, lifted)).toEqual({
      agencies: ['PL-KGP', 'UA-NPU'],
      revokedOfficers: [],
      revokedDevices: [],
    });
    expect(registryChanges(lifted, lifted)).toEqual({ agencies: [], revokedOfficers: [], revokedDevices: [] });
  });
});
