import { type DeviceAttestation, decodeDeviceAttestation, verifyDeviceAttestation } from '@ncp-hub/keys/attestation';
import {
  type AgencyId,
  UndecryptableError as CryptoCheckError,
  type DeviceAddress,
  type DeviceRef,
  type DirectoryAgency,
  deviceAddress,
  type OfficerAddress,
  officerAddress,
} from '@ncp-hub/protocol';
import { decodeProtectedHeader, type JWK } from 'jose';
import { STORE_KEYS } from '../client/store-keys.js';
import type { KeyStore } from '../store/key-store.js';

/** A set of public agency keys (JWKS). */
export interface AgencyKeySet {
  keys: JWK[];
}

/** Why a device's attestation is refused (see {@link TrustEvents.deviceRejected}). */
export type DeviceRejectionReason = 'ATTESTATION_INVALID' | 'KEY_CHANGED' | 'KEY_REVOKED';

/** What the trust store tells the application about. */
export interface TrustEvents {
  /**
   * An agency's keys, trusted on first use, are not what the hub now says (a rotation, or a
   * hub lying). The first keys stay in force until the application accepts the new ones
   * ({@link HubClient.trustAgencyKeys}) or pins keys it got out of band.
   */
  agencyKeysChanged: (change: {
    agency: AgencyId;
    /** The key ids (`kid`) the hub gives now that were not trusted. */
    added: string[];
    /** The trusted key ids the hub no longer gives. */
    removed: string[];
  }) => void;
  /** A device (`agency`, `officer`, `device`) not seen before for an officer already known: compare safety numbers. */
  deviceAdded: (device: DeviceRef) => void;
  /**
   * A device whose attestation is refused: never encrypted to, never believed. `officer` is
   * whose it claims to be, `device` its id when it could be read; `reason` is
   * `ATTESTATION_INVALID` (not signed by the agency's trusted keys, expired, or not for that
   * officer), `KEY_CHANGED` (a known device with other keys than before) or `KEY_REVOKED`
   * (the agency key that signed it is no longer in the agency's key set as the hub now gives
   * it: revoked. Reported when the directory is refreshed, also for a device believed before
   * and for one the hub no longer lists).
   */
  deviceRejected: (rejection: { officer: OfficerAddress; device?: string; reason: DeviceRejectionReason }) => void;
}

/**
 * Decides which device keys to believe. Attestations are verified against agency keys that
 * the application pins; agencies it did not pin are trusted on first use (their keys as the
 * hub first gave them), and any later change is reported. A device's keys never change: an
 * attestation giving a known device other keys is refused.
 */
export class TrustStore {
  private readonly store: KeyStore;
  private readonly fetchAgencies: () => Promise<DirectoryAgency[]>;
  private readonly pinned: Readonly<Record<AgencyId, AgencyKeySet>>;
  private readonly notify: <E extends keyof TrustEvents>(event: E, ...args: Parameters<TrustEvents[E]>) => void;
  /** How often the agencies' keys may be fetched again, in milliseconds. */
  private readonly refreshMs: number;
  #agencies: Map<AgencyId, DirectoryAgency> | undefined;
  #fetchedAt = Number.NEGATIVE_INFINITY;
  readonly #verified = new Map<string, DeviceAttestation>();
  readonly #reported = new Map<AgencyId, string>();
  /** Attestations already reported as rejected: each is reported once. */
  readonly #rejected = new Set<string>();
  /** The kids each agency has in the hub's current answer (see {@link TrustStore.listedKids}), per fetch. */
  readonly #listed = new Map<AgencyId, Promise<ReadonlySet<string> | undefined>>();

  constructor(
    store: KeyStore,
    fetchAgencies: () => Promise<DirectoryAgency[]>,
    pinned: Readonly<Record<AgencyId, AgencyKeySet>>,
    notify: <E extends keyof TrustEvents>(event: E, ...args: Parameters<TrustEvents[E]>) => void,
    /** How often the agencies' keys may be fetched again, in milliseconds. */
    refreshMs = 60_000,
  ) {
    this.store = store;
    this.fetchAgencies = fetchAgencies;
    this.pinned = pinned;
    this.notify = notify;
    this.refreshMs = refreshMs;
  }

