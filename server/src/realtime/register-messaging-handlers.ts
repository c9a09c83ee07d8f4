import {
  conversationAckSchema,
  conversationChangeSchema,
  conversationCreateSchema,
  conversationGetSchema,
  conversationListSchema,
  conversationSyncSchema,
  type DeviceRef,
  deviceAddress,
  directoryAgenciesSchema,
  directoryDevicesSchema,
  directoryPublishSchema,
  type Envelope,
  EVENTS,
  HubError,
  messageSendSchema,
  officerAddress,
  receiptSendSchema,
} from '@ncp-hub/protocol';
import type { ConversationService, MembershipChange } from '../conversations/conversation-service.js';
import type { DirectoryService } from '../directory/directory-service.js';
import type { Logger } from '../logger.js';
import type { MessageService } from '../messaging/message-service.js';
import type { RateLimiter } from '../messaging/rate-limiter.js';
import type { HubServer, HubSocket } from './create-socket-server.js';
import { handleEvent } from './handle-event.js';
import { conversationRoom, officerRoom, roleRoom } from './rooms.js';

/** The services behind the messaging events. */
export interface MessagingServices {
  directory: DirectoryService;
  conversations: ConversationService;
  messages: MessageService;
  rateLimiter: RateLimiter;
  /** Told of every new message, to notice a query's answer. */
  onMessageStored?: (envelope: Envelope) => Promise<void>;
}

/** The device of this connection, or DEVICE_REQUIRED. */
function deviceOf(socket: HubSocket): DeviceRef {
  const { identity, device } = socket.data;
  if (device === null) throw new HubError('DEVICE_REQUIRED', 'connect with auth.device to use messaging');
  return { agency: identity.agency, officer: identity.officer, device };
}

/** The device of this connection, which must have published its attestation. */
export function publishedDeviceOf(socket: HubSocket): DeviceRef {
  const device = deviceOf(socket);
  if (!socket.data.published) {
    throw new HubError('DEVICE_NOT_PUBLISHED', 'publish this device (directory:publish) first');
  }
  return device;
}

/**
 * Joins a device socket to its officer's room and its conversations' rooms, and learns
 * whether its attestation is published. Called once per connection.
 */
export async function joinRooms(socket: HubSocket, services: MessagingServices): Promise<void> {
  const { device, identity } = socket.data;
  socket.join(identity.roles.map((role) => roleRoom(identity.agency, role)));
  if (device === null) return;
  const ref = deviceOf(socket);
  const officer = officerAddress(ref);
  const [conversations, entry] = await Promise.all([
    services.conversations.idsOf(officer),
    services.directory.entry(ref),
  ]);
  socket.data.published = entry !== undefined;
  socket.join([officerRoom(officer), ...conversations.map(conversationRoom)]);
}

