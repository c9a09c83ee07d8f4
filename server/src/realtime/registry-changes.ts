import type { RegistryChanges } from '@ncp-hub/keys';
import { type DeviceAddress, deviceAddress, EVENTS, type OfficerAddress, officerAddress } from '@ncp-hub/protocol';
import { answerableError } from '../answerable-error.js';
import type { Withdrawal } from '../directory/directory-service.js';
import type { Authenticator } from '../identity/authenticate.js';
import type { Logger } from '../logger.js';
import type { RealtimeServices } from './event-entry.js';
import { conversationRoom, deviceRoom, officerRoom, sessionRoom } from './rooms.js';
import type { HubServer } from './socket-types.js';

/** What {@link applyRegistryChanges} works with. */
export interface RegistryChangeDependencies {
  authenticator: Authenticator;
  logger: Logger;
  services: Pick<RealtimeServices, 'directory' | 'conversations'>;
}

/** The rooms a session joins for its identity: its officer's sessions, and its device's. */
export function identityRooms(officer: OfficerAddress, device: DeviceAddress | null): string[] {
  return device === null ? [sessionRoom(officer)] : [sessionRoom(officer), deviceRoom(device)];
}

/**
 * What a reload of the trust registry changes for the sessions and the directory, on this
 * node and, through the cluster adapter, on every other:
 *
 * - every socket of this node is checked again (its token against the agency's keys, its
 *   officer and device against the revocations) and one now refused is told `session:expired`
 *   with the refusal's code and disconnected;
 * - the sockets of an officer or a device newly revoked are told and closed on every node at
 *   once (`AUTH_OFFICER_REVOKED`, `AUTH_DEVICE_REVOKED`), before the other nodes' own reloads;
 * - the directory entries of every changed agency are checked again and those the registry no
 *   longer vouches for withdrawn, each announced (`directory:updated`) to the officer's other
 *   devices and to everyone who shares a conversation with the officer.
 */
export function applyRegistryChanges(io: HubServer, deps: RegistryChangeDependencies, changes: RegistryChanges): void {
  const { authenticator, logger } = deps;
  for (const socket of io.of('/').sockets.values()) {
    const { identity, device } = socket.data.connection;
    authenticator.verifySession(socket.data.token, device?.device ?? null).catch((error: unknown) => {
      const body = answerableError(error, logger, 'checking a session again failed').toBody();
      logger.info({ agency: identity.agency, code: body.code }, 'session ended by a registry change');
      socket.emit(EVENTS.sessionExpired, body);
      socket.disconnect(true);
    });
  }
  const end = (room: string, code: 'AUTH_OFFICER_REVOKED' | 'AUTH_DEVICE_REVOKED', message: string) => {
    io.in(room).emit(EVENTS.sessionExpired, { code, message });
    io.in(room).disconnectSockets(true);
  };
  for (const officer of changes.revokedOfficers) {
    end(sessionRoom(officer as OfficerAddress), 'AUTH_OFFICER_REVOKED', 'the agency has revoked this officer');
  }
  for (const device of changes.revokedDevices) {
    end(deviceRoom(device as DeviceAddress), 'AUTH_DEVICE_REVOKED', 'the agency has revoked this device');
  }
  if (changes.agencies.length === 0) return;
  void withdrawDevices(io, deps, () => deps.services.directory.recheck(changes.agencies));
}

/**
 * At a node's start, checks the whole directory against the registry in force (which may have
 * changed while no node ran) and withdraws and announces as a reload would. In the background:
 * the node serves meanwhile.
 */
export function recheckDirectoryAtStart(io: HubServer, deps: RegistryChangeDependencies): void {
  void withdrawDevices(io, deps, () => deps.services.directory.recheckAll());
}

/** Withdraws the devices the registry no longer vouches for (`recheck` finds them), and announces each. */
async function withdrawDevices(
  io: HubServer,
  { services, logger }: RegistryChangeDependencies,
  recheck: () => Promise<Withdrawal[]>,
): Promise<void> {
  try {
    for (const { device, reason } of await recheck()) {
      const officer = officerAddress(device);
      logger.info(
        { device: deviceAddress(device), reason },
        'device withdrawn from the directory by a registry change',
      );
      const conversations = await services.conversations.idsOf(officer);
      io.to([officerRoom(officer), ...conversations.map(conversationRoom)]).emit(EVENTS.directoryUpdated, {
        officer: { agency: device.agency, officer: device.officer },
        device: device.device,
      });
    }
  } catch (error) {
    logger.error({ err: error }, 'checking the directory against the reloaded registry failed');
  }
}
