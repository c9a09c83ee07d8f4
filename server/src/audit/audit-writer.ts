import { createHash } from 'node:crypto';
import type { AuditEvent } from '@ncp-hub/keys';
import type { Redis } from 'ioredis';
import type { Logger } from '../logger.js';
import type { RedisKeys } from '../redis/redis-keys.js';
import { authRefused } from './audit-events.js';

/** Options of {@link AuditWriter}. */
export interface AuditWriterOptions {
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
 * Writes audit events to the Redis stream the chainer reads. Actions with a Redis write of
 * their own append their event inside their own script or transaction ({@link streamKey});
 * this writer appends the others, and counts refused authentications so that a flood of them
 * cannot grow the log.
 */
export class AuditWriter {
  private readonly redis: Redis;
  private readonly keys: RedisKeys;
  private readonly options: AuditWriterOptions;
  private readonly logger: Logger;
  #refusalTimer: NodeJS.Timeout | undefined;
  readonly #refusals = new Map<string, RefusalCount>();
  readonly #acceptedTokens = new Set<string>();

  constructor(redis: Redis, keys: RedisKeys, options: AuditWriterOptions, logger: Logger) {
    this.redis = redis;
    this.keys = keys;
    this.options = options;
    this.logger = logger;
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

  /** Records the counted refusals once per window from now on. */
  start(): void {
    this.#refusalTimer = setInterval(() => {
      this.flushRefusals().catch((error: unknown) => this.logger.warn({ err: error }, 'recording refusals failed'));
    }, this.options.refusalWindowMs);
  }

  /** Stops the window and records what it counted. */
  async stop(): Promise<void> {
    clearInterval(this.#refusalTimer);
    await this.flushRefusals().catch(() => undefined);
  }
}
