import { randomBytes } from 'node:crypto';
import { type FileHandle, mkdir, open, readFile, rename, unlink } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import type { JsonValue, KeyStore } from '../store/key-store.js';
import { checkKey, copyJsonValue, entryKeys, readEntry } from '../store/values.js';

/** The `version` of the file format written by {@link FileKeyStore}. */
const FORMAT_VERSION = 1;
const FILE_MODE = 0o600;
const FOLDER_MODE = 0o700;

/** The stores open in this process, by absolute file path: a file has one store at a time. */
const openStores = new Map<string, FileKeyStore | 'opening'>();

/**
 * A key store file that cannot be read, written or understood. `message` names the file
 * (`file`) and never shows its content.
 *
 * @example
 * ```ts
 * try {
 *   await FileKeyStore.open('/var/lib/ncp-client/keys.json');
 * } catch (error) {
 *   if (error instanceof KeyStoreFileError) console.error(`restore ${error.file} from a backup`);
 *   throw error;
 * }
 * ```
 */
export class KeyStoreFileError extends Error {
  /** The absolute path of the file. */
  readonly file: string;

  constructor(file: string, message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'KeyStoreFileError';
    this.file = file;
  }
}

/** One pending `set` or `delete`: `apply` changes the next entries and says whether anything changed. */
interface Change {
  apply(entries: Map<string, JsonValue>): boolean;
  resolve(): void;
  reject(error: unknown): void;
}

/**
 * A {@link KeyStore} in one JSON file, for Node.js: `{"version":1,"entries":{...}}`, with mode
 * 0600 in a folder created with mode 0700. The file is read once, at {@link FileKeyStore.open};
 * every `set` and `delete` then rewrites it atomically (a temporary file in the same folder,
 * mode 0600, fsync, rename), so a crash leaves the old file or the new one, never a mix.
 * Writes are queued: changes made while a write is under way are written together by the next
 * one, and none is lost. A change is visible to `get` once its promise has resolved; when its
 * write fails the promise rejects and the store keeps what the file holds.
 *
 * The file is plain JSON protected by its permissions only: keep it on an encrypted disk. One
 * store per file: a second {@link FileKeyStore.open} of the same file in this process is
 * refused until the first store is closed; other processes must not use the file meanwhile.
 *
 * @example
 * ```ts
 * import { FileKeyStore } from '@ncp-hub/client-sdk/node';
 *
 * const store = await FileKeyStore.open('/var/lib/ncp-client/keys.json');
 * await store.set('device/id', 'dev-7f3a');
 * await store.close();
 * ```
 */
export class FileKeyStore implements KeyStore {
  /** The absolute path of the file. */
  readonly path: string;
  #entries: Map<string, JsonValue>;
  readonly #queue: Change[] = [];
  #flushing: Promise<void> | undefined;
  #closed = false;

  private constructor(path: string, entries: Map<string, JsonValue>) {
    this.path = path;
    this.#entries = entries;
  }

  /**
   * Opens the key store in `file`, creating the file (mode 0600) and its missing folders
   * (mode 0700) when it does not exist. Rejects with a {@link KeyStoreFileError} when the file
   * cannot be read or is not a key store file, and with an `Error` when this process has the
   * file open already.
   *
   * @example
   * ```ts
   * import { homedir } from 'node:os';
   * import { join } from 'node:path';
   *
   * const store = await FileKeyStore.open(join(homedir(), '.ncp-hub', 'keys.json'));
   * ```
   */
  static async open(file: string): Promise<FileKeyStore> {
    if (typeof file !== 'string' || file === '') throw new TypeError('FileKeyStore: file must be a non-empty path');
    const path = resolve(file);
    if (openStores.has(path)) {
      throw new Error(`FileKeyStore: ${path} is open already in this process; close() that store first`);
    }
    openStores.set(path, 'opening');
    try {
      await mkdir(dirname(path), { recursive: true, mode: FOLDER_MODE });
      let entries = await readEntries(path);
      if (entries === undefined) {
        entries = new Map();
        await writeEntries(path, entries);
      }
      const store = new FileKeyStore(path, entries);
      openStores.set(path, store);
      return store;
    } catch (error) {
      openStores.delete(path);
      throw error;
    }
  }

