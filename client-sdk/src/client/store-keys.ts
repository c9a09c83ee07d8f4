import type { AgencyId, ConversationId, DeviceAddress, DeviceId, OfficerAddress, QueryId } from '@ncp-hub/protocol';

/**
 * Every key the SDK writes to a device's key store, in one place (as the hub keeps its
 * Redis keys in `redis-keys.ts`). The names are part of what a device has stored: changing
 * one loses that state on every device, so they only ever get added to.
 */
export const STORE_KEYS = {
  /** This device's secret keys (`StoredDeviceKeys`). */
  deviceKeys: (device: DeviceId) => `device:${device}`,
  /** The last sequence number this device used in a conversation. */
  sendSequence: (conv: ConversationId) => `seq:${conv}`,
  /**
   * What this device received in a conversation: the recent ids, and per sender device the
   * highest sequence number delivered and the gaps below it (`last` and `missing` in SDK 0.1).
   */
  receiveState: (conv: ConversationId) => `recv:${conv}`,
  /**
   * The longest membership chain this device verified in a conversation (`KnownChain`: its
   * length, head hash and members): a chain the hub gives later must extend it.
   */
  knownChain: (conv: ConversationId) => `chain:${conv}`,
  /** The ids of the events of a query this device has delivered to the application (at most 1,000, the latest). */
  queryEvents: (query: QueryId) => `qevents:${query}`,
  /** An agency's keys as trusted on first use. */
  agencyKeys: (agency: AgencyId) => `trust:agency:${agency}`,
  /** The keys this client verified for a device; a device's keys never change. */
  knownDevice: (device: DeviceAddress) => `trust:device:${device}`,
  /** The devices of an officer this client has verified, in the order first seen. */
  officerDevices: (officer: OfficerAddress) => `trust:officer:${officer}`,
} as const;