/** Registers the directory, conversation and message events on one socket. */
export function registerMessagingHandlers(
  io: HubServer,
  socket: HubSocket,
  services: MessagingServices,
  logger: Logger,
): void {
  const { directory, conversations, messages, rateLimiter } = services;
  const { identity } = socket.data;

  const announce = (change: MembershipChange) => {
    const room = conversationRoom(change.conversation.id);
    for (const member of change.added) io.in(officerRoom(member)).socketsJoin(room);
    io.to(room).emit(EVENTS.conversationUpdated, { conversation: change.conversation, record: change.record });
    for (const member of change.removed) io.in(officerRoom(member)).socketsLeave(room);
    return { conversation: change.conversation };
  };

  socket.on(
    EVENTS.directoryPublish,
    handleEvent(
      EVENTS.directoryPublish,
      directoryPublishSchema,
      async ({ attestation }) => {
        const device = deviceOf(socket);
        const entry = await directory.publish(identity, device.device, attestation);
        socket.data.published = true;
        return { device: deviceAddress(device), expiresAt: entry.expiresAt };
      },
      logger,
    ),
  );

  socket.on(
    EVENTS.directoryDevices,
    handleEvent(
      EVENTS.directoryDevices,
      directoryDevicesSchema,
      async (query) => ({
        devices:
          'agency' in query ? await directory.devicesOfAgency(query.agency) : await directory.devicesOf(query.officers),
      }),
      logger,
    ),
  );

  socket.on(
    EVENTS.directoryAgencies,
    handleEvent(EVENTS.directoryAgencies, directoryAgenciesSchema, () => ({ agencies: directory.agencies() }), logger),
  );

  socket.on(
    EVENTS.conversationCreate,
    handleEvent(
      EVENTS.conversationCreate,
      conversationCreateSchema,
      async ({ record }) => {
        const device = publishedDeviceOf(socket);
        rateLimiter.take(officerAddress(device));
        return announce(await conversations.create(device, record));
      },
      logger,
    ),
  );

  socket.on(
    EVENTS.conversationChange,
    handleEvent(
      EVENTS.conversationChange,
      conversationChangeSchema,
      async ({ record }) => {
        const device = publishedDeviceOf(socket);
        rateLimiter.take(officerAddress(device));
        return announce(await conversations.change(device, record));
      },
      logger,
    ),
  );

  socket.on(
    EVENTS.conversationList,
    handleEvent(
      EVENTS.conversationList,
      conversationListSchema,
      async () => {
        const device = deviceOf(socket);
        const ids = await conversations.idsOf(officerAddress(device));
        return { conversations: await conversations.getMany(ids, deviceAddress(device)) };
      },
      logger,
    ),
  );

  socket.on(
    EVENTS.conversationGet,
    handleEvent(
      EVENTS.conversationGet,
      conversationGetSchema,
      async ({ conv }) => {
        const device = deviceOf(socket);
        await conversations.assertMember(conv, officerAddress(device));
        return { conversation: await conversations.get(conv, deviceAddress(device)) };
      },
      logger,
    ),
  );

  socket.on(
    EVENTS.messageSend,
    handleEvent(
      EVENTS.messageSend,
      messageSendSchema,
      async ({ envelope }) => {
        const device = publishedDeviceOf(socket);
        if (deviceAddress(envelope.header.from) !== deviceAddress(device)) {
          throw new HubError('SENDER_MISMATCH', "header.from must be this connection's device");
        }
        if (envelope.header.kind !== 'chat') {
          throw new HubError(
            'BAD_REQUEST',
            'header.kind: message:send carries chat messages; a query is opened with query:open',
          );
        }
        rateLimiter.take(officerAddress(device));
        const { item, duplicate } = await messages.storeEnvelope(envelope);
        if (!duplicate) {
          socket.to(conversationRoom(item.conv)).emit(EVENTS.conversationItem, item);
          services
            .onMessageStored?.(envelope)
            .catch((error: unknown) => logger.error({ err: error, conv: item.conv }, 'noting a stored message failed'));
        }
        return { cursor: item.cursor, duplicate };
      },
      logger,
    ),
  );

  socket.on(
    EVENTS.receiptSend,
    handleEvent(
      EVENTS.receiptSend,
      receiptSendSchema,
      async ({ receipt }) => {
        const device = publishedDeviceOf(socket);
        if (deviceAddress(receipt.receipt.by) !== deviceAddress(device)) {
          throw new HubError('SENDER_MISMATCH', "receipt.by must be this connection's device");
        }
        rateLimiter.take(officerAddress(device));
        const { item } = await messages.storeReceipt(receipt);
        socket.to(conversationRoom(item.conv)).emit(EVENTS.conversationItem, item);
        return { cursor: item.cursor };
      },
      logger,
    ),
  );

  socket.on(
    EVENTS.conversationSync,
    handleEvent(
      EVENTS.conversationSync,
      conversationSyncSchema,
      async ({ conv, after, limit }) => {
        await conversations.assertMember(conv, officerAddress(deviceOf(socket)));
        return messages.itemsAfter(conv, after, limit ?? 100);
      },
      logger,
    ),
  );

  socket.on(
    EVENTS.conversationAck,
    handleEvent(
      EVENTS.conversationAck,
      conversationAckSchema,
      async ({ conv, cursor }) => {
        const device = deviceOf(socket);
        await conversations.assertMember(conv, officerAddress(device));
        return { acked: await messages.acknowledge(deviceAddress(device), conv, cursor) };
      },
      logger,
    ),
  );
}
