import {
  ConversationError,
  type Cursor,
  type DeviceAddress,
  type DeviceRef,
  deviceAddress,
  type Identity,
  type OfficerAddress,
  officerAddress,
  type QueryView,
  type TimelineEntry,
} from '@ncp-hub/protocol';
import type { ChainableCommander, Redis, Result } from 'ioredis';
import { queryStep } from '../audit/audit-events.js';
import { APPEND_RECORD_LUA, type RecordWrite } from '../conversations/conversation-service.js';
import { DEVICE_RULES_LUA, noLongerPublished, nowInSeconds, recipientsChanged } from '../directory/device-rules.js';
import { APPEND_TO_LOG_LUA, type MessageWrite } from '../messaging/message-service.js';
import type { DurableWrites } from '../redis/durable-write.js';
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

/**
 * The opening of a query, in one step: KEYS 1 the query id's claim, 2-4 the conversation's
 * records, members and meta, 5-6 its log and the question's seen key, 7 the audit stream, 8
 * the officers of the requesting state's NCB, 9-10 the query's record and timeline, then the
 * conversation sets of the conversation's members (`step.officerKeys` of them) and the query's
 * index sets; ARGV[1] the JSON of the rest (see {@link QueryStore.open}). Checks that the
 * sending device's attestation is unexpired ({-1}), that the query id is unclaimed ({-2}) and
 * the conversation id unused ({-3}), and that the question's `header.to` leaves out no current
 * device of the two members (the sending device aside) nor the statement's any of the
 * counterpart and of the NCB's officers ({-4, device...}: every device left out, by either,
 * sorted); then that no key it writes holds another type (a WRONGTYPE error otherwise). With
 * `step.write` false it stops there ({0}); else it claims the query id, creates the
 * conversation (indexed under its members), stores the question as its first message, and
 * stores the query's record with its first timeline entries, each with its audit event, and
 * indexes it. Returns {1, cursor, the last audit event's stream id}. Nothing is written unless
 * everything is.
 */
const OPEN = `${DEVICE_RULES_LUA}${APPEND_RECORD_LUA}${APPEND_TO_LOG_LUA}
local step = cjson.decode(ARGV[1])
local prefix, now, sender = step.prefix, tonumber(step.now), step.sender
if not isCurrentDevice(prefix, now, sender.officer, sender.device) then return {-1} end
if redis.call('EXISTS', KEYS[1]) == 1 or redis.call('EXISTS', KEYS[9]) == 1 then return {-2} end
if redis.call('EXISTS', KEYS[4]) == 1 or redis.call('LLEN', KEYS[2]) > 0 then return {-3} end
local missing = missingRecipients(step.question.officers, prefix, now, sender.address, step.question.to, {})
local statementOfficers = redis.call('SMEMBERS', KEYS[8])
for _, officer in ipairs(step.statement.officers) do table.insert(statementOfficers, officer) end
missingRecipients(statementOfficers, prefix, now, sender.address, step.statement.to, missing)
missing = sorted(missing)
if #missing > 0 then return {-4, unpack(missing)} end
local officers, indexes = {}, {}
for i = 11, #KEYS do
  if i <= 10 + step.officerKeys then table.insert(officers, KEYS[i]) else table.insert(indexes, KEYS[i]) end
end
local conversation = { records = KEYS[2], members = KEYS[3], meta = KEYS[4], audit = KEYS[7], officers = officers }
local expected = recordKeyTypes(conversation, {
  { key = KEYS[1], type = 'string' }, { key = KEYS[5], type = 'stream' }, { key = KEYS[6], type = 'string' },
  { key = KEYS[9], type = 'hash' }, { key = KEYS[10], type = 'list' },
})
for _, key in ipairs(indexes) do table.insert(expected, { key = key, type = 'set' }) end
assertKeyTypes(expected)
if not step.write then return {0} end
redis.call('SET', KEYS[1], '1')
appendRecord(conversation, step.record)
local cursor = appendToLog({ log = KEYS[5], seen = KEYS[6], audit = KEYS[7] }, step.record.members, step.item)
redis.call('HSET', KEYS[9], 'version', '1', 'doc', step.query.doc)
local auditId = ''
for _, entry in ipairs(step.query.entries) do
  redis.call('RPUSH', KEYS[10], entry[1])
  auditId = redis.call('XADD', KEYS[7], '*', 'e', entry[2])
end
for _, key in ipairs(indexes) do redis.call('SADD', key, step.query.id) end
return {1, cursor, auditId}
`;

