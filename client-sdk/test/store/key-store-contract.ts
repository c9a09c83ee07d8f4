/**
 * The contract every KeyStore keeps (see client-sdk/src/store/key-store.ts), as one suite that
 * each implementation's test file runs with its own factory.
 */
import { describe, expect, it } from 'vitest';
import { type KeyStore, MAX_KEY_LENGTH } from '../../src/store/index.js';

/** A fresh, empty store; `reopen` (persistent stores) opens its data again once it is closed. */
export interface OpenedKeyStore {
  store: KeyStore;
  reopen?: () => Promise<KeyStore>;
}

export type KeyStoreFactory = () => Promise<OpenedKeyStore>;

class Point {
  readonly x: number;
  readonly y: number;
  constructor(x: number, y: number) {
    this.x = x;
    this.y = y;
  }
}

/** Values a key store must refuse, at the top level and nested, with a TypeError. */
const NOT_JSON: [string, () => unknown][] = [
  ['undefined', () => undefined],
  ['a Uint8Array', () => new Uint8Array([1, 2, 3])],
  ['an ArrayBuffer', () => new ArrayBuffer(4)],
  ['a Date', () => new Date(0)],
  ['a Map', () => new Map([['a', 1]])],
  ['a Set', () => new Set([1])],
  ['a class instance', () => new Point(1, 2)],
  ['NaN', () => Number.NaN],
  ['Infinity', () => Number.POSITIVE_INFINITY],
  ['a bigint', () => 1n],
  ['a function', () => () => 1],
  ['a symbol', () => Symbol('s')],
  [
    'a sparse array',
    () => {
      const sparse: number[] = [];
      sparse[2] = 3;
      return sparse;
    },
  ],
  ['an object with a symbol key', () => ({ [Symbol('s')]: 1 })],
];