  /**
   * The value stored under `key` (a copy), or `undefined`.
   *
   * @example
   * ```ts
   * const secretKey = await store.get<string>('device/signing-key');
   * ```
   */
  async get<T = unknown>(key: string): Promise<T | undefined> {
    this.#checkOpen();
    return readEntry<T>(this.#entries, key);
  }

  /**
   * Stores a copy of `value` under `key`; resolves once the file is written. A `TypeError` for
   * a key or value outside the {@link KeyStore} contract, a {@link KeyStoreFileError} when the
   * file cannot be written.
   *
   * @example
   * ```ts
   * await store.set('device/signing-key', 'base64url-of-the-secret-key');
   * ```
   */
  async set(key: string, value: unknown): Promise<void> {
    this.#checkOpen();
    checkKey(key);
    const copy = copyJsonValue(value);
    await this.#change((entries) => {
      entries.set(key, copy);
      return true;
    });
  }

  /**
   * Removes `key`; resolves once the file is written (at once when `key` is not stored).
   *
   * @example
   * ```ts
   * await store.delete('device/signing-key');
   * ```
   */
  async delete(key: string): Promise<void> {
    this.#checkOpen();
    checkKey(key);
    await this.#change((entries) => entries.delete(key));
  }

  /**
   * The keys that start with `prefix` (every key without one), sorted by UTF-16 code units.
   *
   * @example
   * ```ts
   * const seen = await store.keys('seen/');
   * ```
   */
  async keys(prefix?: string): Promise<string[]> {
    this.#checkOpen();
    return entryKeys(this.#entries, prefix);
  }

  /**
   * Waits for the queued writes, then releases the file (it may be opened again); every later
   * operation rejects. Closing twice does nothing.
   *
   * @example
   * ```ts
   * process.on('SIGTERM', () => void store.close().then(() => process.exit(0)));
   * ```
   */
  async close(): Promise<void> {
    this.#closed = true;
    await this.#flushing;
    if (openStores.get(this.path) === this) openStores.delete(this.path);
  }

  #checkOpen(): void {
    if (this.#closed) throw new Error(`FileKeyStore ${this.path} is closed`);
  }

  #change(apply: Change['apply']): Promise<void> {
    return new Promise((resolve, reject) => {
      this.#queue.push({ apply, resolve, reject });
      this.#flushing ??= this.#flush();
    });
  }

  /** Writes the queued changes, a batch at a time, until the queue is empty. Never rejects. */
  async #flush(): Promise<void> {
    await Promise.resolve(); // let the changes made in the same tick join the first batch
    while (this.#queue.length > 0) {
      const batch = this.#queue.splice(0);
      const next = new Map(this.#entries);
      let changed = false;
      for (const change of batch) changed = change.apply(next) || changed;
      try {
        if (changed) await writeEntries(this.path, next);
        this.#entries = next;
        for (const change of batch) change.resolve();
      } catch (error) {
        for (const change of batch) change.reject(error);
      }
    }
    this.#flushing = undefined;
  }
}

/** The entries of the key store file `path`, or `undefined` when there is no such file. */
async function readEntries(path: string): Promise<Map<string, JsonValue> | undefined> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    if (codeOf(error) === 'ENOENT') return undefined;
    throw new KeyStoreFileError(path, `FileKeyStore: cannot read ${path} (${codeOf(error)})`, { cause: error });
  }
  // No `cause` below: a JSON parser's message quotes the text, and the text holds secrets.
  const corrupt = (reason: string) =>
    new KeyStoreFileError(path, `FileKeyStore: ${path} is not a valid key store file: ${reason}`);
  let content: unknown;
  try {
    content = JSON.parse(text);
  } catch {
    throw corrupt('it is not JSON (a damaged or truncated file?)');
  }
  if (!isPlainObject(content)) throw corrupt('it is not a JSON object');
  if (content.version !== FORMAT_VERSION) throw corrupt(`its format version is not ${FORMAT_VERSION}`);
  const entries = content.entries;
  if (!isPlainObject(entries)) throw corrupt('its "entries" are not a JSON object');
  const result = new Map<string, JsonValue>();
  for (const [key, value] of Object.entries(entries)) {
    try {
      checkKey(key);
    } catch {
      throw corrupt('it holds a key that is too long or empty');
    }
    result.set(key, value as JsonValue); // JSON.parse gives JSON values only
  }
  return result;
}

/** Replaces `path` with `entries`, atomically: temporary file (0600), fsync, rename, fsync of the folder. */
async function writeEntries(path: string, entries: Map<string, JsonValue>): Promise<void> {
  const text = `${JSON.stringify({ version: FORMAT_VERSION, entries: Object.fromEntries(entries) })}\n`;
  const folder = dirname(path);
  const temporary = join(folder, `.${basename(path)}.${randomBytes(8).toString('hex')}.tmp`);
  let handle: FileHandle | undefined;
  try {
    handle = await open(temporary, 'wx', FILE_MODE);
    await handle.chmod(FILE_MODE); // whatever the umask
    await handle.writeFile(text, 'utf8');
    await handle.sync();
    await handle.close();
    handle = undefined;
    await rename(temporary, path);
  } catch (error) {
    await handle?.close().catch(() => {});
    await unlink(temporary).catch(() => {});
    throw new KeyStoreFileError(path, `FileKeyStore: cannot write ${path} (${codeOf(error)})`, { cause: error });
  }
  await syncFolder(folder);
}

/** Makes a rename in `folder` durable where the platform allows it (not on Windows): best effort. */
async function syncFolder(folder: string): Promise<void> {
  let handle: FileHandle | undefined;
  try {
    handle = await open(folder, 'r');
    await handle.sync();
  } catch {
    // The file itself is synced; only the rename might not survive a power cut.
  } finally {
    await handle?.close().catch(() => {});
  }
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function codeOf(error: unknown): string {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : error instanceof Error ? error.message : 'unknown error';
}