type OpenResult = [1, Cursor, string] | [0 | -1 | -2 | -3] | [-4, ...DeviceAddress[]];

declare module 'ioredis' {
  interface RedisCommander<Context> {
    ncpQueryCas(queryKey: string, timelineKey: string, auditKey: string, ...args: string[]): Result<number, Context>;
    ncpQueryOpen(numberOfKeys: number, ...args: string[]): Result<OpenResult, Context>;
  }
}

/** What {@link QueryStore.open} writes, and the recipients it checks first. */
export interface Opening {
  query: string;
  /** The requesting device, which sent the record, the question and the statement. */
  sender: DeviceRef;
  /** The query's conversation: its checked `create` record. */
  conversation: RecordWrite;
  /** The question, stored as the conversation's first message. */
  question: MessageWrite;
  /** The question's `header.to`: every current device of both members must be in it. */
  questionTo: readonly DeviceAddress[];
  /** The counterpart: with every officer of `ncb`, the officers whose current devices `statementTo` must hold. */
  counterpart: OfficerAddress;
  /** The requesting state's NCB, the agency the query informs. */
  ncb: string;
  /** The statement's `header.to`. */
  statementTo: readonly DeviceAddress[];
  /** The query's record, stored with its first timeline entries (each with its audit event). */
  record: QueryRecord;
  entries: TimelineEntry[];
  /** The sets the query's id is added to (the agencies', the NCBs'). */
  indexes: string[];
}

/** Where an opening was stored: the question's cursor, and the audit stream id of the query's last first entry. */
export interface Opened {
  cursor: Cursor;
  auditId: string;
}

/** The outcome of {@link QueryStore.update}'s mutation: the entries to append, or nothing to do. */
export type Mutation = TimelineEntry[] | null;

/** Query records in Redis: created once, then changed only by compare-and-set. */
export class QueryStore {
  private readonly redis: Redis;
  private readonly keys: RedisKeys;
  /** Openings and transitions are answered once the replicas have them (DURABILITY). */
  private readonly durable: DurableWrites;

  constructor(redis: Redis, keys: RedisKeys, durable: DurableWrites) {
    this.redis = redis;
    this.durable = durable;
    this.keys = keys;
    redis.defineCommand('ncpQueryCas', { numberOfKeys: 3, lua: COMPARE_AND_SET });
    redis.defineCommand('ncpQueryOpen', { lua: OPEN });
  }

  /**
   * Checks the recipients of an opening and writes it, in one step: claims the query id,
   * creates its conversation (indexed under its members), stores the question and the query's
   * record, and resolves to where they were stored; or nothing is written, and
   * DEVICE_NOT_PUBLISHED (the sender's attestation expired), CONVERSATION_EXISTS (the query or
   * the conversation id is taken) or RECIPIENTS_CHANGED (the question or the statement leaves
   * out a current device: `missing` lists them all), or a Redis error (a key of another type).
   */
  async open(opening: Opening): Promise<Opened> {
    const result = await this.#open(opening, true);
    return { cursor: result[1] as Cursor, auditId: result[2] as string };
  }

  /** Every check of {@link open}, with its refusals, in the same script; writes nothing. */
  async checkOpening(opening: Opening): Promise<void> {
    await this.#open(opening, false);
  }

