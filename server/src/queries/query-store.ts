import type { Identity, QueryView, TimelineEntry } from '@ncp-hub/protocol';
import type { Redis, Result } from 'ioredis';
import { queryStep } from '../audit/audit-events.js';
import type { RedisKeys } from '../redis/redis-keys.js';
import type { FollowUpTimings } from './policy.js';

/** The follow-up times resolved from the policy when the query was opened. */
export type QueryFollowUp = FollowUpTimings;

/** What the hub stores of a query: the view, the follow-up it runs on, and the steps done. */
export interface QueryRecord {
  view: QueryView;
  followUp: QueryFollowUp;
  /** Follow-up steps already recorded (e.g. `reminder.0`), so a re-run job records nothing twice. */
  steps: string[];
}

/** Replaces the record only if its version is still the one read (optimistic concurrency). */
const COMPARE_AND_SET = `
if redis.call('HGET', KEYS[1], 'version') ~= ARGV[1] then return 0 end
redis.call('HSET', KEYS[1], 'version', tostring(tonumber(ARGV[1]) + 1), 'doc', ARGV[2])
for i = 3, #ARGV, 2 do
  redis.call('RPUSH', KEYS[2], ARGV[i])
  redis.call('XADD', KEYS[3], '*', 'e', ARGV[i + 1])
end
return 1
`;

/** Creates the record with its first entries, unless the id exists; returns the last audit event's stream id. */
const CREATE = `
if redis.call('EXISTS', KEYS[1]) == 1 then return '' end
redis.call('HSET', KEYS[1], 'version', '1', 'doc', ARGV[1])
local id = ''
for i = 2, #ARGV, 2 do
  redis.call('RPUSH', KEYS[2], ARGV[i])
  id = redis.call('XADD', KEYS[3], '*', 'e', ARGV[i + 1])
end
return id
`;

declare module 'ioredis' {
  interface RedisCommander<Context> {
    ncpQueryCas(queryKey: string, timelineKey: string, auditKey: string, ...args: string[]): Result<number, Context>;
    ncpQueryCreate(queryKey: string, timelineKey: string, auditKey: string, ...args: string[]): Result<string, Context>;
  }
}

/** The outcome of {@link QueryStore.update}'s mutation: the entries to append, or nothing to do. */
export type Mutation = TimelineEntry[] | null;

/** Query records in Redis: created once, then changed only by compare-and-set. */
export class QueryStore {
  private readonly redis: Redis;
  private readonly keys: RedisKeys;

  constructor(redis: Redis, keys: RedisKeys) {
    this.redis = redis;
    this.keys = keys;
    redis.defineCommand('ncpQueryCas', { numberOfKeys: 3, lua: COMPARE_AND_SET });
    redis.defineCommand('ncpQueryCreate', { numberOfKeys: 3, lua: CREATE });
  }

  /**
   * Stores a new record and its first entries, each with its audit event; resolves to the
   * audit stream id of the last one, or undefined if the id exists.
   */
  async create(record: QueryRecord, entries: TimelineEntry[], indexes: string[]): Promise<string | undefined> {
    const id = record.view.id;
    const created = await this.redis.ncpQueryCreate(
      this.keys.query(id),
      this.keys.queryTimeline(id),
      this.keys.auditStream,
      JSON.stringify(record),
      ...entries.flatMap((entry) => [JSON.stringify(entry), JSON.stringify(queryStep(record.view, entry))]),
    );
    if (!created) return undefined;
    const pipeline = this.redis.pipeline();
    for (const index of indexes) pipeline.sadd(index, id);
    await pipeline.exec();
    return created;
  }

  /** Claims a new query id; false when it is taken (claimed or stored). */
  async claim(id: string): Promise<boolean> {
    return (await this.redis.set(`${this.keys.query(id)}:claim`, '1', 'NX')) === 'OK';
  }

  async get(id: string): Promise<QueryRecord | undefined> {
    const doc = await this.redis.hget(this.keys.query(id), 'doc');
    return doc ? (JSON.parse(doc) as QueryRecord) : undefined;
  }

  async getMany(ids: string[]): Promise<QueryRecord[]> {
    if (ids.length === 0) return [];
    const pipeline = this.redis.pipeline();
    for (const id of ids) pipeline.hget(this.keys.query(id), 'doc');
    const results = (await pipeline.exec()) ?? [];
    return results.flatMap(([, doc]) => (typeof doc === 'string' ? [JSON.parse(doc) as QueryRecord] : []));
  }

  /** Candidate ids of the queries a user may see (the caller still checks each one). */
  async visibleIds(identity: Identity): Promise<string[]> {
    const sets = [this.keys.agencyQueries(identity.agency)];
    if (identity.roles.includes('ncb')) sets.push(this.keys.ncbQueries(identity.agency));
    if (identity.roles.includes('central-authority')) sets.push(this.keys.authorityQueries(identity.agency));
    return this.redis.sunion(...sets);
  }

  /** Ids of the queries an NCB has not acknowledged. */
  pendingIds(ncb: string): Promise<string[]> {
    return this.redis.smembers(this.keys.ncbPending(ncb));
  }

  async clearPending(ncb: string, id: string): Promise<void> {
    await this.redis.srem(this.keys.ncbPending(ncb), id);
  }

  async indexAuthority(authority: string, id: string): Promise<void> {
    await this.redis.sadd(this.keys.authorityQueries(authority), id);
  }

  async timeline(id: string): Promise<TimelineEntry[]> {
    return (await this.redis.lrange(this.keys.queryTimeline(id), 0, -1)).map((raw) => JSON.parse(raw) as TimelineEntry);
  }

  /**
   * Applies `mutate` to the current record and stores it with the entries it returns, retrying
   * when another node changed the record meanwhile. `mutate` changes the record in place and
   * returns null when there is nothing to do; it may throw to refuse.
   */
  async update(
    id: string,
    mutate: (record: QueryRecord) => Mutation,
  ): Promise<{ record: QueryRecord; entries: TimelineEntry[] }> {
    for (let attempt = 0; attempt < 20; attempt++) {
      const [version, doc] = await this.redis.hmget(this.keys.query(id), 'version', 'doc');
      if (!version || !doc) throw new Error(`query ${id} does not exist`);
      const record = JSON.parse(doc) as QueryRecord;
      const entries = mutate(record);
      if (entries === null) return { record, entries: [] };
      const stored = await this.redis.ncpQueryCas(
        this.keys.query(id),
        this.keys.queryTimeline(id),
        this.keys.auditStream,
        version,
        JSON.stringify(record),
        ...entries.flatMap((entry) => [JSON.stringify(entry), JSON.stringify(queryStep(record.view, entry))]),
      );
      if (stored === 1) return { record, entries };
    }
    throw new Error(`query ${id}: too many concurrent changes`);
  }
}
