import { verifyMembershipChain } from '@ncp-hub/crypto';
import {
  type ConversationId,
  type ConversationInfo,
  type Cursor,
  type DeviceAddress,
  type DeviceRef,
  deviceAddress,
  fromBase64url,
  hubError,
  type MembershipRecord,
  type OfficerAddress,
  officerAddress,
  parseOfficerAddress,
  type SignedMembershipRecord,
} from '@ncp-hub/protocol';
import type { Redis, Result } from 'ioredis';
import { membershipChanged } from '../audit/audit-events.js';
import { DEVICE_RULES_LUA, noLongerPublished, nowInSeconds } from '../directory/device-rules.js';
import type { DirectoryService } from '../directory/directory-service.js';
import type { TrustRegistryHolder } from '../identity/trust-registry-holder.js';
import type { DurableWrites } from '../redis/durable-write.js';
import { KEY_TYPES_LUA } from '../redis/key-types.js';
import type { RedisKeys } from '../redis/redis-keys.js';

/**
 * Appends a signed membership record, in Lua, for APPEND_RECORD and for the opening of a query
 * (which creates its conversation with its question): only if the chain still has `seq - 1`
 * records (no concurrent change lost); then applies it (the members added or removed, or for
 * `create` the conversation's meta and members), indexes the conversation under the officers
 * added (or takes it out of the removed one's) and appends its audit event. `keys` and
 * `record` are a {@link RecordWrite}'s. Returns false when the chain changed. The caller runs
 * `assertKeyTypes(recordKeyTypes(keys, expected))` (see {@link KEY_TYPES_LUA}) before its first
 * write, so that the record is appended whole or not at all.
 */
export const APPEND_RECORD_LUA = `${KEY_TYPES_LUA}
local function recordKeyTypes(keys, expected)
  table.insert(expected, { key = keys.records, type = 'list' })
  table.insert(expected, { key = keys.members, type = 'set' })
  table.insert(expected, { key = keys.meta, type = 'hash' })
  table.insert(expected, { key = keys.audit, type = 'stream' })
  for _, key in ipairs(keys.officers) do table.insert(expected, { key = key, type = 'set' }) end
  return expected
end
local function appendRecord(keys, record)
  if redis.call('LLEN', keys.records) ~= tonumber(record.seq) - 1 then return false end
  redis.call('RPUSH', keys.records, record.json)
  if record.op == 'add' then
    redis.call('SADD', keys.members, record.member)
    redis.call('SADD', keys.officers[1], record.conv)
  end
  if record.op == 'remove' then
    redis.call('SREM', keys.members, record.member)
    redis.call('SREM', keys.officers[1], record.conv)
  end
  if record.op == 'create' then
    redis.call('HSET', keys.meta, 'kind', record.kind, 'basis', record.basis, 'createdAt', record.createdAt)
    for _, member in ipairs(record.members) do redis.call('SADD', keys.members, member) end
    for _, key in ipairs(keys.officers) do redis.call('SADD', key, record.conv) end
  end
  redis.call('XADD', keys.audit, '*', 'e', record.audit)
  return true
end
`;

/**
 * Appends one record in a single round trip, if the acting device is current. KEYS: the
 * records, members, meta and audit keys, then `officers` (see {@link RecordWrite}); ARGV[1]
 * the JSON of `{ prefix, now, officer, device, record }`: the expiries' key prefix, now
 * (seconds), the acting device's officer and id, the {@link RecordWrite}'s record. Returns 1
 * appended, 0 the chain changed, -1 the device's attestation is not unexpired; a WRONGTYPE
 * error, with nothing written, when one of the keys holds another type.
 */
const APPEND_RECORD = `${DEVICE_RULES_LUA}${APPEND_RECORD_LUA}
local step = cjson.decode(ARGV[1])
if not isCurrentDevice(step.prefix, tonumber(step.now), step.officer, step.device) then return -1 end
local officers = {}
for i = 5, #KEYS do table.insert(officers, KEYS[i]) end
local keys = { records = KEYS[1], members = KEYS[2], meta = KEYS[3], audit = KEYS[4], officers = officers }
assertKeyTypes(recordKeyTypes(keys, {}))
if appendRecord(keys, step.record) then return 1 end
return 0
`;

