import type { ConversationId, DeviceAddress, OfficerAddress, Role } from '@ncp-hub/protocol';

/** Socket.IO room of every device socket of one officer. */
export const officerRoom = (officer: OfficerAddress) => `officer:${officer}`;
/** Socket.IO room of every device socket of a conversation's members. */
export const conversationRoom = (conv: ConversationId) => `conv:${conv}`;
/** Socket.IO room of every socket of an agency's users with a role. */
export const roleRoom = (agency: string, role: Role) => `role:${agency}:${role}`;
/** Socket.IO room of every socket of one officer, with a device or without (its revocation closes them all). */
export const sessionRoom = (officer: OfficerAddress) => `session:${officer}`;
/** Socket.IO room of the sockets of one device (its revocation closes them). */
export const deviceRoom = (device: DeviceAddress) => `device:${device}`;
