import { randomUUID } from 'node:crypto';
import { link, mkdir, open, readFile, rename, stat, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { StartupError } from '../startup-error.js';

/** The lock file in DATA_DIR under which the hub key and the development registry are made. */
export const DATA_DIR_LOCK_FILE = '.init.lock';

/** A lock older than this is taken over whoever holds it: making a key and a registry takes well under a second. */
export const STALE_LOCK_MS = 30_000;

/** How long a node waits for another's lock before it gives up. */
const LOCK_WAIT_MS = 60_000;
const RETRY_MS = 25;

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM: alive, another user's.
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Whether the lock's content (`<pid> <ms>`) names a dead process, or a lock too old to be honest. */
async function isStale(path: string, content: string): Promise<boolean> {
  const pid = Number(content.split(' ')[0]);
  if (Number.isInteger(pid) && pid > 0 && pid !== process.pid && !processAlive(pid)) return true;
  const info = await stat(path).catch(() => undefined);
  return info !== undefined && Date.now() - info.mtimeMs > STALE_LOCK_MS;
}

/**
 * Takes away a stale lock: renamed (atomic, so one taker wins), then checked to be the very lock
 * judged stale; a fresh lock another node made meanwhile is put back (link, which never replaces).
 */
async function breakStaleLock(path: string, judged: string): Promise<void> {
  const aside = `${path}.stale-${randomUUID()}`;
  try {
    await rename(path, aside);
  } catch {
    return;
  }
  const moved = await readFile(aside, 'utf8').catch(() => '');
  if (moved !== judged) await link(aside, path).catch(() => undefined);
  await unlink(aside).catch(() => undefined);
}

/**
 * Runs `make` holding an exclusive lock file in `dataDir` (created with `O_EXCL`, holding this
 * process's pid and the time), so that hub nodes and workers started together on one fresh
 * `DATA_DIR` make its hub key and development registry once: the others wait, then find them
 * made. A lock left by a dead process, or older than {@link STALE_LOCK_MS}, is taken over.
 */
export async function withDataDirLock<T>(dataDir: string, make: () => Promise<T>): Promise<T> {
  await mkdir(dataDir, { recursive: true, mode: 0o700 });
  const path = join(dataDir, DATA_DIR_LOCK_FILE);
  const content = `${process.pid} ${Date.now()}`;
  const deadline = Date.now() + LOCK_WAIT_MS;
  for (;;) {
    try {
      const handle = await open(path, 'wx', 0o600);
      try {
        await handle.writeFile(content);
      } finally {
        await handle.close();
      }
      break;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    }
    const held = await readFile(path, 'utf8').catch(() => undefined);
    // Empty: its maker has not written its pid yet; judged by its age alone.
    if (held !== undefined && (await isStale(path, held))) {
      await breakStaleLock(path, held);
      continue;
    }
    if (Date.now() > deadline) {
      throw new StartupError(
        `DATA_DIR: ${path} has been held by another process (${held?.split(' ')[0] ?? '?'}) for ${LOCK_WAIT_MS / 1000} s; remove it if no hub is starting`,
      );
    }
    await sleep(RETRY_MS);
  }
  try {
    return await make();
  } finally {
    // Only our own lock: one broken as stale meanwhile (a make longer than STALE_LOCK_MS) is another's now.
    if ((await readFile(path, 'utf8').catch(() => '')) === content) await unlink(path).catch(() => undefined);
  }
}
