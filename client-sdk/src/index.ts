// The SDK's public API. Node-only pieces (FileKeyStore) are in "@ncp-hub/client-sdk/node";
// the wire contract is in "@ncp-hub/client-sdk/protocol".

export type { HubClientOptions } from './client/hub-client.js';
export { HubClient } from './client/hub-client.js';
export type {
  Conversation,
  HubClientEvents,
  ReceivedMessage,
  VerifiedReceipt,
} from './client/hub-client-events.js';
export * from './crypto/index.js';
export * from './store/index.js';
export type { AgencyKeySet, TrustEvents } from './trust/trust-store.js';
