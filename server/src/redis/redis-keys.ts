import type { ConversationId, DeviceAddress, OfficerAddress } from '@ncp-hub/client-sdk/protocol';

/**
 * Every Redis key the hub uses, in one place. A conversation's keys share the hash tag
 * `{c:<id>}`, so that the scripts touching them work on Redis Cluster too.
 */
export function redisKeys(prefix: string) {
  const conversation = (conv: ConversationId) => `${prefix}{c:${conv}}`;
  return {
    /** hash device -> JSON of the verified attestation */
    directory: (officer: OfficerAddress) => `${prefix}dir:${officer}`,
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
    officerConversations: (officer: OfficerAddress) => `${prefix}officer:${officer}:convs`,
    /** hash conversation id -> cursor acknowledged by the device */
    deviceAcks: (device: DeviceAddress) => `${prefix}device:${device}:acked`,
  };
}
export type RedisKeys = ReturnType<typeof redisKeys>;
