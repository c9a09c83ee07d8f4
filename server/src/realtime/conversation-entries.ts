import {
  ConversationError,
  DEFAULT_SYNC_LIMIT,
  type DeviceRef,
  deviceAddress,
  officerAddress,
  RequestError,
  type SignedMembershipRecord,
} from '@ncp-hub/protocol';
import type { MembershipChange } from '../conversations/conversation-service.js';
import type { EventEntries, EventEntry, RealtimeServices, RelayCounters } from './event-entry.js';

type ConversationEvent =
  | 'conversation:create'
  | 'conversation:change'
  | 'conversation:list'
  | 'conversation:get'
  | 'message:send'
  | 'receipt:send'
  | 'conversation:sync'
  | 'conversation:ack';

/** A membership event: the change, made with a signed record by a published device, and announced. */
function membershipEntry(
  apply: (device: DeviceRef, record: SignedMembershipRecord) => Promise<MembershipChange>,
): EventEntry<'conversation:create' | 'conversation:change', 'published-device'> {
  return {
    needs: 'published-device',
    limit: 'write',
    async handle({ record }, { device, announce }) {
      const change = await apply(device, record);
      announce.membership(change);
      return { conversation: change.conversation };
    },
  };
}

/** The conversation events: membership, messages and receipts, sync and acknowledgement. */
export function conversationEntries(
  services: Pick<RealtimeServices, 'conversations' | 'messages' | 'queries' | 'logger'>,
  counters?: RelayCounters,
): EventEntries<ConversationEvent> {
  const { conversations, messages, queries, logger } = services;
  return {
    'conversation:create': membershipEntry((device, record) => conversations.create(device, record)),
    'conversation:change': membershipEntry((device, record) => conversations.change(device, record)),
    'conversation:list': {
      needs: 'device',
      limit: 'read',
      async handle(_payload, { device }) {
        const ids = await conversations.idsOf(officerAddress(device));
        return { conversations: await conversations.getMany(ids, deviceAddress(device)) };
      },
    },
    'conversation:get': {
      needs: 'device',
      limit: 'read',
      async handle({ conv }, { device }) {
        await conversations.assertMember(conv, officerAddress(device));
        return { conversation: await conversations.get(conv, deviceAddress(device)) };
      },
    },
    'message:send': {
      needs: 'published-device',
      limit: 'write',
      async handle({ envelope }, { device, announce }) {
        if (deviceAddress(envelope.header.from) !== deviceAddress(device)) {
          throw new ConversationError('SENDER_MISMATCH', "header.from must be this connection's device");
        }
        if (envelope.header.kind !== 'chat') {
          throw new RequestError(
            'BAD_REQUEST',
            'header.kind: message:send carries chat messages; a query is opened with query:open',
          );
        }
        const { item, duplicate } = await messages.storeEnvelope(envelope);
        // With DURABILITY=replicated a first try refused REPLICATION_TIMEOUT may have stored the
        // message unannounced: its retry, a duplicate, announces it (recipients drop duplicates by id).
        if (!duplicate || messages.announcesDuplicates) {
          if (!duplicate) counters?.messagesRelayed.inc();
          announce.item(item);
          queries
            .noteMessage(envelope)
            .catch((error: unknown) => logger.error({ err: error, conv: item.conv }, 'noting a stored message failed'));
        }
        return { cursor: item.cursor, duplicate };
      },
    },
    'receipt:send': {
      needs: 'published-device',
      limit: 'write',
      async handle({ receipt }, { device, announce }) {
        if (deviceAddress(receipt.receipt.by) !== deviceAddress(device)) {
          throw new ConversationError('SENDER_MISMATCH', "receipt.by must be this connection's device");
        }
        const { item } = await messages.storeReceipt(receipt);
        counters?.receiptsRelayed.inc();
        announce.item(item);
        return { cursor: item.cursor };
      },
    },
    'conversation:sync': {
      needs: 'device',
      limit: 'read',
      async handle({ conv, after, limit }, { device }) {
        await conversations.assertMember(conv, officerAddress(device));
        return messages.itemsAfter(conv, after, limit ?? DEFAULT_SYNC_LIMIT);
      },
    },
    'conversation:ack': {
      needs: 'device',
      // Follows reading: one per conversation a device has received items of.
      limit: 'read',
      async handle({ conv, cursor }, { device }) {
        await conversations.assertMember(conv, officerAddress(device));
        return { acked: await messages.acknowledge(deviceAddress(device), conv, cursor) };
      },
    },
  };
}
