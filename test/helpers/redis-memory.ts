import type { Redis } from 'ioredis';

/** Redis's `used_memory`, in bytes. */
export async function usedMemory(admin: Redis): Promise<number> {
  const info = await admin.info('memory');
  return Number(/^used_memory:(\d+)/m.exec(info)?.[1]);
}

/**
 * Fills a Redis of the suite's own (through `admin`) up to a `maxmemory` a little above what
 * it uses now, until it refuses a write with OOM, then sets `maxmemory` a little below what it
 * uses (right at the limit, a small write could still pass as buffers are freed), with
 * `noeviction`: every write is then refused `OOM command not allowed`. Returns the filler keys,
 * for {@link makeRoom}.
 */
export async function fillUp(admin: Redis): Promise<string[]> {
  await admin.config('SET', 'maxmemory-policy', 'noeviction');
  await admin.config('SET', 'maxmemory', String((await usedMemory(admin)) + 2 * 1024 * 1024));
  const filler: string[] = [];
  const value = 'x'.repeat(64 * 1024);
  for (let i = 0; i < 1000; i += 1) {
    const key = `filler:${i}`;
    try {
      await admin.set(key, value);
      filler.push(key);
    } catch (error) {
      if (!/^OOM command not allowed/.test((error as Error).message)) throw error;
      await admin.config('SET', 'maxmemory', String((await usedMemory(admin)) - 256 * 1024));
      return filler;
    }
  }
  throw new Error('Redis never ran out of memory');
}

/** Deletes the filler keys of {@link fillUp} and lifts `maxmemory`. */
export async function makeRoom(admin: Redis, filler: string[]): Promise<void> {
  if (filler.length > 0) await admin.del(...filler);
  await admin.config('SET', 'maxmemory', '0');
}
