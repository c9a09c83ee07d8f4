import type { AuditEvent } from '@ncp-hub/keys';
import {
  ConversationError,
  type ConversationId,
  type ConversationItem,
  type Cursor,
  type DeviceAddress,
  deviceAddress,
  type Envelope,
  type OfficerAddress,
  officerAddress,
  RequestError,
  type SignedReceipt,
} from '@ncp-hub/protocol';
import type { Redis, Result } from 'ioredis';
import { messageRelayed, receiptRelayed } from '../audit/audit-events.js';
import type { Config } from '../config.js';
import type { RedisKeys } from '../redis/redis-keys.js';

/**
 * The recipients rule, in Lua for the scripts below: the devices (`AGENCY/officer/device`) of
 * `members` that are published and unexpired at `now` (seconds), other than the sending
 * device, and not listed in `to` (an envelope's `header.to`): sorted, empty when none is left
 * out. It reads the officers' `deviceExpiries` hashes by building their keys from `prefix`:
 * keys no script declares, which a single Redis allows (the hub needs one; see redis-keys.ts).
 */
const MISSING_RECIPIENTS = `
local function missingRecipients(members, prefix, now, sender, to)
  local listed = {}
  for _, address in ipairs(to) do listed[address] = true end
  local missing = {}
  for _, member in ipairs(members) do
    local devices = redis.call('HGETALL', prefix .. member)
    for i = 1, #devices, 2 do
      local address = member .. '/' .. devices[i]
      if tonumber(devices[i + 1]) > now and address ~= sender and not listed[address] then
        table.insert(missing, address)
      end
    end
  end
  table.sort(missing)
  return missing
end
local function argvFrom(first)
  local values = {}
  for i = first, #ARGV do table.insert(values, ARGV[i]) end
  return values
end
`;

/**
 * Stores one item in a single round trip: checks membership, drops a re-sent message id
 * (answering with the cursor it was stored at), checks (when ARGV[11] is 1) that the
 * message's recipients (ARGV[14..]) leave out no current device of a member, appends to the
 * conversation log and trims it by count and age (exactly: retention is a promise to the
 * agencies, not a hint), and appends its audit event (ids and sizes only) in the same step.
 * Returns {1, cursor} stored, {2, cursor} already stored, {0} not a member, {-1} no conversation,
 * {-2} the message id belongs to another sender, {-3, device...} the devices left out.
 */
const APPEND_ITEM = `${MISSING_RECIPIENTS}
if redis.call('SISMEMBER', KEYS[1], ARGV[1]) == 0 then
  if redis.call('EXISTS', KEYS[1]) == 0 then return {-1} end
  return {0}
end
local dedupe = ARGV[8] == '1'
if dedupe then
  local seen = redis.call('GET', KEYS[3])
  if seen then
    local space = string.find(seen, ' ', 1, true)
    if string.sub(seen, space + 1) ~= ARGV[9] then return {-2} end
    return {2, string.sub(seen, 1, space - 1)}
  end
end
local members = redis.call('SMEMBERS', KEYS[1])
if ARGV[11] == '1' then
  local missing = missingRecipients(members, ARGV[13], tonumber(ARGV[12]), ARGV[9], argvFrom(14))
  if #missing > 0 then return {-3, unpack(missing)} end
end
local cursor = redis.call('XADD', KEYS[2], 'MAXLEN', ARGV[5], '*', 't', ARGV[2], 'r', ARGV[4], 'd', ARGV[3])
redis.call('XTRIM', KEYS[2], 'MINID', ARGV[6])
if dedupe then redis.call('SET', KEYS[3], cursor .. ' ' .. ARGV[9], 'EX', ARGV[7]) end
-- The audit event's agencies are the conversation's members' (not the client-written header.to).
local event = cjson.decode(ARGV[10])
local seen, agencies = {}, {}
for _, member in ipairs(members) do
  local agency = string.match(member, '^([^/]+)/')
  if agency and not seen[agency] then seen[agency] = true; table.insert(agencies, agency) end
end
table.sort(agencies)
event.agencies = agencies
redis.call('XADD', KEYS[4], '*', 'e', cjson.encode(event))
return {1, cursor}
`;

/**
 * The recipients rule on its own, for an envelope to be stored once its conversation exists
 * (a query's question): ARGV prefix, now, sender, the member count n, n members, then `to`.
 */
