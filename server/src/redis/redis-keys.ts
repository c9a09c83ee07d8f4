import type { ConversationId, DeviceAddress, OfficerAddress } from '@ncp-hub/protocol';

/**
 * Every Redis key the hub uses, in one place. A conversation's keys share the hash tag
 * `{c:<id>}`, a query's `{q:<id>}`, an officer's (its devices' directory entries and expiries,
 * its conversation set, its devices' acknowledgements) `{o:<AGENCY/officer>}`, and BullMQ's
 * `{bull}`, so that each group lands in one Redis Cluster slot. But the scripts also append to
 * the audit stream and read other officers' keys in the same step as their action, so the hub
 * still needs a single Redis (or a primary with replicas and Sentinels), not Redis Cluster:
 * docs/DESIGN.md, "Redis Cluster".
 */
export function redisKeys(prefix: string) {
  const conversation = (conv: ConversationId) => `${prefix}{c:${conv}}`;
  /** What every key of one officer starts with; the scripts build `<this><officer>}:devexp`. */
  const officerTagStart = `${prefix}{o:`;
  const officer = (address: OfficerAddress) => `${officerTagStart}${address}}`;
  return {
    /** hash device -> JSON of the verified attestation */
    directory: (address: OfficerAddress) => `${officer(address)}:dir`,
    /** the SCAN pattern of every officer's {@link directory} hash */
    directoryPattern: `${globEscaped(officerTagStart)}*}:dir`,
    /** the officer address of a {@link directory} key */
    officerOfDirectory: (key: string) => key.slice(officerTagStart.length, -'}:dir'.length) as OfficerAddress,
    /**
     * hash device -> expiresAt (seconds) of each published device, written with `directory`
     * (and filled in from it at start for entries an older hub wrote alone): the store scripts
     * check senders and recipients against it without decoding attestations
     */
    deviceExpiries: (address: OfficerAddress) => `${officer(address)}:devexp`,
    /**
     * what {@link deviceExpiries} puts before the officer address, for the scripts that build the
     * key (`prefix .. officer .. '}:devexp'`, device-rules.ts)
     */
    deviceExpiriesPrefix: officerTagStart,
    /** set of officer addresses with a published device */
    agencyOfficers: (agency: string) => `${prefix}agency:${agency}:officers`,
    /** hash: kind, basis, createdAt */
    conversationMeta: (conv: ConversationId) => `${conversation(conv)}:meta`,
    /** set of officer addresses */
    conversationMembers: (conv: ConversationId) => `${conversation(conv)}:members`,
    /** list of signed membership records (JSON) */
    conversationRecords: (conv: ConversationId) => `${conversation(conv)}:records`,
    /** stream of items: t (m|r), r (received at), d (JSON) */
    conversationLog: (conv: ConversationId) => `${conversation(conv)}:log`,
    /** cursor and sender of a stored message id, for retention */
    conversationSeen: (conv: ConversationId, messageId: string) => `${conversation(conv)}:seen:${messageId}`,
    /** set of conversation ids */
    officerConversations: (address: OfficerAddress) => `${officer(address)}:convs`,
    /** hash conversation id -> cursor acknowledged by the device */
    deviceAcks: (device: DeviceAddress) => {
      const at = device.lastIndexOf('/');
      return `${officer(device.slice(0, at) as OfficerAddress)}:device:${device.slice(at + 1)}:acked`;
    },
    /** hash: version, doc (the query record as JSON) */
    query: (query: string) => `${prefix}{q:${query}}`,
    /** list of timeline entries (JSON), oldest first */
    queryTimeline: (query: string) => `${prefix}{q:${query}}:timeline`,
    /** set of query ids whose requester or counterpart is of this agency */
    agencyQueries: (agency: string) => `${prefix}queries:agency:${agency}`,
    /** set of query ids an NCB is informed of */
    ncbQueries: (agency: string) => `${prefix}queries:ncb:${agency}`,
    /** set of query ids an NCB has not acknowledged yet */
    ncbPending: (agency: string) => `${prefix}queries:ncb:${agency}:pending`,
    /**
     * set of ids of open queries with an escalation or a reminder standing (PROTOCOL §6.7) for
     * people of this agency (the requester's, the NCBs informed); an id whose alerts are over
     * is taken out when found so, or when its query ends
     */
    queryAlerts: (agency: string) => `${prefix}queries:alerts:${agency}`,
    /** set of query ids filed through a central authority */
    authorityQueries: (agency: string) => `${prefix}queries:authority:${agency}`,
    /** stream: audit events as they happen (`e`: JSON), before the chainer chains them */
    auditStream: `${prefix}audit:stream`,
    /** list: the hash chain, one entry (JSON) per seq, seq 1 first */
    auditChain: `${prefix}audit:chain`,
    /** hash: seq, hash (of the last chained entry), cursor (its stream id), checkpointSeq, checkpointAt */
    auditHead: `${prefix}audit:head`,
    /** list: signed checkpoints (JSON) */
    auditCheckpoints: `${prefix}audit:checkpoints`,
    /** hash: stream id -> "seq hash", for the receipts of opened queries */
    auditReceipts: `${prefix}audit:receipts`,
    /** string: the token of the process that chains now */
    auditChainerLock: `${prefix}audit:chainer`,
    /** prefix of the BullMQ follow-up queue's keys, a hash tag (BullMQ's scripts span the queue's keys) */
    bullPrefix: `${prefix}{bull}`,
  };
}
export type RedisKeys = ReturnType<typeof redisKeys>;

/** `value` with Redis glob's special characters escaped, for SCAN MATCH. */
function globEscaped(value: string): string {
  return value.replace(/[*?[\]\\]/g, '\\$&');
}
