import { randomUUID } from 'node:crypto';
import {
  AUDIT_CHECKPOINT_TYPE,
  type AuditCheckpoint,
  type AuditEvent,
  chainAuditEvent,
  GENESIS_HASH,
} from '@ncp-hub/keys';
import type { AuditReceipt } from '@ncp-hub/protocol';
import type { Redis, Result } from 'ioredis';
import { CompactSign } from 'jose';
import type { HubKey } from '../identity/hub-key.js';
import type { Logger } from '../logger.js';
import type { RedisKeys } from '../redis/redis-keys.js';

/**
 * Appends chained entries and moves the head, only if this process holds the lock and the
 * head is still where it read it (the last argument: the seq it chained after).
 */
const CHAIN = `
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
if (redis.call('HGET', KEYS[3], 'seq') or '0') ~= ARGV[#ARGV] then return 0 end
redis.call('PEXPIRE', KEYS[1], ARGV[2])
local count = tonumber(ARGV[3])
for i = 1, count do redis.call('RPUSH', KEYS[2], ARGV[3 + i]) end
local at = 4 + count
redis.call('HSET', KEYS[3], 'seq', ARGV[at], 'hash', ARGV[at + 1], 'cursor', ARGV[at + 2])
for i = at + 3, #ARGV - 1, 2 do redis.call('HSET', KEYS[4], ARGV[i], ARGV[i + 1]) end
redis.call('XTRIM', KEYS[5], 'MINID', ARGV[at + 2])
return 1
`;

declare module 'ioredis' {
  interface RedisCommander<Context> {
    ncpAuditChain(...args: Array<string | number>): Result<number, Context>;
  }
}

/** Options of {@link AuditChainer}. */
export interface AuditChainerOptions {
  hubId: string;
  /** Sign a checkpoint after this many new entries. @defaultValue 100 */
  checkpointEvery: number;
  /** ... or after this long with new entries, in ms. @defaultValue 10000 */
  checkpointIntervalMs: number;
}

/**
 * Chains the audit stream: one process at a time (any hub node or worker, by a lock in Redis)
 * chains the stream's events into the hash chain, in stream order, and signs checkpoints of
 * the head with the hub key.
 */
export class AuditChainer {
  private readonly redis: Redis;
  private readonly keys: RedisKeys;
  private readonly hubKey: HubKey;
  private readonly options: AuditChainerOptions;
  private readonly logger: Logger;
  readonly #token = randomUUID();
  #timer: NodeJS.Timeout | undefined;
  #running: Promise<unknown> | undefined;
  #stopped = false;

  constructor(redis: Redis, keys: RedisKeys, hubKey: HubKey, options: AuditChainerOptions, logger: Logger) {
    this.redis = redis;
    this.keys = keys;
    this.hubKey = hubKey;
    this.options = options;
    this.logger = logger;
    redis.defineCommand('ncpAuditChain', { numberOfKeys: 5, lua: CHAIN });
  }