const MISSING_RECIPIENTS_OF = `${MISSING_RECIPIENTS}
local count = tonumber(ARGV[4])
local members = {}
for i = 5, 4 + count do table.insert(members, ARGV[i]) end
return missingRecipients(members, ARGV[1], tonumber(ARGV[2]), ARGV[3], argvFrom(5 + count))
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

type AppendResult = [1 | 2, Cursor] | [0 | -1 | -2] | [-3, ...DeviceAddress[]];

declare module 'ioredis' {
  interface RedisCommander<Context> {
    ncpAppendItem(...args: Array<string | number>): Result<AppendResult, Context>;
    ncpAck(key: string, conv: string, cursor: string): Result<string, Context>;
    ncpMissingRecipients(...args: Array<string | number>): Result<DeviceAddress[], Context>;
  }
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

  constructor(
    redis: Redis,
    keys: RedisKeys,
    config: Pick<Config, 'maxEnvelopeBytes' | 'retentionSeconds' | 'retentionMaxItems'>,
  ) {
    this.redis = redis;
    this.keys = keys;
    this.config = config;
    redis.defineCommand('ncpAppendItem', { numberOfKeys: 4, lua: APPEND_ITEM });
    redis.defineCommand('ncpAck', { numberOfKeys: 1, lua: ACK });
    redis.defineCommand('ncpMissingRecipients', { numberOfKeys: 0, lua: MISSING_RECIPIENTS_OF });
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
   * Throws RECIPIENTS_CHANGED, with the devices left out as `missing`, when `envelope`'s
   * recipients leave out a current device of one of `members` (the sending device aside). For
   * an envelope whose conversation is not stored yet; {@link storeEnvelope} checks the others
   * as it stores them.
   */
  async assertRecipients(envelope: Envelope, members: readonly OfficerAddress[]): Promise<void> {
    const { header } = envelope;
    const missing = await this.redis.ncpMissingRecipients(
      this.keys.deviceExpiriesPrefix,
      nowInSeconds(),
      deviceAddress(header.from),
      members.length,
      ...members,
      ...header.to,
    );
    if (missing.length > 0) throw recipientsChanged(missing);
  }

  /**
   * Stores an envelope whose sender the caller has checked; one Redis round trip, which also
   * refuses it with RECIPIENTS_CHANGED when its recipients leave out a current device of a
   * member (unless `checkRecipients` is false: the caller checked them).
   */
  async storeEnvelope(envelope: Envelope, options: { checkRecipients?: boolean } = {}): Promise<StoredItem> {
    const json = this.assertSize(envelope);
    const { header } = envelope;
    const receivedAt = Date.now();
    const [status, cursor] = await this.append(
      header.conv,
      officerAddress(header.from),
      'm',
      json,
      receivedAt,
      messageRelayed(envelope, json.length),
      {
        messageId: header.id,
        sender: deviceAddress(header.from),
        recipients: options.checkRecipients === false ? undefined : header.to,
      },
    );
    return { item: { type: 'message', conv: header.conv, cursor, receivedAt, envelope }, duplicate: status === 2 };
  }

  /** Stores a signed receipt whose signer the caller has checked. */
  async storeReceipt(receipt: SignedReceipt): Promise<StoredItem> {
    const { conv, by } = receipt.receipt;
    const receivedAt = Date.now();
    const [, cursor] = await this.append(
      conv,
      officerAddress(by),
      'r',
      JSON.stringify(receipt),
      receivedAt,
      receiptRelayed(receipt),
    );
    return { item: { type: 'receipt', conv, cursor, receivedAt, receipt }, duplicate: false };
  }

  private async append(
    conv: ConversationId,
    member: string,
    type: 'm' | 'r',
    json: string,
    receivedAt: number,
    audit: AuditEvent,
    dedupe?: { messageId: string; sender: DeviceAddress; recipients: readonly DeviceAddress[] | undefined },
  ): Promise<[1 | 2, Cursor]> {
    const recipients = dedupe?.recipients;
    const result = await this.redis.ncpAppendItem(
      this.keys.conversationMembers(conv),
      this.keys.conversationLog(conv),
      this.keys.conversationSeen(conv, dedupe?.messageId ?? '-'),
      this.keys.auditStream,
      member,
      type,
      json,
      receivedAt,
      this.config.retentionMaxItems,
      receivedAt - this.config.retentionSeconds * 1000,
      Math.max(1, this.config.retentionSeconds),
      dedupe ? '1' : '0',
      dedupe?.sender ?? '',
      JSON.stringify(audit),
      recipients ? '1' : '0',
      nowInSeconds(),
      this.keys.deviceExpiriesPrefix,
      ...(recipients ?? []),
    );
    switch (result[0]) {
      case 1:
      case 2:
        return result as [1 | 2, Cursor];
      case -1:
        throw new ConversationError('CONVERSATION_NOT_FOUND', 'no such conversation');
      case -2:
        throw new RequestError('BAD_REQUEST', 'this message id is already used by another sender');
      case -3:
        throw recipientsChanged(result.slice(1) as DeviceAddress[]);
      default:
        throw new ConversationError('NOT_A_MEMBER', 'not a member of this conversation');
    }
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
    return (await this.redis.ncpAck(this.keys.deviceAcks(device), conv, cursor)) as Cursor;
  }
}

/** The time the directory's expiries are compared with. */
function nowInSeconds(): number {
  return Math.floor(Date.now() / 1000);
}

/** RECIPIENTS_CHANGED: the envelope must be sealed again, to these devices too. */
function recipientsChanged(missing: DeviceAddress[]): ConversationError {
  return new ConversationError(
    'RECIPIENTS_CHANGED',
    'the recipients leave out current devices of the members: fetch the devices and seal the envelope again',
    { missing },
  );
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
