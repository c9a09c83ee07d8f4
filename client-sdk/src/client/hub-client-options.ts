import type { AgencyId, DeviceId } from '@ncp-hub/protocol';
import type { ManagerOptions, SocketOptions } from 'socket.io-client';
import type { KeyStore } from '../store/key-store.js';
import type { AgencyKeySet } from '../trust/trust-store.js';

/** Options of {@link HubClient.create}. */
export interface HubClientOptions {
  /** The hub, e.g. `https://hub.example` or `http://127.0.0.1:8080`. */
  url: string;
  /** The officer token, or a function giving a fresh one at every (re)connection. */
  token: string | (() => string | Promise<string>);
  /** This device's id, unique among the officer's devices. */
  device: DeviceId;
  /** Where the device keeps its keys and state (MemoryKeyStore, FileKeyStore, IndexedDbKeyStore). */
  store: KeyStore;
  /**
   * Agency keys the application pins (agency id -> JWKS). Attestations of these agencies are
   * verified against these keys only; other agencies are trusted on first use.
   * @defaultValue `{}`
   */
  pinnedAgencyKeys?: Record<AgencyId, AgencyKeySet>;
  /**
   * Send a signed delivery receipt for every message received (the SDK does it by itself,
   * shortly after the message event).
   * @defaultValue true
   */
  deliveryReceipts?: boolean;
  /**
   * How long {@link HubClient.connect} tries to reach the hub before it rejects with
   * `HUB_UNREACHABLE`, in milliseconds.
   * @defaultValue 10000
   */
  connectTimeoutMs?: number;
  /**
   * How long to wait for the hub's answer to a request before it rejects with
   * `REQUEST_TIMEOUT`, in milliseconds.
   * @defaultValue 10000
   */
  requestTimeoutMs?: number;
  /**
   * How many requests may wait for the hub's answer at once; more wait their turn in the
   * client. Keep it at or below the hub's `MAX_CONCURRENT_REQUESTS_PER_SOCKET` (default 32),
   * past which the hub refuses with `RATE_LIMITED`.
   * @defaultValue 16
   */
  maxConcurrentRequests?: number;
  /**
   * How long answers of the hub's directory (officers' devices, agencies' keys) are reused
   * before asking again, in milliseconds. An optimisation only: a device published since is
   * announced by the hub, and a message that leaves it out is refused and sealed again.
   * @defaultValue 30000
   */
  directoryRefreshMs?: number;
  /**
   * How long before this device's attestation expires `attestationExpiring` is emitted, so
   * that the agency can attest the device again in time, in milliseconds.
   * @defaultValue 86400000 (24 hours)
   */
  attestationWarningMs?: number;
  /**
   * How many message ids per conversation are remembered, besides each sender's sequence
   * numbers (which drop a duplicate however late it comes).
   * @defaultValue 5000
   * @internal For tests: a small window shows that duplicates are dropped beyond it.
   */
  recentMessageIds?: number;
  /** Extra Socket.IO client options (transports, reconnection delays ...). */
  socket?: Partial<ManagerOptions & SocketOptions>;
}

/** {@link HubClientOptions.connectTimeoutMs} when not given. */
export const DEFAULT_CONNECT_TIMEOUT_MS = 10_000;
/** {@link HubClientOptions.requestTimeoutMs} when not given. */
export const DEFAULT_REQUEST_TIMEOUT_MS = 10_000;
/** {@link HubClientOptions.maxConcurrentRequests} when not given. */
export const DEFAULT_MAX_CONCURRENT_REQUESTS = 16;
/** {@link HubClientOptions.directoryRefreshMs} when not given. */
export const DEFAULT_DIRECTORY_REFRESH_MS = 30_000;
/** {@link HubClientOptions.attestationWarningMs} when not given. */
export const DEFAULT_ATTESTATION_WARNING_MS = 86_400_000;
