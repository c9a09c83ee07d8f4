import { type EnvelopeRecipient, safetyNumber } from '@ncp-hub/crypto';
import { type DeviceAttestation, decodeDeviceAttestation } from '@ncp-hub/keys/attestation';
import {
  type AgencyId,
  type DeviceAddress,
  type DeviceRef,
  deviceAddress,
  fromBase64url,
  MAX_DIRECTORY_OFFICERS,
  type OfficerAddress,
  type OfficerRef,
  officerAddress,
  parseOfficerAddress,
} from '@ncp-hub/protocol';

/** What the directory asks the hub: `directory:devices`, for some officers or one agency. */
export type DirectoryLookup = (
  query: { officers: OfficerRef[] } | { agency: AgencyId },
) => Promise<Record<OfficerAddress, string[]>>;

/** Decides which attestations to believe (the trust store). */
export interface DeviceVerifier {
  /** The attestation, verified for `officer`; rejects (and reports) one not to be believed. */
  verifyDevice(jws: string, officer: OfficerRef): Promise<DeviceAttestation>;
  /** The keys verified for a device before, if any. */
  knownDevice(device: DeviceRef): Promise<{ signingKey: string; encryptionKey: string } | undefined>;
  /** Checks the devices believed so far against their agencies' current key sets (reporting those revoked). */
  recheckAgencyKeys(): Promise<void>;
  /** Makes the next check fetch the agencies' key sets again. */
  agencyKeysStale(): void;
}

/** Why a device has no attested signing key: none in the directory, or one that does not verify. */
export type SenderKeyFailure = 'SENDER_UNKNOWN' | 'ATTESTATION_INVALID';

/** One officer's answer, and when it was fetched. */
interface CachedOfficer {
  attestations: string[];
  fetchedAt: number;
}

/**
 * Officers' devices as the hub's directory gives them, verified by the trust store.
 *
 * Answers are cached per officer for `refreshMs`, as an optimisation only: the hub announces
 * a newly published device (`directory:updated`, see {@link Directory.invalidate}) and
 * refuses a message that leaves out a current device (`RECIPIENTS_CHANGED`, upon which the
 * sender invalidates and looks again), so a stale entry costs a round trip, never a message.
 * Officers not cached are looked up together, in one `directory:devices` request per
 * {@link MAX_DIRECTORY_OFFICERS} officers.
 */
export class Directory {
  private readonly lookup: DirectoryLookup;
  private readonly verifier: DeviceVerifier;
  /** How long an answer is reused, in milliseconds (0: never). */
  private readonly refreshMs: number;
  private readonly now: () => number;
  readonly #cache = new Map<OfficerAddress, CachedOfficer>();
  /** Bumped by every invalidation: an answer to a look-up started before is not cached. */
  readonly #generation = new Map<OfficerAddress, number>();
  /** Bumped by {@link Directory.invalidateAll}, to the same end. */
  #epoch = 0;

  constructor(
    lookup: DirectoryLookup,
    verifier: DeviceVerifier,
    /** How long an answer is reused, in milliseconds (0: never). */
    refreshMs: number,
    now: () => number = Date.now,
  ) {
    this.lookup = lookup;
    this.verifier = verifier;
    this.refreshMs = refreshMs;
    this.now = now;
  }

  /** Forgets what is cached of these officers' devices: their next use looks them up again. */
  invalidate(officers: readonly OfficerRef[]): void {
    // A device published or withdrawn: the agency's keys may have changed with it (a key revoked).
    this.verifier.agencyKeysStale();
    for (const officer of officers) {
      const address = officerAddress(officer);
      this.#cache.delete(address);
      this.#generation.set(address, (this.#generation.get(address) ?? 0) + 1);
    }
  }

  /**
   * Forgets every cached answer: after the connection was lost, announcements may have been
   * missed while it was down.
   */
  invalidateAll(): void {
    this.verifier.agencyKeysStale();
    this.#cache.clear();
    this.#epoch += 1;
  }

