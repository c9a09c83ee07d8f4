import { createHash, randomUUID } from 'node:crypto';
import {
  AUDIT_CHECKPOINT_TYPE,
  type AuditCheckpoint,
  type AuditEntry,
  type AuditEvent,
  type AuditExportLine,
  chainAuditEvent,
  GENESIS_HASH,
} from '@ncp-hub/keys';
import type { Redis, Result } from 'ioredis';
import { CompactSign } from 'jose';
import type { HubKey } from '../identity/hub-key.js';
import type { Logger } from '../logger.js';
import type { RedisKeys } from '../redis/redis-keys.js';
import { authRefused } from './audit-events.js';

/** The chained position of an audit entry: what an officer keeps to prove it was recorded. */
export interface AuditReceipt {
  seq: number;
  hash: string;
}

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

/** Options of {@link AuditLog}. */
export interface AuditLogOptions {
  hubId: string;
  /** Sign a checkpoint after this many new entries. @defaultValue 100 */
  checkpointEvery: number;
  /** ... or after this long with new entries, in ms. @defaultValue 10000 */
  checkpointIntervalMs: number;
  /** Refused authentications are counted, and recorded once per window and kind. @defaultValue 60000 */
  refusalWindowMs: number;
}

/** Refusals counted in this process since the last flush, by transport, code and claimed agency. */
interface RefusalCount {
  transport: 'socket' | 'http';
  code: string;
  claimedAgency: string | undefined;
  count: number;
  from: number;
}

/**
 * The audit log. Actions append their event to a Redis stream in the same step as the action
 * (inside its script or transaction); one process at a time (any hub node or worker, by a lock
 * in Redis) chains the stream's events into the hash chain, in stream order, and signs
 * checkpoints of the head with the hub key.
 */
export class AuditLog {
  readonly #token = randomUUID();
  #timer: NodeJS.Timeout | undefined;
  #refusalTimer: NodeJS.Timeout | undefined;
  readonly #refusals = new Map<string, RefusalCount>();
  readonly #acceptedTokens = new Set<string>();
  #running: Promise<unknown> | undefined;
  #stopped = false;

  constructor(
    private readonly redis: Redis,
    private readonly keys: RedisKeys,
    private readonly hubKey: HubKey,
    private readonly options: AuditLogOptions,
    private readonly logger: Logger,
  ) {
    redis.defineCommand('ncpAuditChain', { numberOfKeys: 5, lua: CHAIN });
  }

  /** The stream key actions write their events to (inside their own scripts). */
  get streamKey(): string {
    return this.keys.auditStream;
  }

  /** Appends an event on its own (for actions that have no Redis write of their own). */
  async append(event: AuditEvent): Promise<string> {
    return (await this.redis.xadd(this.keys.auditStream, '*', 'e', JSON.stringify(event))) as string;
  }

  /**
   * Counts a refused authentication. Refusals need no token, so recording each one would let
   * anyone grow the log without end: they are recorded as one `auth.refused` entry per
   * window, transport, code and claimed agency, with the count.
   */
  recordRefusal(transport: 'socket' | 'http', code: string, claimedAgency: string | undefined): void {
    const key = `${transport} ${code} ${claimedAgency ?? ''}`;
    const current = this.#refusals.get(key);
    if (current) current.count += 1;
    else this.#refusals.set(key, { transport, code, claimedAgency, count: 1, from: Date.now() });
  }

  /** Records the refusals counted so far. */
  async flushRefusals(): Promise<void> {
    const counts = [...this.#refusals.values()];
    this.#refusals.clear();
    const to = Date.now();
    for (const refusal of counts) {
      await this.append(
        authRefused(refusal.code, refusal.transport, refusal.claimedAgency, refusal.count, refusal.from, to),
      );
    }
  }

  /**
   * Records an accepted HTTP token once per process, not on every request it makes (a
   * socket's acceptance is recorded per connection).
   */
  async recordHttpAcceptance(token: string, event: AuditEvent): Promise<void> {
    const digest = createHash('sha256').update(token).digest('base64url');
    if (this.#acceptedTokens.has(digest)) return;
    if (this.#acceptedTokens.size >= 10_000) this.#acceptedTokens.clear();
    await this.append(event);
    this.#acceptedTokens.add(digest);
  }

  /** Starts chaining in this process (it takes turns with the others through a lock). */
  start(intervalMs = 100): void {
    this.#refusalTimer = setInterval(() => {
      this.flushRefusals().catch((error: unknown) => this.logger.warn({ err: error }, 'recording refusals failed'));
    }, this.options.refusalWindowMs);
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

  async stop(): Promise<void> {
    this.#stopped = true;
    clearTimeout(this.#timer);
    clearInterval(this.#refusalTimer);
    await this.flushRefusals().catch(() => undefined);
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

  /** Chained entries from `afterSeq` (exclusive), oldest first, at most `limit`. */
  async entries(afterSeq: number, limit: number): Promise<AuditEntry[]> {
    const raw = await this.redis.lrange(this.keys.auditChain, afterSeq, afterSeq + limit - 1);
    return raw.map((value) => JSON.parse(value) as AuditEntry);
  }

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
    for (let after = 0; ; after += 1000) {
      const page = await this.entries(after, 1000);
      for (const entry of page) {
        yield visible(entry)
          ? { kind: 'entry', ...entry }
          : { kind: 'entry', seq: entry.seq, prev: entry.prev, hash: entry.hash, redacted: true };
        for (const checkpoint of bySeq.get(entry.seq) ?? []) yield { kind: 'checkpoint', ...checkpoint };
      }
      if (page.length < 1000) break;
    }
  }
}
