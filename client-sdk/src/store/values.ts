/**
 * Checks shared by the key stores (internal: not exported from the package). Messages name
 * where in a value the problem is, never what a value holds: values are secrets.
 */
import { type JsonValue, MAX_KEY_LENGTH } from './key-store.js';

/** Throws a `TypeError` unless `key` is a string of 1 to {@link MAX_KEY_LENGTH} code units. */
export function checkKey(key: unknown): asserts key is string {
  if (typeof key !== 'string') throw new TypeError(`key store keys must be strings, not ${describe(key)}`);
  if (key.length === 0 || key.length > MAX_KEY_LENGTH) {
    throw new TypeError(`key store keys must be 1 to ${MAX_KEY_LENGTH} characters long, not ${key.length}`);
  }
}

/** Throws a `TypeError` unless `prefix` is `undefined` or a string of at most {@link MAX_KEY_LENGTH} code units. */
export function checkPrefix(prefix: unknown): asserts prefix is string | undefined {
  if (prefix === undefined) return;
  if (typeof prefix !== 'string') throw new TypeError(`key store prefixes must be strings, not ${describe(prefix)}`);
  if (prefix.length > MAX_KEY_LENGTH) {
    throw new TypeError(`key store prefixes must be at most ${MAX_KEY_LENGTH} characters long, not ${prefix.length}`);
  }
}

/**
 * A deep copy of `value` made only of JSON values (fresh plain objects and arrays), or a
 * `TypeError` naming the first part of `value` that is not JSON.
 */
export function copyJsonValue(value: unknown): JsonValue {
  return copy(value, 'value', new Set());
}

function copy(value: unknown, path: string, ancestors: Set<object>): JsonValue {
  switch (typeof value) {
    case 'string':
    case 'boolean':
      return value;
    case 'number':
      if (!Number.isFinite(value)) throw notJson(path, `${value} is not a JSON number`);
      return value === 0 ? 0 : value; // -0 is written as 0 in JSON
    case 'object': {
      if (value === null) return null;
      if (ancestors.has(value)) throw notJson(path, 'it refers to itself (a cycle)');
      ancestors.add(value);
      try {
        return Array.isArray(value) ? copyArray(value, path, ancestors) : copyObject(value, path, ancestors);
      } finally {
        ancestors.delete(value);
      }
    }
    default:
      throw notJson(path, `${describe(value)} is not a JSON value`);
  }
}

function copyArray(value: unknown[], path: string, ancestors: Set<object>): JsonValue[] {
  if (Object.getPrototypeOf(value) !== Array.prototype) throw notJson(path, `${describe(value)} is not a plain array`);
  const result: JsonValue[] = [];
  for (let i = 0; i < value.length; i++) {
    if (!(i in value)) throw notJson(`${path}[${i}]`, 'arrays must not have holes');
    result.push(copy(value[i], `${path}[${i}]`, ancestors));
  }
  return result;
}

function copyObject(value: object, path: string, ancestors: Set<object>): { [key: string]: JsonValue } {
  const proto: unknown = Object.getPrototypeOf(value);
  if (proto !== Object.prototype && proto !== null) {
    const hint = ArrayBuffer.isView(value) || value instanceof ArrayBuffer ? '; encode bytes as base64url strings' : '';
    throw notJson(path, `${describe(value)} is not a plain object${hint}`);
  }
  if (Object.getOwnPropertySymbols(value).length > 0) throw notJson(path, 'objects must not have symbol keys');
  const entries: [string, JsonValue][] = [];
  for (const [key, item] of Object.entries(value)) {
    if (item === undefined) continue; // an optional property left unset: JSON leaves it out too
    const itemPath = /^[A-Za-z_$][\w$]*$/.test(key) ? `${path}.${key}` : `${path}[${JSON.stringify(key)}]`;
    entries.push([key, copy(item, itemPath, ancestors)]);
  }
  // Object.fromEntries defines properties, so a key "__proto__" stays a plain key.
  return Object.fromEntries(entries);
}

function notJson(path: string, reason: string): TypeError {
  return new TypeError(`key store values must be JSON values: ${path}: ${reason}`);
}

/** The kind of `value` (never its content): `undefined`, `a function`, `a Uint8Array`, ... */
function describe(value: unknown): string {
  if (value === undefined || value === null) return String(value);
  if (typeof value === 'object') {
    const name = (value as { constructor?: { name?: unknown } }).constructor?.name;
    return typeof name === 'string' && name !== '' ? `a ${name}` : 'an object';
  }
  return `a ${typeof value}`;
}

/** A copy of the value under `key` in `entries` (after checking the key), or undefined. */
export function readEntry<T>(entries: ReadonlyMap<string, JsonValue>, key: unknown): T | undefined {
  checkKey(key);
  const value = entries.get(key);
  return value === undefined ? undefined : (structuredClone(value) as T);
}

/** The keys of `entries` that start with `prefix` (after checking it), sorted. */
export function entryKeys(entries: ReadonlyMap<string, JsonValue>, prefix: unknown): string[] {
  checkPrefix(prefix);
  return [...entries.keys()].filter((key) => prefix === undefined || key.startsWith(prefix)).sort();
}
