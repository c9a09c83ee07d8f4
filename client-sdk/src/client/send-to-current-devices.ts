import type { EnvelopeRecipient } from '@ncp-hub/crypto';
import { type DeviceAddress, HubError, type OfficerRef } from '@ncp-hub/protocol';

/** How many times a message refused with `RECIPIENTS_CHANGED` is sealed again and re-sent. */
export const MAX_RESENDS = 2;

/** Where the devices of the members come from (the directory). */
export interface RecipientSource {
  recipientsOf(members: readonly OfficerRef[], exclude: DeviceAddress): Promise<EnvelopeRecipient[]>;
  invalidate(members: readonly OfficerRef[]): void;
}

/** What {@link sendToCurrentDevices} needs. */
export interface SendToCurrentDevicesInput<T> {
  /** The members of the conversation. */
  members: readonly OfficerRef[];
  /** The sending device, never a recipient. */
  exclude: DeviceAddress;
  directory: RecipientSource;
  /** Seals the message (the same id and seq each time) to `recipients` and sends it. */
  attempt: (recipients: EnvelopeRecipient[]) => Promise<T>;
  /** @defaultValue {@link MAX_RESENDS} */
  maxResends?: number;
}

/**
 * Sends a message to the current devices of a conversation's members. The hub refuses, with
 * `RECIPIENTS_CHANGED` (and stores nothing), a message whose `header.to` leaves out a device
 * a member has published; the members' devices are then looked up again and the same
 * message sealed to them and sent again, up to `maxResends` times. The hub's error is
 * rethrown once the resends are used up, or when looking again changes nothing (e.g. the
 * missing device's attestation does not verify here, so it will never be a recipient).
 *
 * @example
 * ```ts
 * const { cursor } = await sendToCurrentDevices({
 *   members: conversation.members,
 *   exclude: device.address,
 *   directory,
 *   attempt: async (recipients) => hub.request('message:send', { envelope: await seal(recipients) }),
 * });
 * ```
 */
export async function sendToCurrentDevices<T>(input: SendToCurrentDevicesInput<T>): Promise<T> {
  const { members, exclude, directory, attempt, maxResends = MAX_RESENDS } = input;
  let recipients = await directory.recipientsOf(members, exclude);
  for (let resends = 0; ; resends++) {
    try {
      return await attempt(recipients);
    } catch (error) {
      if (!(error instanceof HubError) || error.code !== 'RECIPIENTS_CHANGED' || resends >= maxResends) throw error;
      directory.invalidate(members);
      const current = await directory.recipientsOf(members, exclude);
      if (sameAddresses(current, recipients)) throw error;
      recipients = current;
    }
  }
}

function sameAddresses(a: readonly EnvelopeRecipient[], b: readonly EnvelopeRecipient[]): boolean {
  const left = new Set(a.map((r) => r.address));
  return left.size === new Set(b.map((r) => r.address)).size && b.every((r) => left.has(r.address));
}
