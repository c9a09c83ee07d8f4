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
import type { Redis, Result } from 'ioredis';
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

/**
 * Publishes a device's entry, comparing and writing in one step. KEYS: the officer's
 * directory and expiry hashes, the agency's officers, the audit stream; ARGV: device, entry
 * JSON, signing key, encryption key, expiresAt, officer address, audit event. Returns -1 when
 * a stored entry of the device has other keys (nothing written), else 1 when the entry is new
 * or changed, 0 when it is the same.
 */
const PUBLISH = `
local previous = redis.call('HGET', KEYS[1], ARGV[1])
if previous then
  local stored = cjson.decode(previous)
  if stored.signingKey ~= ARGV[3] or stored.encryptionKey ~= ARGV[4] then return -1 end
end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
redis.call('HSET', KEYS[2], ARGV[1], ARGV[5])
redis.call('SADD', KEYS[3], ARGV[6])
redis.call('XADD', KEYS[4], '*', 'e', ARGV[7])
if previous == ARGV[2] then return 0 end
return 1
`;

/**
 * Fills in an officer's expiry hash (KEYS[2]) from the directory hash (KEYS[1]) for every
 * device that has none (entries an older hub wrote without it); an expiry already there is
 * left as it is. Returns how many were filled in.
 */
const FILL_EXPIRIES = `
local entries = redis.call('HGETALL', KEYS[1])
local filled = 0
for i = 1, #entries, 2 do
  if redis.call('HEXISTS', KEYS[2], entries[i]) == 0 then
    local expiresAt = cjson.decode(entries[i + 1]).expiresAt
    redis.call('HSET', KEYS[2], entries[i], string.format('%d', expiresAt))
    filled = filled + 1
  end
end
return filled
`;

declare module 'ioredis' {
  interface RedisCommander<Context> {
    ncpPublishDevice(...args: Array<string | number>): Result<-1 | 0 | 1, Context>;
    ncpFillExpiries(entries: string, expiries: string): Result<number, Context>;
  }
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
    redis.defineCommand('ncpPublishDevice', { numberOfKeys: 4, lua: PUBLISH });
    redis.defineCommand('ncpFillExpiries', { numberOfKeys: 2, lua: FILL_EXPIRIES });
  }

  /**
   * Publishes the attestation of the caller's own device, with its expiry beside it (see
   * `deviceExpiries`). A device's keys never change: the stored entry is compared and replaced
   * in one step, so that of concurrent publications with different keys only one is stored.
   */
  async publish(identity: Identity, device: DeviceId, jws: string): Promise<Publication> {
    const agency = this.registry.current.get(identity.agency);
    if (!agency) throw new DirectoryError('AGENCY_UNKNOWN', 'the agency is no longer in the trust registry');
    const attestation = await verifyDeviceAttestation(jws, agency.keys, {
      expected: { agency: identity.agency, officer: identity.officer, device },
    });
    const officer = officerAddress(identity);
    const entry: DirectoryEntry = {
      jws,
      encryptionKey: attestation.encryptionKey,
      signingKey: attestation.signingKey,
      expiresAt: attestation.expiresAt,
    };
    const published = await this.redis.ncpPublishDevice(
      this.keys.directory(officer),
      this.keys.deviceExpiries(officer),
      this.keys.agencyOfficers(identity.agency),
      this.keys.auditStream,
      device,
      JSON.stringify(entry),
      entry.signingKey,
      entry.encryptionKey,
      entry.expiresAt,
      officer,
      JSON.stringify(devicePublished({ agency: identity.agency, officer: identity.officer, device }, entry.expiresAt)),
    );
    if (published === -1) {
      throw new DirectoryError(
        'ATTESTATION_INVALID',
        "a device's keys never change: attest new keys under a new device id",
      );
    }
    return { entry, changed: published === 1 };
  }

  /**
   * Fills in the expiry hashes (`deviceExpiries`) of the devices an older hub published without
   * them, from their directory entries, so that the store scripts count them; once per start,
   * idempotent (an expiry already stored is kept). Resolves to how many were filled in.
   */
  async fillMissingExpiries(): Promise<number> {
    const prefix = this.keys.directoryPrefix;
    let filled = 0;
    let cursor = '0';
    do {
      const [next, found] = await this.redis.scan(cursor, 'MATCH', `${globEscaped(prefix)}*`, 'COUNT', 1000);
      cursor = next;
      const pipeline = this.redis.pipeline();
      for (const key of found) {
        const officer = key.slice(prefix.length) as OfficerAddress;
        pipeline.ncpFillExpiries(key, this.keys.deviceExpiries(officer));
      }
      for (const [error, count] of (await pipeline.exec()) ?? []) {
        if (error) throw error;
        filled += count as number;
      }
    } while (cursor !== '0');
    return filled;
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

/** `text` with the characters that a SCAN pattern treats as special escaped. */
function globEscaped(text: string): string {
  return text.replace(/[*?[\]\\]/g, '\\$&');
}