declare module 'ioredis' {
  interface RedisCommander<Context> {
    ncpAppendRecord(numberOfKeys: number, ...args: string[]): Result<number, Context>;
  }
}

/** What {@link APPEND_RECORD_LUA} is given to append a record, for a script that appends it with other writes. */
export interface RecordWrite {
  keys: {
    records: string;
    members: string;
    meta: string;
    audit: string;
    /**
     * The conversation sets (`officerConversations`) of the officers the record adds — a
     * `create`'s members, in the order of `record.members` — or of the one it removes.
     */
    officers: string[];
  };
  record: {
    conv: ConversationId;
    seq: string;
    json: string;
    op: MembershipRecord['op'];
    /** The officer added or removed; empty for a `create`. */
    member: OfficerAddress | '';
    audit: string;
    /** A `create`'s kind, basis (JSON), creation time (ms) and members; empty otherwise. */
    kind: string;
    basis: string;
    createdAt: string;
    members: OfficerAddress[];
  };
}

/** A `create` record that passed every check that {@link ConversationService.create} makes before writing. */
export interface CheckedCreation {
  signed: SignedMembershipRecord;
  /** `signed.record`, a `create`. */
  record: Extract<MembershipRecord, { op: 'create' }>;
  /** Its members' addresses, each once. */
  members: OfficerAddress[];
}

/** What a membership change did, for the realtime layer to move sockets between rooms. */
export interface MembershipChange {
  conversation: ConversationInfo;
  record: SignedMembershipRecord;
  added: OfficerAddress[];
  removed: OfficerAddress[];
}

/**
 * Conversations and their signed membership chains. The hub checks every new record the way
 * clients will (signature by the acting member's attested device, link to the previous
 * record, allowed operation) and refuses it otherwise; clients check the chain again.
 */
export class ConversationService {
  private readonly redis: Redis;
  private readonly keys: RedisKeys;
  private readonly directory: DirectoryService;
  private readonly registry: TrustRegistryHolder;
  /** Membership changes are answered once the replicas have them (DURABILITY). */
  private readonly durable: DurableWrites;

  constructor(
    redis: Redis,
    keys: RedisKeys,
    directory: DirectoryService,
    registry: TrustRegistryHolder,
    durable: DurableWrites,
  ) {
    this.redis = redis;
    this.durable = durable;
    this.keys = keys;
    this.directory = directory;
    this.registry = registry;
    redis.defineCommand('ncpAppendRecord', { lua: APPEND_RECORD });
  }

