import {
  type DeviceId,
  type DeviceRef,
  DirectoryError,
  deviceIdSchema,
  type Identity,
  officerAddress,
  RequestError,
} from '@ncp-hub/protocol';
import type { ConversationService } from '../conversations/conversation-service.js';
import { noLongerPublished, nowInSeconds } from '../directory/device-rules.js';
import type { DirectoryService } from '../directory/directory-service.js';
import { conversationRoom, officerRoom, roleRoom } from './rooms.js';

/**
 * Who a connection is, resolved once at the handshake and handed to every event handler: the
 * verified identity, the device named in the handshake, and until when that device is published.
 */
export interface ConnectionContext {
  readonly identity: Identity;
  /** The device named in the handshake (`auth.device`); null for a session without one. */
  readonly device: DeviceRef | null;
  /**
   * When the device's attestation in the directory expires (seconds since the epoch), as the
   * handshake found it or as the device last published it; null when it is not published.
   * The stores check it again as they write (an attestation may expire meanwhile).
   */
  publishedUntil: number | null;
}

/**
 * What a client event needs of its connection (its table entry's `needs`): only a session, a
 * device (DEVICE_REQUIRED without one), or a device whose attestation is published and
 * unexpired (DEVICE_NOT_PUBLISHED before `directory:publish`, and once it expired).
 */
export type EventNeeds = 'session' | 'device' | 'published-device';

/** The device an event of `N` gets: a device for `device` and `published-device`, maybe none for `session`. */
export type DeviceOf<N extends EventNeeds> = N extends 'session' ? DeviceRef | null : DeviceRef;

/** The connection's device, or DEVICE_REQUIRED. */
function requireDevice(connection: ConnectionContext): DeviceRef {
  if (connection.device === null) {
    throw new DirectoryError('DEVICE_REQUIRED', 'connect with auth.device to use messaging');
  }
  return connection.device;
}

/** How each kind of need is met: the device it gives, or its refusal. */
const DEVICE_FOR: { readonly [N in EventNeeds]: (connection: ConnectionContext) => DeviceOf<N> } = {
  session: (connection) => connection.device,
  device: requireDevice,
  'published-device': (connection) => {
    const device = requireDevice(connection);
    if (connection.publishedUntil === null) {
      throw new DirectoryError('DEVICE_NOT_PUBLISHED', 'publish this device (directory:publish) first');
    }
    if (connection.publishedUntil <= nowInSeconds()) throw noLongerPublished();
    return device;
  },
};

/** The connection's device as an event of `needs` requires it, or DEVICE_REQUIRED / DEVICE_NOT_PUBLISHED. */
export function deviceFor<N extends EventNeeds>(connection: ConnectionContext, needs: N): DeviceOf<N> {
  return DEVICE_FOR[needs](connection);
}

/** The device id of a handshake's `auth.device`: null when absent, BAD_REQUEST when not a device id. */
export function handshakeDevice(device: unknown): DeviceId | null {
  if (device === undefined) return null;
  const parsed = deviceIdSchema.safeParse(device);
  if (!parsed.success) throw new RequestError('BAD_REQUEST', 'auth.device: 1-64 of A-Z, a-z, 0-9 and . _ -');
  return parsed.data;
}

/** A connection just admitted, and the Socket.IO rooms its socket belongs in. */
export interface OpenedConnection {
  connection: ConnectionContext;
  /** Its roles' rooms; with a device, its officer's room and its conversations' rooms too. */
  rooms: string[];
}

/**
 * Resolves a new connection's context: its device, until when that device is published, and the
 * rooms it joins. Called once per connection, at the handshake.
 */
export async function openConnection(
  identity: Identity,
  device: DeviceId | null,
  services: { conversations: ConversationService; directory: DirectoryService },
): Promise<OpenedConnection> {
  const roles = identity.roles.map((role) => roleRoom(identity.agency, role));
  if (device === null) return { connection: { identity, device: null, publishedUntil: null }, rooms: roles };
  const ref: DeviceRef = { agency: identity.agency, officer: identity.officer, device };
  const officer = officerAddress(ref);
  const [conversations, entry] = await Promise.all([
    services.conversations.idsOf(officer),
    services.directory.entry(ref),
  ]);
  return {
    connection: { identity, device: ref, publishedUntil: entry?.expiresAt ?? null },
    rooms: [...roles, officerRoom(officer), ...conversations.map(conversationRoom)],
  };
}
