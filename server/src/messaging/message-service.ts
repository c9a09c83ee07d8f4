import type { AuditEvent } from '@ncp-hub/keys';
import {
  ConversationError,
  type ConversationId,
  type ConversationItem,
  type Cursor,
  type DeviceAddress,
  type DeviceRef,
  deviceAddress,
  type Envelope,
  officerAddress,
  RequestError,
  type SignedReceipt,
} from '@ncp-hub/protocol';
import type { Redis, Result } from 'ioredis';
import { messageRelayed, receiptRelayed } from '../audit/audit-events.js';
import type { Config } from '../config.js';
import { DEVICE_RULES_LUA, noLongerPublished, nowInSeconds, recipientsChanged } from '../directory/device-rules.js';
import type { DurableWrites } from '../redis/durable-write.js';
import type { RedisKeys } from '../redis/redis-keys.js';

/**
 * Appends one item to a conversation's log, in Lua, for APPEND_ITEM and for the opening of a
 * query (which stores its question with the conversation): trims the log by count and age
 * (exactly: retention is a promise to the agencies, not a hint), remembers a message id with
 * its sender (`item.seenTtl` set), and appends the item's audit event (ids and sizes only),
 * whose agencies are the conversation's `members`' (not the client-written `header.to`).
 * `keys` holds `log`, `seen` and `audit`; returns the item's cursor.
 */
export const APPEND_TO_LOG_LUA = `
local function appendToLog(keys, members, item)
  local cursor = redis.call('XADD', keys.log, 'MAXLEN', item.maxItems, '*', 't', item.type, 'r', item.receivedAt, 'd', item.json)
  redis.call('XTRIM', keys.log, 'MINID', item.minId)
  if item.seenTtl then redis.call('SET', keys.seen, cursor .. ' ' .. item.sender, 'EX', item.seenTtl) end
  local event = cjson.decode(item.audit)
  local seen, agencies = {}, {}
  for _, member in ipairs(members) do
    local agency = string.match(member, '^([^/]+)/')
    if agency and not seen[agency] then seen[agency] = true; table.insert(agencies, agency) end
  end
  table.sort(agencies)
  event.agencies = agencies
  redis.call('XADD', keys.audit, '*', 'e', cjson.encode(event))
  return cursor
end
`;

/**
 * Stores one item in a single round trip. ARGV: 1 the sender's officer, 2 its device id,
 * 3 now (seconds), 4 the expiries' key prefix, 5 type, 6 JSON, 7 received at, 8 max items,
 * 9 min id, 10 seen TTL, 11 dedupe (1|0), 12 the sender's device address, 13 audit event,
 * 14 check recipients (1|0), 15.. `header.to`. Checks that the sending device is current,
 * then membership, drops a re-sent message id (answering with the cursor it was stored at),
 * checks (when ARGV[14] is 1) that the recipients leave out no current device of a member,
 * and appends. Returns {1, cursor} stored, {2, cursor} already stored, {0} not a member,
 * {-1} no conversation, {-2} the message id belongs to another sender, {-3, device...} the
 * devices left out, {-4} the sending device's attestation is not unexpired.
 */
const APPEND_ITEM = `${DEVICE_RULES_LUA}${APPEND_TO_LOG_LUA}
local prefix, now = ARGV[4], tonumber(ARGV[3])
if not isCurrentDevice(prefix, now, ARGV[1], ARGV[2]) then return {-4} end
if redis.call('SISMEMBER', KEYS[1], ARGV[1]) == 0 then
  if redis.call('EXISTS', KEYS[1]) == 0 then return {-1} end
  return {0}
end
local dedupe = ARGV[11] == '1'
if dedupe then
  local seen = redis.call('GET', KEYS[3])
  if seen then
    local space = string.find(seen, ' ', 1, true)
    if string.sub(seen, space + 1) ~= ARGV[12] then return {-2} end
    return {2, string.sub(seen, 1, space - 1)}
  end
end
local members = redis.call('SMEMBERS', KEYS[1])
if ARGV[14] == '1' then
  local to = {}
  for i = 15, #ARGV do table.insert(to, ARGV[i]) end
  local missing = sorted(missingRecipients(members, prefix, now, ARGV[12], to, {}))
  if #missing > 0 then return {-3, unpack(missing)} end
end
local cursor = appendToLog({ log = KEYS[2], seen = KEYS[3], audit = KEYS[4] }, members, {
  type = ARGV[5], json = ARGV[6], receivedAt = ARGV[7], maxItems = ARGV[8], minId = ARGV[9],
  seenTtl = dedupe and ARGV[10] or nil, sender = ARGV[12], audit = ARGV[13],
})
return {1, cursor}
`;