  /** Starts chaining in this process (it takes turns with the others through a lock). */
  start(intervalMs = 100): void {
    const tick = () => {
      if (this.#stopped) return;
      this.#running = this.chainOnce()
        .catch((error: unknown) => this.logger.warn({ err: error }, 'audit chaining failed; will retry'))
        .finally(() => {
          if (!this.#stopped) this.#timer = setTimeout(tick, intervalMs);
        });
    };
    tick();
  }

  /** Stops chaining and gives the lock up. */
  async stop(): Promise<void> {
    this.#stopped = true;
    clearTimeout(this.#timer);
    await this.#running;
    await this.redis
      .eval(
        "if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end return 0",
        1,
        this.keys.auditChainerLock,
        this.#token,
      )
      .catch(() => undefined);
  }

  #chaining: Promise<number> = Promise.resolve(0);

  /** Chains what the stream holds, if this process holds (or gets) the lock. Returns the entries chained. */
  chainOnce(checkpoint = false): Promise<number> {
    // One chaining at a time in this process: the timer, receipts and exports all ask for it.
    const next = this.#chaining.catch(() => 0).then(() => this.#chainOnce(checkpoint));
    this.#chaining = next;
    return next;
  }

  async #chainOnce(forceCheckpoint: boolean): Promise<number> {
    const lockMs = 5000;
    const held =
      (await this.redis.set(this.keys.auditChainerLock, this.#token, 'PX', lockMs, 'NX')) === 'OK' ||
      (await this.redis.get(this.keys.auditChainerLock)) === this.#token;
    if (!held) {
      // Another process chains; an export still gets a checkpoint of the head as it stands.
      if (forceCheckpoint) {
        const current = await this.redis.hgetall(this.keys.auditHead);
        await this.checkpointIfDue(Number(current.seq ?? 0), current.hash ?? GENESIS_HASH, current, true);
      }
      return 0;
    }
    const head = await this.redis.hgetall(this.keys.auditHead);
    const chainedAfter = head.seq ?? '0';
    let seq = Number(chainedAfter);
    let hash = head.hash ?? GENESIS_HASH;
    const cursor = head.cursor ?? '0-0';
    const events = (await this.redis.xrange(this.keys.auditStream, `(${cursor}`, '+', 'COUNT', 500)) as Array<
      [string, string[]]
    >;
    if (events.length > 0) {
      const entries: string[] = [];
      const receipts: string[] = [];
      let last = cursor;
      for (const [id, fields] of events) {
        const event = JSON.parse(fields[1] as string) as AuditEvent;
        const entry = chainAuditEvent(event, seq + 1, hash);
        seq = entry.seq;
        hash = entry.hash;
        last = id;
        entries.push(JSON.stringify(entry));
        if (event.type === 'query.OPENED') receipts.push(id, `${entry.seq} ${entry.hash}`);
      }
      const stored = await this.redis.ncpAuditChain(
        this.keys.auditChainerLock,
        this.keys.auditChain,
        this.keys.auditHead,
        this.keys.auditReceipts,
        this.keys.auditStream,
        this.#token,
        lockMs,
        entries.length,
        ...entries,
        seq,
        hash,
        last,
        ...receipts,
        chainedAfter,
      );
      if (stored !== 1) return 0;
    }
    await this.checkpointIfDue(seq, hash, head, forceCheckpoint);
    return events.length;
  }

  /**
   * Signs a checkpoint of the current head now, if entries came since the last one: an export
   * then ends on a signed head, and nothing at its end can be cut or edited unnoticed.
   */
  async checkpointNow(): Promise<void> {
    await this.chainOnce(true);
  }

  private async checkpointIfDue(seq: number, hash: string, head: Record<string, string>, force = false): Promise<void> {
    const lastSeq = Number(head.checkpointSeq ?? 0);
    const lastAt = Number(head.checkpointAt ?? 0);
    if (seq <= lastSeq) return;
    const now = Date.now();
    const due = seq - lastSeq >= this.options.checkpointEvery || now - lastAt >= this.options.checkpointIntervalMs;
    if (!force && !due) return;
    const payload = { hub: this.options.hubId, seq, hash, at: now };
    const jws = await new CompactSign(new TextEncoder().encode(JSON.stringify(payload)))
      .setProtectedHeader({ alg: 'EdDSA', kid: this.hubKey.kid, typ: AUDIT_CHECKPOINT_TYPE })
      .sign(this.hubKey.privateKey);
    const checkpoint: AuditCheckpoint = { seq, hash, at: now, jws };
    await this.redis
      .multi()
      .rpush(this.keys.auditCheckpoints, JSON.stringify(checkpoint))
      .hset(this.keys.auditHead, 'checkpointSeq', seq, 'checkpointAt', now)
      .exec();
  }

  /** The receipt of an opened query's entry, once chained (waits up to `timeoutMs`). */
  async receipt(streamId: string, timeoutMs = 5000): Promise<AuditReceipt | undefined> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const value = await this.redis.hget(this.keys.auditReceipts, streamId);
      if (value) {
        const [seq, hash] = value.split(' ') as [string, string];
        return { seq: Number(seq), hash };
      }
      if (Date.now() > deadline) return undefined;
      await this.chainOnce().catch(() => 0);
      await new Promise((resolve) => setTimeout(resolve, 25));
    }
  }
}