  /** The keys to verify `agency`'s attestations with: pinned, or trusted on first use. */
  async agencyKeys(agency: AgencyId, kid?: string): Promise<AgencyKeySet | undefined> {
    const pinned = this.pinned[agency];
    if (pinned) return pinned;
    const stored = await this.store.get<AgencyKeySet>(STORE_KEYS.agencyKeys(agency));
    const knowsKid = (set: AgencyKeySet | undefined) =>
      set && (kid === undefined || set.keys.some((k) => k.kid === kid));
    if (knowsKid(stored)) return stored;
    const fetched = await this.#fetchAgency(agency);
    const keys = fetched ? await keySetOf(fetched) : undefined;
    if (!keys) return stored;
    if (!stored) {
      await this.store.set(STORE_KEYS.agencyKeys(agency), keys);
      return keys;
    }
    const before = new Set(stored.keys.map((k) => k.kid));
    const after = new Set(keys.keys.map((k) => k.kid));
    const added = [...after].filter((k) => !before.has(k)) as string[];
    const removed = [...before].filter((k) => !after.has(k)) as string[];
    const change = JSON.stringify([added, removed]);
    if ((added.length > 0 || removed.length > 0) && this.#reported.get(agency) !== change) {
      this.#reported.set(agency, change);
      this.notify('agencyKeysChanged', { agency, added, removed });
    }
    return stored;
  }

  /**
   * Trusts, from now on, the keys the hub currently gives for `agency` (after the application
   * has confirmed them out of band). Resolves to the kids now trusted.
   */
  async acceptAgencyKeys(agency: AgencyId): Promise<string[]> {
    this.#fetchedAt = Number.NEGATIVE_INFINITY;
    const fetched = await this.#fetchAgency(agency);
    const keys = fetched ? await keySetOf(fetched) : undefined;
    if (!keys) return [];
    await this.store.set(STORE_KEYS.agencyKeys(agency), keys);
    this.#reported.delete(agency);
    this.#verified.clear();
    return keys.keys.map((k) => k.kid as string);
  }

