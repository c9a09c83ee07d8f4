import type { KeyStore } from '@ncp-hub/client-sdk';
import { HubClient, type HubClientEvents, MemoryKeyStore } from '@ncp-hub/client-sdk';
import { issueDeviceAttestation } from '@ncp-hub/keys';
import type { Role } from '@ncp-hub/protocol';
import { type TestAgency, tokenFor } from './agencies.js';
import { waitFor } from './wait-for.js';

const clients = new Set<HubClient>();
const history = new WeakMap<HubClient, Map<keyof HubClientEvents, unknown[]>>();

const RECORDED_EVENTS: Array<keyof HubClientEvents> = [
  'ready',
  'message',
  'undecryptable',
  'duplicate',
  'gap',
  'reordered',
  'receipt',
  'receiptRejected',
  'membership',
  'membershipInvalid',
  'membershipMismatch',
  'agencyKeysChanged',
  'deviceAdded',
  'deviceRejected',
  'query',
  'error',
];

/** Options of {@link connectDevice}. */
export interface DeviceOptions {
  device?: string;
  store?: KeyStore;
  /** Pin these agencies' keys instead of trusting them on first use. */
  pin?: TestAgency[];
  /** Skip publishing the attestation. */
  unpublished?: boolean;
  /** See HubClientOptions.directoryRefreshMs. */
  directoryRefreshMs?: number;
  /** Roles in the officer's token (default: the agency kind's usual role). */
  roles?: Role[];
  /** See HubClientOptions.requestTimeoutMs. */
  requestTimeoutMs?: number;
}

/**
 * A real SDK client of an officer's device: keys made on the device, a token and an
 * attestation from the officer's agency, connected and published.
 */
export async function connectDevice(
  url: string,
  agency: TestAgency,
  officer: string,
  options: DeviceOptions = {},
): Promise<HubClient> {
  const device = options.device ?? 'device-1';
  const client = await HubClient.create({
    url,
    token: () => tokenFor(agency, { officer, ...(options.roles ? { roles: options.roles } : {}) }),
    device,
    store: options.store ?? new MemoryKeyStore(),
    ...(options.pin
      ? { pinnedAgencyKeys: Object.fromEntries(options.pin.map((a) => [a.id, { keys: [a.key.publicJwk] }])) }
      : {}),
    ...(options.directoryRefreshMs === undefined ? {} : { directoryRefreshMs: options.directoryRefreshMs }),
    ...(options.requestTimeoutMs === undefined ? {} : { requestTimeoutMs: options.requestTimeoutMs }),
    socket: { reconnectionDelay: 100, reconnectionDelayMax: 500 },
  });
  clients.add(client);
  const log = new Map<keyof HubClientEvents, unknown[]>();
  for (const event of RECORDED_EVENTS) {
    const seen: unknown[] = [];
    log.set(event, seen);
    client.on(event, ((value: unknown) => seen.push(value)) as HubClientEvents[typeof event]);
  }
  history.set(client, log);
  await client.connect();
  if (!options.unpublished) {
    const { encryptionKey, signingKey } = client.publicKeys();
    await client.publishDevice(
      await issueDeviceAttestation({
        agency: agency.id,
        officer,
        device,
        encryptionKey,
        signingKey,
        privateJwk: agency.key.privateJwk,
      }),
    );
  }
  return client;
}

/** Every emission of an event since the client was created (connection and first sync included). */
export function recorded<E extends keyof HubClientEvents>(
  client: HubClient,
  event: E,
): Array<Parameters<HubClientEvents[E]>[0]> {
  return (history.get(client)?.get(event) ?? []) as Array<Parameters<HubClientEvents[E]>[0]>;
}

/** Records every emission of an event from now on, for assertions. */
export function record<E extends keyof HubClientEvents>(
  client: HubClient,
  event: E,
): Array<Parameters<HubClientEvents[E]>[0]> {
  const seen: Array<Parameters<HubClientEvents[E]>[0]> = [];
  client.on(event, ((value: Parameters<HubClientEvents[E]>[0]) => seen.push(value)) as HubClientEvents[E]);
  return seen;
}

/** Waits until `list` has at least `count` entries and returns them. */
export async function waitForCount<T>(list: T[], count: number, timeoutMs = 10_000): Promise<T[]> {
  await waitFor(() => list.length >= count, timeoutMs, 20);
  return list;
}

/** Closes every client the helpers opened. */
export async function closeAllClients(): Promise<void> {
  await Promise.all([...clients].map((client) => client.close()));
  clients.clear();
}
