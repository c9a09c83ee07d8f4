import { describe, expect, it } from 'vitest';
import { settledWithin } from '../src/settled-within.js';

describe('settledWithin', () => {
  it('is true for work that resolves or rejects in time, false for work that does not', async () => {
    expect(await settledWithin(Promise.resolve('done'), 1000)).toBe(true);
    expect(await settledWithin(Promise.reject(new Error('failed')), 1000)).toBe(true);
    expect(await settledWithin(new Promise(() => {}), 10)).toBe(false);
  });
});
