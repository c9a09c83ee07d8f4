import type { EnvelopeRecipient } from '@ncp-hub/crypto';
import { type DeviceAddress, HubError, type OfficerAddress, type OfficerRef } from '@ncp-hub/protocol';

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
  /**
   * The members as they are now, asked after a refusal: a member may have been added since
   * `members` were taken (the conversation's membership is fetched and verified again). When
   * absent, `members` stay (a conversation the hub does not have yet, e.g. a query's).
   */
  currentMembers?: () => Promise<readonly OfficerRef[]>;
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
 * a member has published, and names those devices (`missing`); the members are then taken
 * again (`currentMembers`: one may have been added since), the officers of the missing
 * devices (all the members, when the hub names none) looked up again, and the same message
 * sealed to them and sent again, up to `maxResends` times. The hub's error is rethrown once
 * the resends are used up, or when looking again changes nothing (e.g. the missing device's
 * attestation does not verify here, so it will never be a recipient).
 *
 * @example
 * ```ts
 * const { cursor } = await sendToCurrentDevices({
 *   members: conversation.members,
 *   currentMembers: async () => (await conversations.refresh(conversation.id)).members,
 *   exclude: device.address,
 *   directory,
 *   attempt: async (recipients) => hub.request('message:send', { envelope: await seal(recipients) }),
 * });
 * ```
 */
export async function sendToCurrentDevices<T>(input: SendToCurrentDevicesInput<T>): Promise<T> {
  const { exclude, directory, attempt, currentMembers, maxResends = MAX_RESENDS } = input;
  let members = input.members;
  let recipients = await directory.recipientsOf(members, exclude);
  for (let resends = 0; ; resends++) {
    try {
      return await attempt(recipients);
    } catch (error) {
      if (!(error instanceof HubError) || error.code !== 'RECIPIENTS_CHANGED' || resends >= maxResends) throw error;
      if (currentMembers) members = await currentMembers();
      const changed = officersOf(error.missing ?? []);
      directory.invalidate(changed.length > 0 ? changed : members);
      const current = await directory.recipientsOf(members, exclude);
      if (sameAddresses(current, recipients)) throw error;
      recipients = current;
    }
  }
}

/** The officers of device addresses (`AGENCY/officer/device`), each once; what is not one is left out. */
function officersOf(devices: readonly string[]): OfficerRef[] {
  const officers = new Map<OfficerAddress, OfficerRef>();
  for (const device of devices) {
    const [agency, officer, id] = device.split('/');
    if (agency && officer && id) officers.set(`${agency}/${officer}`, { agency, officer });
  }
  return [...officers.values()];
}

function sameAddresses(a: readonly EnvelopeRecipient[], b: readonly EnvelopeRecipient[]): boolean {
  const left = new Set(a.map((r) => r.address));
  return left.size === new Set(b.map((r) => r.address)).size && b.every((r) => left.has(r.address));
}