export function describeKeyStoreContract(name: string, factory: KeyStoreFactory): void {
  describe(`${name}: the KeyStore contract`, () => {
    const open = async (): Promise<KeyStore> => (await factory()).store;

    it('gives undefined for a key never set', async () => {
      const store = await open();
      expect(await store.get('missing')).toBeUndefined();
      expect(await store.keys()).toEqual([]);
      await store.close?.();
    });

    it('stores and gives back every kind of JSON value', async () => {
      const store = await open();
      const values: Record<string, unknown> = {
        string: 'hello',
        empty: '',
        unicode: 'Grüße, 你好, 👋, \u0000 and a lone \ud800',
        integer: 42,
        negative: -7.25,
        large: Number.MAX_SAFE_INTEGER,
        true: true,
        false: false,
        null: null,
        array: [1, 'two', null, [3], { four: 4 }],
        emptyArray: [],
        object: { a: 1, b: { c: [true, false], d: null }, 'key with spaces': 'x' },
        emptyObject: {},
        nullPrototype: Object.assign(Object.create(null), { a: 1 }),
        protoKey: JSON.parse('{"__proto__": {"polluted": true}, "b": 2}'),
      };
      for (const [key, value] of Object.entries(values)) await store.set(key, value);
      for (const [key, value] of Object.entries(values)) expect(await store.get(key), key).toEqual(value);
      const protoKey = await store.get<Record<string, unknown>>('protoKey');
      expect(Object.keys(protoKey ?? {})).toEqual(['__proto__', 'b']);
      expect(({} as Record<string, unknown>).polluted).toBeUndefined();
      await store.close?.();
    });

    it('leaves out object properties that are undefined, as JSON does', async () => {
      const store = await open();
      await store.set('k', { kept: 1, unset: undefined, nested: { gone: undefined, list: [{ also: undefined }] } });
      const value = await store.get<Record<string, unknown>>('k');
      expect(value).toStrictEqual({ kept: 1, nested: { list: [{}] } });
      expect(Object.hasOwn(value ?? {}, 'unset')).toBe(false);
      await store.close?.();
    });

    it('stores -0 as 0, as JSON does', async () => {
      const store = await open();
      await store.set('zero', -0);
      expect(Object.is(await store.get('zero'), 0)).toBe(true);
      await store.close?.();
    });

    it('replaces a value on set', async () => {
      const store = await open();
      await store.set('k', { v: 1 });
      await store.set('k', 'two');
      expect(await store.get('k')).toBe('two');
      expect(await store.keys()).toEqual(['k']);
      await store.close?.();
    });

    it('deletes a key, and deleting a missing key does nothing', async () => {
      const store = await open();
      await store.set('a', 1);
      await store.set('b', 2);
      await store.delete('a');
      await store.delete('a');
      await store.delete('never-set');
      expect(await store.get('a')).toBeUndefined();
      expect(await store.get('b')).toBe(2);
      expect(await store.keys()).toEqual(['b']);
      await store.close?.();
    });

    it('lists keys sorted by UTF-16 code units, filtered by prefix', async () => {
      const store = await open();
      const keys = ['b/2', 'a', 'b', 'b/1', 'b0', 'c', 'B', 'b/é', 'b/😀', 'b/\uffff', 'b/\uffff\uffff', 'b.'];
      for (const key of keys) await store.set(key, key.length);
      // '😀' is the surrogate pair \ud83d\ude00, which sorts before \uffff.
      expect(await store.keys()).toEqual([
        'B',
        'a',
        'b',
        'b.',
        'b/1',
        'b/2',
        'b/é',
        'b/😀',
        'b/\uffff',
        'b/\uffff\uffff',
        'b0',
        'c',
      ]);
      expect(await store.keys('')).toEqual(await store.keys());
      expect(await store.keys('b/')).toEqual(['b/1', 'b/2', 'b/é', 'b/😀', 'b/\uffff', 'b/\uffff\uffff']);
      expect(await store.keys('b/\uffff')).toEqual(['b/\uffff', 'b/\uffff\uffff']);
      expect(await store.keys('b')).toEqual([
        'b',
        'b.',
        'b/1',
        'b/2',
        'b/é',
        'b/😀',
        'b/\uffff',
        'b/\uffff\uffff',
        'b0',
      ]);
      expect(await store.keys('c')).toEqual(['c']);
      expect(await store.keys('A')).toEqual([]);
      expect(await store.keys('d')).toEqual([]);
      expect(await store.keys('0')).toEqual([]);
      await store.close?.();
    });

    it('copies values on set: changing the value afterwards does not change the store', async () => {
      const store = await open();
      const value = { list: [1, 2], nested: { flag: true } };
      await store.set('k', value);
      value.list.push(3);
      value.nested.flag = false;
      expect(await store.get('k')).toEqual({ list: [1, 2], nested: { flag: true } });
      await store.close?.();
    });

    it('copies values on get: changing a returned value does not change the store', async () => {
      const store = await open();
      await store.set('k', { list: [1, 2], nested: { flag: true } });
      const first = await store.get<{ list: number[]; nested: { flag: boolean } }>('k');
      first?.list.push(3);
      if (first) first.nested.flag = false;
      const second = await store.get('k');
      expect(second).toEqual({ list: [1, 2], nested: { flag: true } });
      expect(second).not.toBe(first);
      await store.close?.();
    });

    for (const [what, make] of NOT_JSON) {
      it(`refuses ${what} with a TypeError, at the top level and nested, and stores nothing`, async () => {
        const store = await open();
        await store.set('k', 'before');
        await expect(store.set('k', make())).rejects.toThrow(TypeError);
        if (what !== 'undefined') {
          await expect(store.set('nested', { ok: 1, deep: [{ value: make() }] })).rejects.toThrow(TypeError);
        }
        await expect(store.set('in-array', [make()])).rejects.toThrow(TypeError);
        await expect(store.set('in-nested-array', { ok: 1, deep: [1, make()] })).rejects.toThrow(TypeError);
        expect(await store.get('k')).toBe('before');
        expect(await store.keys()).toEqual(['k']);
        await store.close?.();
      });
    }

    it('refuses a cycle with a TypeError, but accepts a value shared twice', async () => {
      const store = await open();
      const cycle: Record<string, unknown> = { a: 1 };
      cycle.self = { back: cycle };
      await expect(store.set('cycle', cycle)).rejects.toThrow(/cycle/);
      const shared = { x: 1 };
      await store.set('shared', { one: shared, two: shared, list: [shared, shared] });
      expect(await store.get('shared')).toEqual({ one: { x: 1 }, two: { x: 1 }, list: [{ x: 1 }, { x: 1 }] });
      expect(await store.keys()).toEqual(['shared']);
      await store.close?.();
    });

    it('says where a refused value is and what kind it is, never what it holds', async () => {
      const store = await open();
      const error = await store.set('k', { secret: 'TOP-SECRET-VALUE', keys: [new Uint8Array(32)] }).catch((e) => e);
      expect(error).toBeInstanceOf(TypeError);
      expect(error.message).toContain('value.keys[0]');
      expect(error.message).toContain('Uint8Array');
      expect(error.message).toContain('base64url');
      expect(error.message).not.toContain('TOP-SECRET-VALUE');
      await store.close?.();
    });

    it(`accepts keys of 1 to ${MAX_KEY_LENGTH} characters and refuses others with a TypeError`, async () => {
      const store = await open();
      const longest = 'k'.repeat(MAX_KEY_LENGTH);
      await store.set(longest, 1);
      expect(await store.get(longest)).toBe(1);
      expect(await store.keys('k')).toEqual([longest]);
      for (const key of ['', 'k'.repeat(MAX_KEY_LENGTH + 1), 42, null, undefined, ['a']] as unknown as string[]) {
        await expect(store.set(key, 1)).rejects.toThrow(TypeError);
        await expect(store.get(key)).rejects.toThrow(TypeError);
        await expect(store.delete(key)).rejects.toThrow(TypeError);
      }
      await expect(store.keys(42 as unknown as string)).rejects.toThrow(TypeError);
      await expect(store.keys('p'.repeat(MAX_KEY_LENGTH + 1))).rejects.toThrow(TypeError);
      expect(await store.keys()).toEqual([longest]);
      await store.close?.();
    });

    it('applies concurrent sets and deletes without losing any', async () => {
      const store = await open();
      await store.set('doomed', true);
      await Promise.all([
        ...Array.from({ length: 50 }, (_, i) => store.set(`n/${String(i).padStart(2, '0')}`, { i })),
        store.delete('doomed'),
      ]);
      const keys = await store.keys('n/');
      expect(keys).toHaveLength(50);
      for (let i = 0; i < 50; i++) expect(await store.get(`n/${String(i).padStart(2, '0')}`)).toEqual({ i });
      expect(await store.get('doomed')).toBeUndefined();
      await store.close?.();
    });

    it('rejects every operation once closed; closing twice does nothing', async () => {
      const store = await open();
      if (!store.close) return;
      await store.set('k', 1);
      await store.close();
      await store.close();
      await expect(store.get('k')).rejects.toThrow(/closed/);
      await expect(store.set('k', 2)).rejects.toThrow(/closed/);
      await expect(store.delete('k')).rejects.toThrow(/closed/);
      await expect(store.keys()).rejects.toThrow(/closed/);
    });

    it('keeps its data when it is closed and opened again (persistent stores)', async (context) => {
      const { store, reopen } = await factory();
      if (!reopen) {
        await store.close?.();
        context.skip('not a persistent store');
        return;
      }
      await store.set('device/secret', 'c2VjcmV0');
      await store.set('seq/conversation-1', 41);
      await store.set('seq/conversation-1', 42);
      await store.set('gone', true);
      await store.delete('gone');
      await store.set('nested', { pins: ['kid-1', 'kid-2'], at: null });
      await store.close?.();
      const reopened = await reopen();
      expect(await reopened.keys()).toEqual(['device/secret', 'nested', 'seq/conversation-1']);
      expect(await reopened.get('device/secret')).toBe('c2VjcmV0');
      expect(await reopened.get('seq/conversation-1')).toBe(42);
      expect(await reopened.get('nested')).toEqual({ pins: ['kid-1', 'kid-2'], at: null });
      await reopened.close?.();
    });
  });
}
