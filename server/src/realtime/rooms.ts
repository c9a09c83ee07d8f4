import type { ConversationId, OfficerAddress } from '@ncp-hub/client-sdk/protocol';

/** Socket.IO room of every device socket of one officer. */
export const officerRoom = (officer: OfficerAddress) => `officer:${officer}`;
/** Socket.IO room of every device socket of a conversation's members. */
export const conversationRoom = (conv: ConversationId) => `conv:${conv}`;