  async #open(opening: Opening, write: boolean): Promise<OpenResult> {
    const { conversation, question, sender, record } = opening;
    const id = record.view.id;
    const keys = [
      `${this.keys.query(opening.query)}:claim`,
      conversation.keys.records,
      conversation.keys.members,
      conversation.keys.meta,
      question.keys.log,
      question.keys.seen,
      this.keys.auditStream,
      this.keys.agencyOfficers(opening.ncb),
      this.keys.query(id),
      this.keys.queryTimeline(id),
      ...conversation.keys.officers,
      ...opening.indexes,
    ];
    // Only an opening that writes waits for the replicas; its check alone writes nothing.
    const run = (redis: Redis) =>
      redis.ncpQueryOpen(
        keys.length,
        ...keys,
        JSON.stringify({
          write,
          prefix: this.keys.deviceExpiriesPrefix,
          now: String(nowInSeconds()),
          sender: { officer: officerAddress(sender), device: sender.device, address: deviceAddress(sender) },
          record: conversation.record,
          officerKeys: conversation.keys.officers.length,
          item: question.item,
          question: { officers: conversation.record.members, to: opening.questionTo },
          statement: { officers: [opening.counterpart], to: opening.statementTo },
          query: {
            id,
            doc: JSON.stringify(record),
            entries: opening.entries.map((entry) => [
              JSON.stringify(entry),
              JSON.stringify(queryStep(record.view, entry)),
            ]),
          },
        }),
      ) as Promise<OpenResult>;
    const result = write ? await this.durable.write(run) : await run(this.redis);
    switch (result[0]) {
      case 0:
      case 1:
        return result;
      case -1:
        throw noLongerPublished();
      case -2:
        throw new ConversationError('CONVERSATION_EXISTS', 'a query with this id exists');
      case -3:
        throw new ConversationError('CONVERSATION_EXISTS', 'a conversation with this id exists');
      default:
        throw recipientsChanged(result.slice(1) as DeviceAddress[]);
    }
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

  /** Indexes a query among those with a reminder or escalation standing for these agencies' people. */
  async addAlerting(agencies: readonly string[], id: string): Promise<void> {
    await this.#eachAgency(agencies, (pipeline, agency) => pipeline.sadd(this.keys.queryAlerts(agency), id));
  }

  /** Takes a query out of these agencies' index of standing alerts. */
  async clearAlerting(agencies: readonly string[], id: string): Promise<void> {
    await this.#eachAgency(agencies, (pipeline, agency) => pipeline.srem(this.keys.queryAlerts(agency), id));
  }

  /** Ids of the queries that may have a reminder or escalation standing for people of `agency`. */
  alertingIds(agency: string): Promise<string[]> {
    return this.redis.smembers(this.keys.queryAlerts(agency));
  }

  async #eachAgency(agencies: readonly string[], add: (pipeline: ChainableCommander, agency: string) => void) {
    const pipeline = this.redis.pipeline();
    for (const agency of agencies) add(pipeline, agency);
    for (const [error] of (await pipeline.exec()) ?? []) if (error) throw error;
  }

  async indexAuthority(authority: string, id: string): Promise<void> {
    await this.redis.sadd(this.keys.authorityQueries(authority), id);
  }

  async timeline(id: string): Promise<TimelineEntry[]> {
    return (await this.redis.lrange(this.keys.queryTimeline(id), 0, -1)).map((raw) => JSON.parse(raw) as TimelineEntry);
  }

  /** The timelines of several queries, in one round trip, in the order of `ids`. */
  async timelines(ids: readonly string[]): Promise<TimelineEntry[][]> {
    if (ids.length === 0) return [];
    const pipeline = this.redis.pipeline();
    for (const id of ids) pipeline.lrange(this.keys.queryTimeline(id), 0, -1);
    return ((await pipeline.exec()) ?? []).map(([error, raw]) => {
      if (error) throw error;
      return (raw as string[]).map((entry) => JSON.parse(entry) as TimelineEntry);
    });
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
      const stored = await this.durable.write((redis) =>
        redis.ncpQueryCas(
          this.keys.query(id),
          this.keys.queryTimeline(id),
          this.keys.auditStream,
          version,
          JSON.stringify(record),
          ...entries.flatMap((entry) => [JSON.stringify(entry), JSON.stringify(queryStep(record.view, entry))]),
        ),
      );
      if (stored === 1) return { record, entries };
    }
    throw new Error(`query ${id}: too many concurrent changes`);
  }
}
