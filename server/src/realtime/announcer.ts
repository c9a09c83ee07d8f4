import {
  type ConversationId,
  type ConversationInfo,
  type ConversationItem,
  type DeviceRef,
  EVENTS,
  type OfficerAddress,
  officerAddress,
  type SignedMembershipRecord,
} from '@ncp-hub/protocol';
import { conversationRoom, officerRoom } from './rooms.js';
import type { HubServer, HubSocket } from './socket-types.js';

/** A membership as it changed: what {@link Announcer.membership} tells and moves sockets by. */
export interface AnnouncedMembership {
  conversation: ConversationInfo;
  record: SignedMembershipRecord;
  /** Officers whose sockets join the conversation's room. */
  added: OfficerAddress[];
  /** Officers whose sockets leave it. */
  removed: OfficerAddress[];
}

/**
 * What event handlers push to other sockets, on every hub node (through the cluster adapter):
 * the one place that knows which rooms hear what.
 */
export interface Announcer {
  /** Joins the added members' sockets to the room, tells the room, then removes the removed members' sockets. */
  membership(change: AnnouncedMembership): void;
  /** A new message or receipt, to the conversation's other sockets. */
  item(item: ConversationItem): void;
  /**
   * An officer published a device: told to everyone who shares one of `conversations` and to
   * the officer's other devices (not to the publishing socket, which knows).
   */
  devicePublished(device: DeviceRef, conversations: readonly ConversationId[]): void;
}

/** The announcer of one socket's events. */
export function announcerFor(io: HubServer, socket: HubSocket): Announcer {
  return {
    membership({ conversation, record, added, removed }) {
      const room = conversationRoom(conversation.id);
      for (const member of added) io.in(officerRoom(member)).socketsJoin(room);
      io.to(room).emit(EVENTS.conversationUpdated, { conversation, record });
      for (const member of removed) io.in(officerRoom(member)).socketsLeave(room);
    },
    item(item) {
      socket.to(conversationRoom(item.conv)).emit(EVENTS.conversationItem, item);
    },
    devicePublished({ agency, officer, device }, conversations) {
      socket
        .to([officerRoom(officerAddress({ agency, officer })), ...conversations.map(conversationRoom)])
        .emit(EVENTS.directoryUpdated, { officer: { agency, officer }, device });
    },
  };
}
