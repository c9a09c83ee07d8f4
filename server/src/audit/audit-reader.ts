import type { AuditCheckpoint, AuditEntry, AuditExportLine } from '@ncp-hub/keys';
import type { Redis } from 'ioredis';
import type { RedisKeys } from '../redis/redis-keys.js';

/** Entries read per Redis request. */
const PAGE = 1000;

/** Reads the chained log and its checkpoints, for auditors and exports. */
export class AuditReader {
  private readonly redis: Redis;
  private readonly keys: RedisKeys;

  constructor(redis: Redis, keys: RedisKeys) {
    this.redis = redis;
    this.keys = keys;
  }

  /** Chained entries from `afterSeq` (exclusive), oldest first, at most `limit`. */
  async entries(afterSeq: number, limit: number): Promise<AuditEntry[]> {
    const raw = await this.redis.lrange(this.keys.auditChain, afterSeq, afterSeq + limit - 1);
    return raw.map((value) => JSON.parse(value) as AuditEntry);
  }

  /** Every signed checkpoint, oldest first. */
  async checkpoints(): Promise<AuditCheckpoint[]> {
    return (await this.redis.lrange(this.keys.auditCheckpoints, 0, -1)).map(
      (value) => JSON.parse(value) as AuditCheckpoint,
    );
  }

  /**
   * The export for a reader: every entry in chain order, in full when `visible` says so and
   * redacted to its seq, prev and hash otherwise, with every checkpoint after its entry.
   */
  async *export(visible: (entry: AuditEntry) => boolean): AsyncGenerator<AuditExportLine> {
    const checkpoints = await this.checkpoints();
    const bySeq = new Map<number, AuditCheckpoint[]>();
    for (const checkpoint of checkpoints) bySeq.set(checkpoint.seq, [...(bySeq.get(checkpoint.seq) ?? []), checkpoint]);
    for (let after = 0; ; after += PAGE) {
      const page = await this.entries(after, PAGE);
      for (const entry of page) {
        yield visible(entry)
          ? { kind: 'entry', ...entry }
          : { kind: 'entry', seq: entry.seq, prev: entry.prev, hash: entry.hash, redacted: true };
        for (const checkpoint of bySeq.get(entry.seq) ?? []) yield { kind: 'checkpoint', ...checkpoint };
      }
      if (page.length < PAGE) break;
    }
  }
}
