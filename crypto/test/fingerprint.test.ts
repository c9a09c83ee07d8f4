import { beforeAll, describe, expect, it } from 'vitest';
import { deviceFingerprint, generateDeviceKeys, getSodium, safetyNumber } from '../src/index.js';

const GROUPS = /^\d{5}( \d{5}){11}$/;
let ivanLaptop: Uint8Array;
let ivanPhone: Uint8Array;
let anna: Uint8Array;
let annaNew: Uint8Array;

beforeAll(async () => {
  [ivanLaptop, ivanPhone, anna, annaNew] = await Promise.all(
    [1, 2, 3, 4].map(async () => (await generateDeviceKeys()).signing.publicKey),
  );
});

describe('deviceFingerprint', () => {
  it('gives 12 groups of 5 digits, the same for the same key, different for another', async () => {
    const a = await deviceFingerprint(ivanLaptop);
    expect(a).toMatch(GROUPS);
    expect(await deviceFingerprint(ivanLaptop)).toBe(a);
    expect(await deviceFingerprint(ivanPhone)).not.toBe(a);
  });

  it('follows the documented derivation', async () => {
    const sodium = await getSodium();
    const key = new Uint8Array(32).fill(7);
    const digest = sodium.crypto_generichash(
      64,
      Uint8Array.from([...new TextEncoder().encode('ncp-hub/device-fingerprint/v1'), 0, ...key]),
      null,
    );
    const groups = Array.from({ length: 12 }, (_, g) => {
      let n = 0n;
      for (let j = 0; j < 5; j++) n = (n << 8n) | BigInt(digest[g * 5 + j] as number);
      return String(n % 100000n).padStart(5, '0');
    });
    expect(await deviceFingerprint(key)).toBe(groups.join(' '));
  });

  it('refuses a key of the wrong size', async () => {
    await expect(deviceFingerprint(new Uint8Array(31))).rejects.toThrow(TypeError);
  });
});

describe('safetyNumber', () => {
  const ivan = () => ({ officer: 'UA-NPU/ivan', signingKeys: [ivanLaptop, ivanPhone] });
  const annaSide = (keys = [anna]) => ({ officer: 'PL-KGP/anna', signingKeys: keys });

  it('is the same for both officers, whatever the argument or key order', async () => {
    const number = await safetyNumber(ivan(), annaSide());
    expect(number).toMatch(GROUPS);
    expect(await safetyNumber(annaSide(), ivan())).toBe(number);
    expect(await safetyNumber({ officer: 'UA-NPU/ivan', signingKeys: [ivanPhone, ivanLaptop] }, annaSide())).toBe(
      number,
    );
  });

  it('changes when any key is added, removed or replaced, or the officer differs', async () => {
    const number = await safetyNumber(ivan(), annaSide());
    const variants = [
      await safetyNumber(ivan(), annaSide([annaNew])),
      await safetyNumber(ivan(), annaSide([anna, annaNew])),
      await safetyNumber({ officer: 'UA-NPU/ivan', signingKeys: [ivanLaptop] }, annaSide()),
      await safetyNumber({ officer: 'UA-NPU/ivan2', signingKeys: [ivanLaptop, ivanPhone] }, annaSide()),
    ];
    for (const variant of variants) expect(variant).not.toBe(number);
    expect(new Set(variants).size).toBe(variants.length);
  });

  it('keeps each officer’s half: a change on one side leaves the other half as it was', async () => {
    const halves = (n: string) => [n.slice(0, 35), n.slice(36)];
    const before = halves(await safetyNumber(ivan(), annaSide()));
    const after = halves(await safetyNumber(ivan(), annaSide([annaNew])));
    expect(before.filter((half) => after.includes(half))).toHaveLength(1);
  });

  it('refuses a side without keys or with a key of the wrong size', async () => {
    await expect(safetyNumber(ivan(), annaSide([]))).rejects.toThrow(TypeError);
    await expect(safetyNumber(ivan(), annaSide([new Uint8Array(3)]))).rejects.toThrow(TypeError);
    await expect(safetyNumber(ivan(), { officer: '', signingKeys: [anna] })).rejects.toThrow(TypeError);
  });
});
