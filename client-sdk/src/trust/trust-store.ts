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
   * officer) or `KEY_CHANGED` (a known device with other keys than before).
   */
  deviceRejected: (rejection: {
    officer: OfficerAddress;
    device?: string;
    reason: 'ATTESTATION_INVALID' | 'KEY_CHANGED';
  }) => void;
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
      this.#agencies = new Map((await this.fetchAgencies()).map((entry) => [entry.id, entry]));
      this.#fetchedAt = Date.now();
    }
    return this.#agencies.get(agency);
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
    const cached = this.#verified.get(jws);
    if (cached && (device === undefined || cached.device === device) && cached.expiresAt * 1000 > Date.now()) {
      return cached;
    }
    const reject = (reason: 'ATTESTATION_INVALID' | 'KEY_CHANGED', claimedDevice?: string): never => {
      if (!this.#rejected.has(jws)) {
        this.#rejected.add(jws);
        this.notify('deviceRejected', { officer: officerAddress(officer), device: claimedDevice, reason });
      }
      throw new CryptoCheckError('ATTESTATION_INVALID');
    };
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
