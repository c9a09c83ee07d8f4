import { describe, expect, it } from 'vitest';
import { STORE_KEYS } from '../../src/client/store-keys.js';

/** What devices have stored is found again under the same names: these never change. */
describe('STORE_KEYS', () => {
  it('names every key as devices have stored them', () => {
    expect(STORE_KEYS.deviceKeys('laptop-1')).toBe('device:laptop-1');
    expect(STORE_KEYS.sendSequence('C0nv')).toBe('seq:C0nv');
    expect(STORE_KEYS.receiveState('C0nv')).toBe('recv:C0nv');
    expect(STORE_KEYS.knownChain('C0nv')).toBe('chain:C0nv');
    expect(STORE_KEYS.queryEvents('Qu3ry')).toBe('qevents:Qu3ry');
    expect(STORE_KEYS.agencyKeys('PL-KGP')).toBe('trust:agency:PL-KGP');
    expect(STORE_KEYS.knownDevice('PL-KGP/k.nowak/phone')).toBe('trust:device:PL-KGP/k.nowak/phone');
    expect(STORE_KEYS.officerDevices('PL-KGP/k.nowak')).toBe('trust:officer:PL-KGP/k.nowak');
  });
});