  async #fetchAgency(agency: AgencyId): Promise<DirectoryAgency | undefined> {
    if (!this.#agencies || Date.now() - this.#fetchedAt >= this.refreshMs) {
      this.#listed.clear();
      this.#agencies = new Map((await this.fetchAgencies()).map((entry) => [entry.id, entry]));
      this.#fetchedAt = Date.now();
    }
    return this.#agencies.get(agency);
  }

  /**
   * Makes the next check fetch the agencies' keys again, whenever they were last fetched: the
   * directory calls it when the hub announces a change (`directory:updated`) or after a
   * reconnection.
   */
  agencyKeysStale(): void {
    this.#fetchedAt = Number.NEGATIVE_INFINITY;
  }

  /**
   * The kids of `agency`'s key set as the hub gives it now (fetched at most every `refreshMs`;
   * a `jwksUri` from the agency itself); undefined when it cannot be told: the hub or the
   * agency's URL did not answer, or the hub lists no such agency (it then serves none of its
   * devices: it withdraws them, section 2.6 of the protocol).
   */
  listedKids(agency: AgencyId): Promise<ReadonlySet<string> | undefined> {
    const lookUp = async (): Promise<ReadonlySet<string> | undefined> => {
      const fetched = await this.#fetchAgency(agency).catch(() => null);
      if (fetched === null || fetched === undefined) return undefined;
      const keys = await keySetOf(fetched);
      return keys && new Set(keys.keys.map((key) => key.kid).filter((kid): kid is string => typeof kid === 'string'));
    };
    // Cleared by each new fetch of the agencies, so an answer is reused only until the next.
    const due = !this.#agencies || Date.now() - this.#fetchedAt >= this.refreshMs;
    const known = due ? undefined : this.#listed.get(agency);
    if (known) return known;
    const pending = lookUp();
    this.#listed.set(agency, pending);
    return pending;
  }

  /** Whether the key that signed `attestation` is still in its agency's key set (true when that cannot be told). */
  async #keyStillListed(attestation: DeviceAttestation): Promise<boolean> {
    const kids = await this.listedKids(attestation.agency);
    return kids === undefined || kids.has(attestation.kid);
  }

  /**
   * Checks every device believed so far against its agency's key set as the hub now gives it
   * (fetched again when `refreshMs` has passed or {@link agencyKeysStale} was called): a device
   * whose attestation's key is gone is no longer believed and is reported once
   * (`deviceRejected`, `KEY_REVOKED`), whether or not the hub still lists the device. The
   * directory calls it on each refresh.
   */
  async recheckAgencyKeys(): Promise<void> {
    for (const [jws, attestation] of [...this.#verified]) {
      if (await this.#keyStillListed(attestation)) continue;
      this.#verified.delete(jws);
      this.#report(jws, { officer: officerAddress(attestation), device: attestation.device, reason: 'KEY_REVOKED' });
    }
  }

  /** Reports a rejected attestation, once. */
  #report(jws: string, rejection: Parameters<TrustEvents['deviceRejected']>[0]): void {
    if (this.#rejected.has(jws)) return;
    this.#rejected.add(jws);
    this.notify('deviceRejected', rejection);
  }

  /** The keys this client verified for a device before, if any (kept in the key store). */
  knownDevice(device: DeviceRef): Promise<{ signingKey: string; encryptionKey: string } | undefined> {
    return this.store.get(STORE_KEYS.knownDevice(deviceAddress(device)));
  }

  /**
   * Verifies a device attestation for `officer` (and `device`, when given) and applies the
   * device-key rules. Throws CryptoCheckError('ATTESTATION_INVALID') when it is not to be believed.
   */
  async verifyDevice(
    jws: string,
    officer: { agency: AgencyId; officer: string },
    device?: string,
  ): Promise<DeviceAttestation> {
    const reject = (reason: DeviceRejectionReason, claimedDevice?: string): never => {
      this.#verified.delete(jws);
      this.#report(jws, { officer: officerAddress(officer), device: claimedDevice, reason });
      throw new CryptoCheckError('ATTESTATION_INVALID');
    };
    const cached = this.#verified.get(jws);
    if (cached && (device === undefined || cached.device === device) && cached.expiresAt * 1000 > Date.now()) {
      return (await this.#keyStillListed(cached)) ? cached : reject('KEY_REVOKED', cached.device);
    }
    let attestation: DeviceAttestation;
    let claimed: string | undefined;
    try {
      const decoded = decodeDeviceAttestation(jws);
      claimed = decoded.device;
      const kid = kidOf(jws);
      const keys = await this.agencyKeys(officer.agency, kid);
      if (!keys) return reject('ATTESTATION_INVALID', claimed);
      attestation = await verifyDeviceAttestation(jws, keys, {
        expected: { agency: officer.agency, officer: officer.officer, ...(device ? { device } : {}) },
      });
    } catch (error) {
      if (error instanceof CryptoCheckError) throw error;
      return reject('ATTESTATION_INVALID', claimed);
    }
    if (!(await this.#keyStillListed(attestation))) return reject('KEY_REVOKED', attestation.device);
    const address = deviceAddress(attestation);
    const known = await this.store.get<{ signingKey: string; encryptionKey: string }>(STORE_KEYS.knownDevice(address));
    if (known && (known.signingKey !== attestation.signingKey || known.encryptionKey !== attestation.encryptionKey)) {
      return reject('KEY_CHANGED', attestation.device);
    }
    if (!known) {
      await this.store.set(STORE_KEYS.knownDevice(address), {
        signingKey: attestation.signingKey,
        encryptionKey: attestation.encryptionKey,
      });
      const officerKey = STORE_KEYS.officerDevices(officerAddress(attestation));
      const devices = (await this.store.get<DeviceAddress[]>(officerKey)) ?? [];
      await this.store.set(officerKey, [...devices, address]);
      if (devices.length > 0)
        this.notify('deviceAdded', {
          agency: attestation.agency,
          officer: attestation.officer,
          device: attestation.device,
        });
    }
    this.#verified.set(jws, attestation);
    return attestation;
  }
}

/**
 * An agency's public keys as the directory gives them: inline, or fetched from the agency's
 * `jwksUri` (from the agency itself, not through the hub). Undefined when unavailable.
 */
async function keySetOf(agency: DirectoryAgency): Promise<AgencyKeySet | undefined> {
  if (agency.jwks) return agency.jwks as AgencyKeySet;
  if (!agency.jwksUri) return undefined;
  try {
    const response = await fetch(agency.jwksUri, { signal: AbortSignal.timeout(5000) });
    const body = (await response.json()) as { keys?: unknown };
    return response.ok && Array.isArray(body.keys) ? { keys: body.keys as JWK[] } : undefined;
  } catch {
    return undefined;
  }
}

function kidOf(jws: string): string | undefined {
  try {
    const { kid } = decodeProtectedHeader(jws);
    return typeof kid === 'string' ? kid : undefined;
  } catch {
    return undefined;
  }
}