  /**
   * Runs APPEND_RECORD for `write`, made by `actor`: true appended, false the chain changed.
   * DEVICE_NOT_PUBLISHED when the actor's attestation is not unexpired.
   */
  async #appendRecord(actor: DeviceRef, write: RecordWrite): Promise<boolean> {
    const { keys } = write;
    const appended = await this.durable.write((redis) =>
      redis.ncpAppendRecord(
        4 + keys.officers.length,
        keys.records,
        keys.members,
        keys.meta,
        keys.audit,
        ...keys.officers,
        JSON.stringify({
          prefix: this.keys.deviceExpiriesPrefix,
          now: String(nowInSeconds()),
          officer: officerAddress(actor),
          device: actor.device,
          record: write.record,
        }),
      ),
    );
    if (appended === -1) throw noLongerPublished();
    return appended === 1;
  }

  /** The keys of a conversation's record write, with the conversation sets of `officers`. */
  #recordKeys(conv: ConversationId, officers: OfficerAddress[]): RecordWrite['keys'] {
    return {
      records: this.keys.conversationRecords(conv),
      members: this.keys.conversationMembers(conv),
      meta: this.keys.conversationMeta(conv),
      audit: this.keys.auditStream,
      officers: officers.map((officer) => this.keys.officerConversations(officer)),
    };
  }

  /**
   * Creates a conversation from its signed `create` record, made by the caller's device. The
   * conversation of an operational query is created only by the query service.
   */
  async create(
    actor: DeviceRef,
    signed: SignedMembershipRecord,
    options: { operationalQuery?: boolean } = {},
  ): Promise<MembershipChange> {
    const checked = await this.checkCreation(actor, signed, options);
    const appended = await this.#appendRecord(actor, this.creationWrite(checked));
    if (!appended) throw hubError('CONVERSATION_EXISTS', 'a conversation with this id exists');
    return this.created(checked);
  }

  /**
   * Every check {@link create} makes of a `create` record before writing it (AGENCY_UNKNOWN,
   * MEMBERSHIP_INVALID, CONVERSATION_EXISTS, SENDER_MISMATCH); writes nothing.
   */
  async checkCreation(
    actor: DeviceRef,
    signed: SignedMembershipRecord,
    options: { operationalQuery?: boolean } = {},
  ): Promise<CheckedCreation> {
    const { record } = signed;
    if (record.op !== 'create') throw hubError('MEMBERSHIP_INVALID', 'a conversation starts with a create record');
    if ((record.basis.type === 'operational-query') !== (options.operationalQuery === true)) {
      throw hubError('MEMBERSHIP_INVALID', 'the conversation of an operational query is opened with query:open');
    }
    const unknown = record.members.filter((member) => !this.registry.current.get(member.agency));
    if (unknown.length > 0) {
      throw hubError('AGENCY_UNKNOWN', `not in the trust registry: ${unknown.map((m) => m.agency).join(', ')}`);
    }
    if (record.kind === 'direct' && record.members.length !== 2) {
      throw hubError('MEMBERSHIP_INVALID', 'a direct conversation has exactly two members');
    }
    if ((await this.redis.exists(this.keys.conversationMeta(record.conv))) === 1) {
      throw hubError('CONVERSATION_EXISTS', 'a conversation with this id exists');
    }
    await this.checkChain(actor, [], signed);
    return { signed, record, members: [...new Set(record.members.map(officerAddress))] };
  }

  /**
   * What appending a checked `create` record writes (the conversation, indexed under each
   * member), for APPEND_RECORD or a script that writes it with other things.
   */
  creationWrite({ signed, record, members }: CheckedCreation): RecordWrite {
    return {
      keys: this.#recordKeys(record.conv, members),
      record: {
        conv: record.conv,
        seq: String(record.seq),
        json: JSON.stringify(signed),
        op: 'create',
        member: '',
        audit: JSON.stringify(
          membershipChanged(
            record,
            record.members.map((member) => member.agency),
          ),
        ),
        kind: record.kind,
        basis: JSON.stringify(record.basis),
        createdAt: String(Date.now()),
        members,
      },
    };
  }

  /** After a checked `create` record was appended (and indexed under its members, in the same step): reads it back. */
  async created({ signed, record, members }: CheckedCreation): Promise<MembershipChange> {
    return { conversation: await this.get(record.conv), record: signed, added: members, removed: [] };
  }

  /** Adds or removes a member with a signed record of a current member's device. */
  async change(actor: DeviceRef, signed: SignedMembershipRecord): Promise<MembershipChange> {
    const { record } = signed;
    if (record.op === 'create') throw hubError('MEMBERSHIP_INVALID', 'use conversation:create to create');
    const records = await this.records(record.conv);
    if (records.length === 0) throw hubError('CONVERSATION_NOT_FOUND', 'no such conversation');
    if (record.op === 'add' && !this.registry.current.get(record.member.agency)) {
      throw hubError('AGENCY_UNKNOWN', `not in the trust registry: ${record.member.agency}`);
    }
    await this.checkChain(actor, records, signed);
    const member = officerAddress(record.member);
    const memberAgencies = [...(await this.redis.smembers(this.keys.conversationMembers(record.conv))), member].map(
      (address) => parseOfficerAddress(address as OfficerAddress).agency,
    );
    const appended = await this.#appendRecord(actor, {
      keys: this.#recordKeys(record.conv, [member]),
      record: {
        conv: record.conv,
        seq: String(record.seq),
        json: JSON.stringify(signed),
        op: record.op,
        member,
        audit: JSON.stringify(membershipChanged(record, memberAgencies)),
        kind: '',
        basis: '',
        createdAt: '',
        members: [],
      },
    });
    if (!appended) throw hubError('MEMBERSHIP_INVALID', 'the membership changed meanwhile: fetch it again');
    return {
      conversation: await this.get(record.conv),
      record: signed,
      added: record.op === 'add' ? [member] : [],
      removed: record.op === 'remove' ? [member] : [],
    };
  }

  private async checkChain(actor: DeviceRef, records: SignedMembershipRecord[], next: SignedMembershipRecord) {
    if (deviceAddress(next.record.by) !== deviceAddress(actor)) {
      throw hubError('SENDER_MISMATCH', "record.by must be this connection's device");
    }
    const verdict = await verifyMembershipChain([...records, next], async (by) => {
      const entry = await this.directory.entry(by);
      return entry ? fromBase64url(entry.signingKey) : undefined;
    });
    if (!verdict.ok) {
      throw hubError(
        'MEMBERSHIP_INVALID',
        `membership record refused (${verdict.reason} at record ${verdict.index + 1})`,
      );
    }
  }

  private async records(conv: ConversationId): Promise<SignedMembershipRecord[]> {
    const raw = await this.redis.lrange(this.keys.conversationRecords(conv), 0, -1);
    return raw.map((value) => JSON.parse(value) as SignedMembershipRecord);
  }

  /** The query whose conversation this is, or null (also for an unknown conversation). */
  async queryOf(conv: ConversationId): Promise<string | null> {
    const basis = await this.redis.hget(this.keys.conversationMeta(conv), 'basis');
    if (!basis) return null;
    const parsed = JSON.parse(basis) as ConversationInfo['basis'];
    return parsed.type === 'operational-query' ? parsed.query : null;
  }

  /** Whether the officer is a member now. */
  async isMember(conv: ConversationId, officer: OfficerAddress): Promise<boolean> {
    return (await this.redis.sismember(this.keys.conversationMembers(conv), officer)) === 1;
  }

  /** Throws CONVERSATION_NOT_FOUND or NOT_A_MEMBER unless the officer is a member. */
  async assertMember(conv: ConversationId, officer: OfficerAddress): Promise<void> {
    if (await this.isMember(conv, officer)) return;
    const exists = (await this.redis.exists(this.keys.conversationMeta(conv))) === 1;
    if (!exists) throw hubError('CONVERSATION_NOT_FOUND', 'no such conversation');
    throw hubError('NOT_A_MEMBER', 'not a member of this conversation');
  }

  /** The ids of the officer's conversations. */
  async idsOf(officer: OfficerAddress): Promise<ConversationId[]> {
    return this.redis.smembers(this.keys.officerConversations(officer));
  }

  /** One conversation, with the device's acknowledged cursor when a device is given. */
  async get(conv: ConversationId, device?: DeviceAddress): Promise<ConversationInfo> {
    const [info] = await this.getMany([conv], device);
    if (!info) throw hubError('CONVERSATION_NOT_FOUND', 'no such conversation');
    return info;
  }

  /** Several conversations in one round trip; unknown ids are left out. */
  async getMany(ids: ConversationId[], device?: DeviceAddress): Promise<ConversationInfo[]> {
    if (ids.length === 0) return [];
    const pipeline = this.redis.pipeline();
    for (const conv of ids) {
      pipeline.hgetall(this.keys.conversationMeta(conv));
      pipeline.smembers(this.keys.conversationMembers(conv));
      pipeline.lrange(this.keys.conversationRecords(conv), 0, -1);
      pipeline.xrevrange(this.keys.conversationLog(conv), '+', '-', 'COUNT', 1);
      if (device) pipeline.hget(this.keys.deviceAcks(device), conv);
    }
    const results = ((await pipeline.exec()) ?? []).map(([error, value]) => {
      if (error) throw error;
      return value;
    });
    const stride = device ? 5 : 4;
    const infos: ConversationInfo[] = [];
    ids.forEach((id, index) => {
      const [meta, members, records, last, acked] = results.slice(index * stride, index * stride + stride) as [
        Record<string, string>,
        OfficerAddress[],
        string[],
        Array<[string, string[]]>,
        string | null | undefined,
      ];
      if (!meta?.kind) return;
      infos.push({
        id,
        kind: meta.kind as ConversationInfo['kind'],
        basis: JSON.parse(meta.basis as string) as ConversationInfo['basis'],
        members: members.sort(),
        records: records.map((value) => JSON.parse(value) as SignedMembershipRecord),
        createdAt: Number(meta.createdAt),
        last: (last[0]?.[0] as Cursor | undefined) ?? null,
        acked: (acked as Cursor | null | undefined) ?? null,
      });
    });
    return infos;
  }
}
