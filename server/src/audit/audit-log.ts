import type { AuditCheckpoint, AuditEntry, AuditEvent, AuditExportLine } from '@ncp-hub/keys';
import type { AuditReceipt } from '@ncp-hub/protocol';
import type { Redis } from 'ioredis';
import type { HubKey } from '../identity/hub-key.js';
import type { Logger } from '../logger.js';
import type { RedisKeys } from '../redis/redis-keys.js';
import { AuditChainer, type AuditChainerOptions } from './audit-chainer.js';
import { AuditReader } from './audit-reader.js';
import { AuditWriter, type AuditWriterOptions } from './audit-writer.js';

export type { AuditReceipt };

/** Options of {@link AuditLog}: those of its writer and its chainer. */
export type AuditLogOptions = AuditChainerOptions & AuditWriterOptions;

/**
 * The audit log, a façade over its three parts: the {@link AuditWriter} (events appended to a
 * Redis stream in the same step as their action), the {@link AuditChainer} (one process at a
 * time chains the stream into the hash chain and signs checkpoints) and the
 * {@link AuditReader} (entries, checkpoints, exports).
 */
export class AuditLog {
  readonly writer: AuditWriter;
  readonly chainer: AuditChainer;
  readonly reader: AuditReader;

  constructor(redis: Redis, keys: RedisKeys, hubKey: HubKey, options: AuditLogOptions, logger: Logger) {
    this.writer = new AuditWriter(redis, keys, options, logger);
    this.chainer = new AuditChainer(redis, keys, hubKey, options, logger);
    this.reader = new AuditReader(redis, keys);
  }

  /** The stream key actions write their events to (inside their own scripts). */
  get streamKey(): string {
    return this.writer.streamKey;
  }

  /** Appends an event on its own (for actions that have no Redis write of their own). */
  append(event: AuditEvent): Promise<string> {
    return this.writer.append(event);
  }

  /** Counts a refused authentication (recorded once per window and kind; see {@link AuditWriter}). */
  recordRefusal(transport: 'socket' | 'http', code: string, claimedAgency: string | undefined): void {
    this.writer.recordRefusal(transport, code, claimedAgency);
  }

  /** Records the refusals counted so far. */
  flushRefusals(): Promise<void> {
    return this.writer.flushRefusals();
  }

  /** Records an accepted HTTP token once per process. */
  recordHttpAcceptance(token: string, event: AuditEvent): Promise<void> {
    return this.writer.recordHttpAcceptance(token, event);
  }

  /** Starts chaining in this process, and the refusal window. */
  start(intervalMs = 100): void {
    this.writer.start();
    this.chainer.start(intervalMs);
  }

  /** Records the counted refusals, then stops chaining. */
  async stop(): Promise<void> {
    await this.writer.stop();
    await this.chainer.stop();
  }

  /** Chains what the stream holds, if this process holds (or gets) the lock. Returns the entries chained. */
  chainOnce(checkpoint = false): Promise<number> {
    return this.chainer.chainOnce(checkpoint);
  }

  /** Signs a checkpoint of the current head now, if entries came since the last one. */
  checkpointNow(): Promise<void> {
    return this.chainer.checkpointNow();
  }

  /** The receipt of an opened query's entry, once chained (waits up to `timeoutMs`). */
  receipt(streamId: string, timeoutMs?: number): Promise<AuditReceipt | undefined> {
    return this.chainer.receipt(streamId, timeoutMs);
  }

  /** Chained entries from `afterSeq` (exclusive), oldest first, at most `limit`. */
  entries(afterSeq: number, limit: number): Promise<AuditEntry[]> {
    return this.reader.entries(afterSeq, limit);
  }

  /** Every signed checkpoint, oldest first. */
  checkpoints(): Promise<AuditCheckpoint[]> {
    return this.reader.checkpoints();
  }

  /** The export for a reader (see {@link AuditReader.export}). */
  export(visible: (entry: AuditEntry) => boolean): AsyncGenerator<AuditExportLine> {
    return this.reader.export(visible);
  }
}
