import { verifyDeviceAttestation } from '@ncp-hub/keys';
import {
  type AgencyId,
  type DeviceId,
  type DeviceRef,
  type DirectoryAgency,
  DirectoryError,
  type Identity,
  type OfficerAddress,
  type OfficerRef,
  officerAddress,
  parseOfficerAddress,
} from '@ncp-hub/protocol';
import type { Redis } from 'ioredis';
import { devicePublished } from '../audit/audit-events.js';
import type { TrustRegistryHolder } from '../identity/trust-registry-holder.js';
import type { RedisKeys } from '../redis/redis-keys.js';

/** A published device as the directory stores it, after the hub verified its attestation. */
export interface DirectoryEntry {
  jws: string;
  encryptionKey: string;
  signingKey: string;
  expiresAt: number;
}

/** What publishing did: the entry now stored, and whether it is new or differs from the one before. */
export interface Publication {
  entry: DirectoryEntry;
  changed: boolean;
}

/**
 * The directory of device attestations. The hub verifies an attestation against the agency's
 * key before storing it, and stores it as it came: it never makes or alters one.
 */
export class DirectoryService {
  private readonly redis: Redis;
  private readonly keys: RedisKeys;
  private readonly registry: TrustRegistryHolder;

  constructor(redis: Redis, keys: RedisKeys, registry: TrustRegistryHolder) {
    this.redis = redis;
    this.keys = keys;
    this.registry = registry;
  }

  /**
   * Publishes the attestation of the caller's own device, with its expiry beside it (see
   * `deviceExpiries`). A device's keys never change.
   */
  async publish(identity: Identity, device: DeviceId, jws: string): Promise<Publication> {
    const agency = this.registry.current.get(identity.agency);
    if (!agency) throw new DirectoryError('AGENCY_UNKNOWN', 'the agency is no longer in the trust registry');
    const attestation = await verifyDeviceAttestation(jws, agency.keys, {
      expected: { agency: identity.agency, officer: identity.officer, device },
    });
    const officer = officerAddress(identity);
    const key = this.keys.directory(officer);
    const previous = await this.redis.hget(key, device);
    if (previous) {
      const stored = JSON.parse(previous) as DirectoryEntry;
      if (stored.signingKey !== attestation.signingKey || stored.encryptionKey !== attestation.encryptionKey) {
        throw new DirectoryError(
          'ATTESTATION_INVALID',
          "a device's keys never change: attest new keys under a new device id",
        );
      }
    }
    const entry: DirectoryEntry = {
      jws,
      encryptionKey: attestation.encryptionKey,
      signingKey: attestation.signingKey,
      expiresAt: attestation.expiresAt,
    };
    const json = JSON.stringify(entry);
    await this.redis
      .multi()
      .hset(key, device, json)
      .hset(this.keys.deviceExpiries(officer), device, entry.expiresAt)
      .sadd(this.keys.agencyOfficers(identity.agency), officer)
      .xadd(
        this.keys.auditStream,
        '*',
        'e',
        JSON.stringify(
          devicePublished({ agency: identity.agency, officer: identity.officer, device }, entry.expiresAt),
        ),
      )
      .exec();
    return { entry, changed: previous !== json };
  }

  /** The stored entry of one device, expired or not; undefined when never published. */
  async entry(device: DeviceRef): Promise<DirectoryEntry | undefined> {
    const raw = await this.redis.hget(this.keys.directory(officerAddress(device)), device.device);
    return raw ? (JSON.parse(raw) as DirectoryEntry) : undefined;
  }

  /** The current (unexpired) attestations of each officer, keyed by officer address. */
  async devicesOf(officers: OfficerRef[]): Promise<Record<OfficerAddress, string[]>> {
    const addresses = [...new Set(officers.map(officerAddress))];
    const pipeline = this.redis.pipeline();
    for (const address of addresses) pipeline.hvals(this.keys.directory(address));
    const results = (await pipeline.exec()) ?? [];
    const now = Math.floor(Date.now() / 1000);
    const devices: Record<OfficerAddress, string[]> = {};
    addresses.forEach((address, index) => {
      const values = (results[index]?.[1] as string[] | undefined) ?? [];
      devices[address] = values
        .map((value) => JSON.parse(value) as DirectoryEntry)
        .filter((entry) => entry.expiresAt > now)
        .map((entry) => entry.jws);
    });
    return devices;
  }

  /** Every current attestation of one agency's officers. */
  async devicesOfAgency(agency: AgencyId): Promise<Record<OfficerAddress, string[]>> {
    const officers = (await this.redis.smembers(this.keys.agencyOfficers(agency))) as OfficerAddress[];
    if (officers.length === 0) return {};
    return this.devicesOf(officers.map(parseOfficerAddress));
  }

  /** The agencies of the trust registry with their public keys, for clients to verify attestations. */
  agencies(): DirectoryAgency[] {
    const registry = this.registry.current;
    return registry.list().map((info) => {
      const { entry } = registry.get(info.id) as NonNullable<ReturnType<typeof registry.get>>;
      return {
        ...info,
        ...(entry.jwks ? { jwks: entry.jwks as DirectoryAgency['jwks'] } : {}),
        ...(entry.jwksUri ? { jwksUri: entry.jwksUri } : {}),
      };
    });
  }
}