/** Moves a device's acknowledged cursor forward, never back. */
const ACK = `
local current = redis.call('HGET', KEYS[1], ARGV[1])
if current then
  local cm, cn = string.match(current, '^(%d+)-(%d+)$')
  local nm, nn = string.match(ARGV[2], '^(%d+)-(%d+)$')
  cm, cn, nm, nn = tonumber(cm), tonumber(cn), tonumber(nm), tonumber(nn)
  if nm < cm or (nm == cm and nn <= cn) then return current end
end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
return ARGV[2]
`;

type AppendResult = [1 | 2, Cursor] | [0 | -1 | -2 | -4] | [-3, ...DeviceAddress[]];

declare module 'ioredis' {
  interface RedisCommander<Context> {
    ncpAppendItem(...args: Array<string | number>): Result<AppendResult, Context>;
    ncpAck(key: string, conv: string, cursor: string): Result<string, Context>;
  }
}

/** What {@link APPEND_TO_LOG_LUA} is given to store a message, for a script that stores it with other writes. */
export interface MessageWrite {
  keys: { log: string; seen: string; audit: string };
  item: {
    type: 'm';
    json: string;
    receivedAt: string;
    maxItems: string;
    minId: string;
    seenTtl: string;
    sender: DeviceAddress;
    audit: string;
  };
  /** When it was received (milliseconds), as `item.receivedAt`. */
  receivedAt: number;
}

/** The outcome of storing an item. */
export interface StoredItem {
  item: ConversationItem;
  /** True when this message id was stored before: nothing new was written or should be pushed. */
  duplicate: boolean;
}

/**
 * The delivery path: every item is written to the conversation's Redis stream before the
 * sender is acknowledged, then pushed; devices sync from their acknowledged cursor.
 */
export class MessageService {
  private readonly redis: Redis;
  private readonly keys: RedisKeys;
  private readonly config: Pick<Config, 'maxEnvelopeBytes' | 'retentionSeconds' | 'retentionMaxItems'>;
  /** Messages, receipts and acknowledgements are answered once the replicas have them (DURABILITY). */
  private readonly durable: DurableWrites;

  constructor(
    redis: Redis,
    keys: RedisKeys,
    config: Pick<Config, 'maxEnvelopeBytes' | 'retentionSeconds' | 'retentionMaxItems'>,
    durable: DurableWrites,
  ) {
    this.redis = redis;
    this.keys = keys;
    this.config = config;
    this.durable = durable;
    redis.defineCommand('ncpAppendItem', { numberOfKeys: 4, lua: APPEND_ITEM });
    redis.defineCommand('ncpAck', { numberOfKeys: 1, lua: ACK });
  }

  /**
   * Whether a message stored again (a duplicate) is announced again: with DURABILITY=replicated,
   * where a write refused REPLICATION_TIMEOUT may be kept without having been announced.
   */
  get announcesDuplicates(): boolean {
    return this.durable.replicated;
  }

  /** Throws PAYLOAD_TOO_LARGE for an envelope over MAX_ENVELOPE_BYTES; returns its JSON. */
  assertSize(envelope: Envelope, name = 'the envelope'): string {
    const json = JSON.stringify(envelope);
    // The JSON of an envelope is ASCII, so its length is its size in bytes.
    if (json.length > this.config.maxEnvelopeBytes) {
      throw new RequestError('PAYLOAD_TOO_LARGE', `${name} exceeds ${this.config.maxEnvelopeBytes} bytes`);
    }
    return json;
  }