  /** The attestations of `officers` (cached, or from one batched look-up; `fresh` skips the cache). */
  async attestationsOf(officers: readonly OfficerRef[], fresh = false): Promise<Map<OfficerAddress, string[]>> {
    const now = this.now();
    const wanted = [...new Set(officers.map(officerAddress))];
    const found = new Map<OfficerAddress, string[]>();
    const stale: OfficerAddress[] = [];
    for (const address of wanted) {
      const cached = this.#cache.get(address);
      if (!fresh && cached && now - cached.fetchedAt < this.refreshMs) found.set(address, cached.attestations);
      else stale.push(address);
    }
    for (let i = 0; i < stale.length; i += MAX_DIRECTORY_OFFICERS) {
      const batch = stale.slice(i, i + MAX_DIRECTORY_OFFICERS);
      const epoch = this.#epoch;
      const generations = batch.map((address) => this.#generation.get(address) ?? 0);
      const devices = await this.lookup({ officers: batch.map(parseOfficerAddress) });
      batch.forEach((address, index) => {
        const attestations = devices[address] ?? [];
        found.set(address, attestations);
        if (this.#epoch === epoch && (this.#generation.get(address) ?? 0) === generations[index]) {
          this.#cache.set(address, { attestations, fetchedAt: now });
        }
      });
    }
    // A refresh from the hub: the devices believed before are checked against the agencies' keys again.
    if (stale.length > 0) await this.verifier.recheckAgencyKeys();
    return new Map(wanted.map((address) => [address, found.get(address) ?? []]));
  }

  /** The devices of `officers` whose attestations verify; the others are reported by the verifier and left out. */
  async devicesOf(officers: readonly OfficerRef[], fresh = false): Promise<DeviceAttestation[]> {
    const verified: DeviceAttestation[] = [];
    for (const [address, attestations] of await this.attestationsOf(officers, fresh)) {
      verified.push(...(await this.#verify(parseOfficerAddress(address), attestations)));
    }
    return verified;
  }

  /** Every verified device of every member, except `exclude` (the sending device): whom to seal a message to. */
  async recipientsOf(members: readonly OfficerRef[], exclude: DeviceAddress): Promise<EnvelopeRecipient[]> {
    return (await this.devicesOf(members))
      .map((device) => ({ address: deviceAddress(device), encryptionKey: fromBase64url(device.encryptionKey) }))
      .filter((recipient) => recipient.address !== exclude);
  }

  /** The verified devices of every officer of an agency (an NCB's desks), asked of the hub each time. */
  async devicesOfAgency(agency: AgencyId): Promise<EnvelopeRecipient[]> {
    const devices = await this.lookup({ agency });
    await this.verifier.recheckAgencyKeys();
    const recipients: EnvelopeRecipient[] = [];
    for (const [address, attestations] of Object.entries(devices) as Array<[OfficerAddress, string[]]>) {
      for (const device of await this.#verify(parseOfficerAddress(address), attestations)) {
        recipients.push({ address: deviceAddress(device), encryptionKey: fromBase64url(device.encryptionKey) });
      }
    }
    return recipients;
  }

  /**
   * The officers of an agency with at least one device whose attestation verifies (asked of the
   * hub each time): whom a conversation can be started with. Sorted by officer id.
   */
  async officersOfAgency(agency: AgencyId): Promise<OfficerRef[]> {
    const devices = await this.lookup({ agency });
    await this.verifier.recheckAgencyKeys();
    const officers: OfficerRef[] = [];
    for (const [address, attestations] of Object.entries(devices) as Array<[OfficerAddress, string[]]>) {
      const officer = parseOfficerAddress(address);
      if (officer.agency !== agency) continue;
      if ((await this.#verify(officer, attestations)).length > 0) officers.push(officer);
    }
    return officers.sort((a, b) => (a.officer < b.officer ? -1 : a.officer > b.officer ? 1 : 0));
  }

  /**
   * The attested signing key of a device, or why there is none. A device not among the
   * cached ones is looked up again first: it may have been published since.
   */
  async senderKey(by: DeviceRef): Promise<{ key: Uint8Array } | { reason: SenderKeyFailure }> {
    let devices = await this.devicesOf([by]);
    if (!devices.some((d) => d.device === by.device)) devices = await this.devicesOf([by], true);
    const device = devices.find((d) => d.device === by.device);
    if (device) return { key: fromBase64url(device.signingKey) };
    const attestations = this.#cache.get(officerAddress(by))?.attestations ?? [];
    const claimed = attestations.some((jws) => claimedDevice(jws) === by.device);
    return { reason: claimed ? 'ATTESTATION_INVALID' : 'SENDER_UNKNOWN' };
  }

  /**
   * The signing key of the device that signed a membership record: its current attestation,
   * or else the key verified for it before (records stay verifiable after the device's
   * attestation has expired).
   */
  async signingKeyOf(by: DeviceRef): Promise<Uint8Array | undefined> {
    const key = await this.senderKey(by);
    if ('key' in key) return key.key;
    const known = await this.verifier.knownDevice(by);
    return known ? fromBase64url(known.signingKey) : undefined;
  }

  /** The signing keys of an officer's verified devices (for a safety number). */
  async signingKeysOf(officer: OfficerRef): Promise<Uint8Array[]> {
    return (await this.devicesOf([officer])).map((device) => fromBase64url(device.signingKey));
  }

  /** The safety number of two officers, over their verified devices' signing keys (docs/PROTOCOL.md §9.8). */
  async safetyNumber(one: OfficerRef, other: OfficerRef): Promise<string> {
    const side = async (officer: OfficerRef) => ({
      officer: officerAddress(officer),
      signingKeys: await this.signingKeysOf(officer),
    });
    const [mine, theirs] = await Promise.all([side(one), side(other)]);
    return safetyNumber(mine, theirs);
  }

  async #verify(officer: OfficerRef, attestations: readonly string[]): Promise<DeviceAttestation[]> {
    const verified: DeviceAttestation[] = [];
    for (const jws of attestations) {
      const device = await this.verifier.verifyDevice(jws, officer).catch(() => undefined);
      if (device) verified.push(device);
    }
    return verified;
  }
}

function claimedDevice(jws: string): string | undefined {
  try {
    return decodeDeviceAttestation(jws).device;
  } catch {
    return undefined;
  }
}
