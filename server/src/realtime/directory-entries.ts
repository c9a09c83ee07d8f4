import { deviceAddress, officerAddress } from '@ncp-hub/protocol';
import type { EventEntries, RealtimeServices } from './event-entry.js';

/** The directory events: publishing a device, looking devices and agencies up. */
export function directoryEntries(
  services: Pick<RealtimeServices, 'directory' | 'conversations'>,
): EventEntries<'directory:publish' | 'directory:devices' | 'directory:agencies'> {
  const { directory, conversations } = services;
  return {
    'directory:publish': {
      needs: 'device',
      limit: 'write',
      async handle({ attestation }, { identity, device, connection, announce }) {
        const { entry, changed } = await directory.publish(identity, device.device, attestation);
        connection.publishedUntil = entry.expiresAt;
        // Everyone who shares a conversation with the officer drops what they cached of its devices.
        if (changed) announce.devicePublished(device, await conversations.idsOf(officerAddress(device)));
        return { device: deviceAddress(device), expiresAt: entry.expiresAt };
      },
    },
    'directory:devices': {
      needs: 'session',
      limit: 'read',
      async handle(query) {
        return {
          devices:
            'agency' in query
              ? await directory.devicesOfAgency(query.agency)
              : await directory.devicesOf(query.officers),
        };
      },
    },
    'directory:agencies': { needs: 'session', limit: 'read', handle: () => ({ agencies: directory.agencies() }) },
  };
}
