import { mkdir, mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FileKeyStore, KeyStoreFileError } from '@ncp-hub/client-sdk/node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { describeKeyStoreContract } from './key-store-contract.js';

let root: string;
let counter = 0;
const newFile = () => join(root, `store-${++counter}`, 'keys.json');
const modeOf = async (path: string) => (await stat(path)).mode & 0o777;
const posix = process.platform !== 'win32';

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'ncp-hub-file-key-store-'));
});

afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

describeKeyStoreContract('FileKeyStore', async () => {
  const file = newFile();
  return { store: await FileKeyStore.open(file), reopen: () => FileKeyStore.open(file) };
});

describe('FileKeyStore', () => {
  it.runIf(posix)('creates the file with mode 0600 in a folder created with mode 0700', async () => {
    const folder = join(root, `new-${++counter}`, 'deeper');
    const file = join(folder, 'keys.json');
    const store = await FileKeyStore.open(file);
    expect(store.path).toBe(file);
    expect(await modeOf(folder)).toBe(0o700);
    expect(await modeOf(join(folder, '..'))).toBe(0o700);
    expect(await modeOf(file)).toBe(0o600);
    await store.set('k', 'v');
    expect(await modeOf(file)).toBe(0o600);
    await store.close();
  });

  it('writes a versioned JSON file and leaves no temporary file behind', async () => {
    const file = newFile();
    const store = await FileKeyStore.open(file);
    expect(JSON.parse(await readFile(file, 'utf8'))).toEqual({ version: 1, entries: {} });
    await Promise.all([store.set('b', [1, { c: null }]), store.set('a', 'x'), store.delete('nothing')]);
    await store.delete('a');
    expect(JSON.parse(await readFile(file, 'utf8'))).toEqual({ version: 1, entries: { b: [1, { c: null }] } });
    expect(await readdir(join(file, '..'))).toEqual(['keys.json']);
    await store.close();
  });

  it('persists 100 concurrent sets, none lost', async () => {
    const file = newFile();
    const store = await FileKeyStore.open(file);
    await Promise.all(Array.from({ length: 100 }, (_, i) => store.set(`seen/${i}`, { i, at: `t${i}` })));
    await store.close();
    const onDisk = JSON.parse(await readFile(file, 'utf8')).entries;
    expect(Object.keys(onDisk)).toHaveLength(100);
    const reopened = await FileKeyStore.open(file);
    expect(await reopened.keys('seen/')).toHaveLength(100);
    for (let i = 0; i < 100; i++) expect(await reopened.get(`seen/${i}`)).toEqual({ i, at: `t${i}` });
    await reopened.close();
  });

  it('persists sets started one after the other without awaiting, in order', async () => {
    const file = newFile();
    const store = await FileKeyStore.open(file);
    const writes: Promise<void>[] = [];
    for (let i = 1; i <= 100; i++) {
      writes.push(store.set('counter', i));
      if (i % 10 === 0) await Promise.resolve(); // some in the same batch, some not
    }
    await Promise.all(writes);
    expect(await store.get('counter')).toBe(100);
    await store.close();
    const reopened = await FileKeyStore.open(file);
    expect(await reopened.get('counter')).toBe(100);
    await reopened.close();
  });

  it('refuses a corrupt file with an error that names the file, never its content', async () => {
    const file = newFile();
    await mkdir(join(file, '..'), { recursive: true });
    await writeFile(file, '{"version":1,"entries":{"device/secret":"TOP-SECRET-KEY"', { mode: 0o600 });
    const error = await FileKeyStore.open(file).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(KeyStoreFileError);
    expect((error as KeyStoreFileError).file).toBe(file);
    expect((error as Error).message).toContain(file);
    expect((error as Error).message).toMatch(/not a valid key store file: it is not JSON/);
    expect((error as Error).message).not.toContain('TOP-SECRET');
    expect((error as Error).cause).toBeUndefined();
    expect(await readFile(file, 'utf8')).toContain('TOP-SECRET-KEY'); // left as it was
    // The file is not held open: after a repair it opens.
    await writeFile(file, '{"version":1,"entries":{"device/secret":"TOP-SECRET-KEY"}}');
    const store = await FileKeyStore.open(file);
    expect(await store.get('device/secret')).toBe('TOP-SECRET-KEY');
    await store.close();
  });

  it.each([
    ['an empty file', '', /it is not JSON/],
    ['JSON that is not an object', '["TOP-SECRET"]', /it is not a JSON object/],
    ['another format version', '{"version":2,"entries":{"k":"TOP-SECRET"}}', /format version is not 1/],
    ['entries that are not an object', '{"version":1,"entries":["TOP-SECRET"]}', /"entries" are not a JSON object/],
    ['an empty key', '{"version":1,"entries":{"":"TOP-SECRET"}}', /a key that is too long or empty/],
  ])('refuses %s', async (_what, content, reason) => {
    const file = newFile();
    await mkdir(join(file, '..'), { recursive: true });
    await writeFile(file, content);
    const error = await FileKeyStore.open(file).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(KeyStoreFileError);
    expect((error as Error).message).toContain(file);
    expect((error as Error).message).toMatch(reason);
    expect((error as Error).message).not.toContain('TOP-SECRET');
  });

  it('reports a path it cannot read as a file', async () => {
    const folder = join(root, `folder-${++counter}`);
    await mkdir(folder, { recursive: true });
    await expect(FileKeyStore.open(folder)).rejects.toThrow(new RegExp(`cannot read .*${counter} \\(EISDIR\\)`));
  });

  it('refuses to open a file that this process has open, until it is closed', async () => {
    const file = newFile();
    const [first, second] = await Promise.allSettled([FileKeyStore.open(file), FileKeyStore.open(file)]);
    expect(first.status).toBe('fulfilled');
    expect(second.status === 'rejected' && String(second.reason)).toMatch(/is open already in this process/);
    const store = (first as PromiseFulfilledResult<FileKeyStore>).value;
    await expect(FileKeyStore.open(join(file, '..', '.', 'keys.json'))).rejects.toThrow(/open already/);
    await store.close();
    const again = await FileKeyStore.open(file);
    await store.close(); // closing the old store again does not release the new one
    await expect(FileKeyStore.open(file)).rejects.toThrow(/open already/);
    await again.close();
  });

  it('rejects a write that fails, keeps what the file holds, and writes again once it can', async () => {
    const file = newFile();
    const folder = join(file, '..');
    const store = await FileKeyStore.open(file);
    await store.set('k', 'kept');
    await rm(folder, { recursive: true });
    const error = await store.set('k', 'lost').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(KeyStoreFileError);
    expect((error as Error).message).toMatch(/cannot write .*keys\.json \(ENOENT\)/);
    expect(await store.get('k')).toBe('kept');
    await mkdir(folder);
    await store.set('other', 1);
    expect(JSON.parse(await readFile(file, 'utf8')).entries).toEqual({ k: 'kept', other: 1 });
    await store.close();
  });

  it('waits for queued writes before close resolves', async () => {
    const file = newFile();
    const store = await FileKeyStore.open(file);
    const writes = Array.from({ length: 10 }, (_, i) => store.set(`k/${i}`, i));
    await store.close();
    await Promise.all(writes);
    expect(Object.keys(JSON.parse(await readFile(file, 'utf8')).entries)).toHaveLength(10);
  });
});