  /**
   * What storing `envelope` as a message writes, for a script that stores it together with
   * other writes (the question of a query, with its conversation): size-checked, its audit
   * event, the retention in force, and its id remembered as a re-sent one would be.
   */
  messageWrite(envelope: Envelope): MessageWrite {
    const json = this.assertSize(envelope);
    const { header } = envelope;
    const receivedAt = Date.now();
    return {
      keys: {
        log: this.keys.conversationLog(header.conv),
        seen: this.keys.conversationSeen(header.conv, header.id),
        audit: this.keys.auditStream,
      },
      item: {
        type: 'm',
        json,
        receivedAt: String(receivedAt),
        maxItems: String(this.config.retentionMaxItems),
        minId: String(this.#oldestKept(receivedAt)),
        seenTtl: String(this.#seenSeconds()),
        sender: deviceAddress(header.from),
        audit: JSON.stringify(messageRelayed(envelope, json.length)),
      },
      receivedAt,
    };
  }

  /**
   * Stores an envelope whose `header.from` the caller has checked is the connection's device;
   * one Redis round trip, which also refuses it with DEVICE_NOT_PUBLISHED when that device's
   * attestation is not unexpired, and with RECIPIENTS_CHANGED when its recipients leave out a
   * current device of a member.
   */
  async storeEnvelope(envelope: Envelope): Promise<StoredItem> {
    const json = this.assertSize(envelope);
    const { header } = envelope;
    const receivedAt = Date.now();
    const [status, cursor] = await this.append(header.from, header.conv, 'm', json, receivedAt, {
      audit: messageRelayed(envelope, json.length),
      dedupe: { messageId: header.id, recipients: header.to },
    });
    return { item: { type: 'message', conv: header.conv, cursor, receivedAt, envelope }, duplicate: status === 2 };
  }

  /** Stores a signed receipt whose signer the caller has checked; DEVICE_NOT_PUBLISHED as {@link storeEnvelope}. */
  async storeReceipt(receipt: SignedReceipt): Promise<StoredItem> {
    const { conv, by } = receipt.receipt;
    const receivedAt = Date.now();
    const [, cursor] = await this.append(by, conv, 'r', JSON.stringify(receipt), receivedAt, {
      audit: receiptRelayed(receipt),
    });
    return { item: { type: 'receipt', conv, cursor, receivedAt, receipt }, duplicate: false };
  }

  private async append(
    sender: DeviceRef,
    conv: ConversationId,
    type: 'm' | 'r',
    json: string,
    receivedAt: number,
    options: { audit: AuditEvent; dedupe?: { messageId: string; recipients: readonly DeviceAddress[] } },
  ): Promise<[1 | 2, Cursor]> {
    const { dedupe } = options;
    const result = await this.durable.write((redis) =>
      redis.ncpAppendItem(
        this.keys.conversationMembers(conv),
        this.keys.conversationLog(conv),
        this.keys.conversationSeen(conv, dedupe?.messageId ?? '-'),
        this.keys.auditStream,
        officerAddress(sender),
        sender.device,
        nowInSeconds(),
        this.keys.deviceExpiriesPrefix,
        type,
        json,
        receivedAt,
        this.config.retentionMaxItems,
        this.#oldestKept(receivedAt),
        this.#seenSeconds(),
        dedupe ? '1' : '0',
        deviceAddress(sender),
        JSON.stringify(options.audit),
        dedupe ? '1' : '0',
        ...(dedupe?.recipients ?? []),
      ),
    );
    switch (result[0]) {
      case 1:
      case 2:
        return [result[0], result[1]];
      case -1:
        throw new ConversationError('CONVERSATION_NOT_FOUND', 'no such conversation');
      case -2:
        throw new RequestError('BAD_REQUEST', 'this message id is already used by another sender');
      case -3:
        throw recipientsChanged(result.slice(1) as DeviceAddress[]);
      case -4:
        throw noLongerPublished();
      default:
        throw new ConversationError('NOT_A_MEMBER', 'not a member of this conversation');
    }
  }

  /** The oldest stream id a log keeps when an item is received at `receivedAt` (milliseconds). */
  #oldestKept(receivedAt: number): number {
    return receivedAt - this.config.retentionSeconds * 1000;
  }

  /** How long a message id is remembered (seconds): the retention time. */
  #seenSeconds(): number {
    return Math.max(1, this.config.retentionSeconds);
  }

  /** Items strictly after `after` (or from the oldest kept), at most `limit`. */
  async itemsAfter(
    conv: ConversationId,
    after: Cursor | null,
    limit: number,
  ): Promise<{ items: ConversationItem[]; more: boolean }> {
    const entries = (await this.redis.xrange(
      this.keys.conversationLog(conv),
      after ? `(${after}` : '-',
      '+',
      'COUNT',
      limit + 1,
    )) as Array<[string, string[]]>;
    const items = entries.slice(0, limit).map(([cursor, fields]) => toItem(conv, cursor, fields));
    return { items, more: entries.length > limit };
  }

  /** Records that a device processed a conversation up to `cursor`; returns the cursor now in force. */
  async acknowledge(device: DeviceAddress, conv: ConversationId, cursor: Cursor): Promise<Cursor> {
    return (await this.durable.write((redis) => redis.ncpAck(this.keys.deviceAcks(device), conv, cursor))) as Cursor;
  }
}

function toItem(conv: ConversationId, cursor: string, fields: string[]): ConversationItem {
  const values: Record<string, string> = {};
  for (let i = 0; i < fields.length; i += 2) values[fields[i] as string] = fields[i + 1] as string;
  const receivedAt = Number(values.r);
  const data = JSON.parse(values.d as string);
  return values.t === 'r'
    ? { type: 'receipt', conv, cursor, receivedAt, receipt: data as SignedReceipt }
    : { type: 'message', conv, cursor, receivedAt, envelope: data as Envelope };
}
