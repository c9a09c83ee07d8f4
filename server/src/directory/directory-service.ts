import { type TrustedAgency, verifyDeviceAttestation } from '@ncp-hub/keys';
import {
  type AgencyId,
  AuthError,
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
import { decodeProtectedHeader, errors as joseErrors } from 'jose';
import { devicePublished, deviceWithdrawn } from '../audit/audit-events.js';
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

/**
 * Withdraws one device from the directory if its entry is still the one that was checked (a
 * publication since is left alone), with its audit event. KEYS: the officer's directory and
 * expiry hashes, the audit stream; ARGV: device, entry JSON, audit event. Returns 1 when
 * withdrawn (and audited, once), else 0.
 */
const WITHDRAW = `
if redis.call('HGET', KEYS[1], ARGV[1]) ~= ARGV[2] then return 0 end
redis.call('HDEL', KEYS[1], ARGV[1])
redis.call('HDEL', KEYS[2], ARGV[1])
redis.call('XADD', KEYS[3], '*', 'e', ARGV[3])
return 1
`;

/** Why a device was withdrawn from the directory. */
export type WithdrawalReason =
  | 'AUTH_OFFICER_REVOKED'
  | 'AUTH_DEVICE_REVOKED'
  | 'ATTESTATION_INVALID'
  | 'AGENCY_UNKNOWN';

/** A device the directory no longer serves, and why. */
export interface Withdrawal {
  device: DeviceRef;
  reason: WithdrawalReason;
}

declare module 'ioredis' {
  interface RedisCommander<Context> {
    ncpWithdrawDevice(
      directory: string,
      expiries: string,
      audit: string,
      device: string,
      entry: string,
      event: string,
    ): Result<0 | 1, Context>;
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
    redis.defineCommand('ncpWithdrawDevice', { numberOfKeys: 3, lua: WITHDRAW });
  }

  /**
   * Publishes the attestation of the caller's own device, with its expiry beside it (see
   * `deviceExpiries`). A device's keys never change: the stored entry is compared and replaced
   * in one step, so that of concurrent publications with different keys only one is stored.
   */
  async publish(identity: Identity, device: DeviceId, jws: string): Promise<Publication> {
    const agency = this.registry.current.get(identity.agency);
    if (!agency) throw new DirectoryError('AGENCY_UNKNOWN', 'the agency is no longer in the trust registry');
    const revoked = this.registry.current.revocation({ ...identity, device });
    if (revoked) throw new AuthError(revoked, 'the agency has revoked this device');
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
   * Checks every stored entry of these agencies' officers against the registry in force and
   * withdraws those it no longer vouches for: the agency is gone (`AGENCY_UNKNOWN`), the
   * officer or the device is revoked (`AUTH_OFFICER_REVOKED`, `AUTH_DEVICE_REVOKED`), or the
   * attestation no longer verifies against the agency's keys (`ATTESTATION_INVALID`: its key
   * was revoked). Expiry is no reason (the expiry hash already keeps an expired device out).
   * An agency whose keys are published at a `jwksUri` that cannot be fetched keeps its
   * devices until a later check. Idempotent, safe on every node at once: a device is withdrawn
   * only if its entry is still the one checked, and each withdrawal is returned by one caller.
   */
  async recheck(agencies: readonly AgencyId[]): Promise<Withdrawal[]> {
    const registry = this.registry.current;
    const withdrawn: Withdrawal[] = [];
    for (const id of agencies) {
      const agency = registry.get(id);
      const officers = (await this.redis.smembers(this.keys.agencyOfficers(id))) as OfficerAddress[];
      for (const address of officers) {
        const { officer } = parseOfficerAddress(address);
        const entries = await this.redis.hgetall(this.keys.directory(address));
        for (const [device, raw] of Object.entries(entries)) {
          const ref: DeviceRef = { agency: id, officer, device };
          const reason = agency
            ? (registry.revocation(ref) ?? (await attestedStill(agency, ref, raw)))
            : 'AGENCY_UNKNOWN';
          if (!reason) continue;
          const removed = await this.redis.ncpWithdrawDevice(
            this.keys.directory(address),
            this.keys.deviceExpiries(address),
            this.keys.auditStream,
            device,
            raw,
            JSON.stringify(deviceWithdrawn(ref, reason)),
          );
          if (removed === 1) withdrawn.push({ device: ref, reason });
        }
      }
    }
    return withdrawn;
  }

  /**
   * {@link recheck} of every agency the directory holds devices of (those removed from the
   * registry included): for a start, as the registry may have changed while no node ran.
   */
  async recheckAll(): Promise<Withdrawal[]> {
    const agencies = new Set<AgencyId>();
    let cursor = '0';
    do {
      const [next, found] = await this.redis.scan(cursor, 'MATCH', this.keys.directoryPattern, 'COUNT', 1000);
      cursor = next;
      for (const key of found) agencies.add(parseOfficerAddress(this.keys.officerOfDirectory(key)).agency);
    } while (cursor !== '0');
    return this.recheck([...agencies].sort());
  }

  /**
   * Fills in the expiry hashes (`deviceExpiries`) of the devices an older hub published without
   * them, from their directory entries, so that the store scripts count them; once per start,
   * idempotent (an expiry already stored is kept). Resolves to how many were filled in.
   */
  async fillMissingExpiries(): Promise<number> {
    let filled = 0;
    let cursor = '0';
    do {
      const [next, found] = await this.redis.scan(cursor, 'MATCH', this.keys.directoryPattern, 'COUNT', 1000);
      cursor = next;
      const pipeline = this.redis.pipeline();
      for (const key of found) {
        const officer = this.keys.officerOfDirectory(key);
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
      // A failed read (Redis lost, a failover) is an error, never "no devices": a sender would
      // take it for an officer without a device and give up.
      const [error, reply] = results[index] ?? [null, []];
      if (error) throw error;
      const values = (reply as string[] | undefined) ?? [];
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

/**
 * Undefined when the stored entry `raw` of `device` still verifies against the agency's keys
 * (at its own expiry at the latest: expiry is not checked here), `ATTESTATION_INVALID` when it
 * does not. For an agency publishing at a `jwksUri`, a failure is taken for a revocation only
 * when the fetched key set has no key of the attestation's `kid` (a fetch that fails decides
 * nothing).
 */
async function attestedStill(
  agency: TrustedAgency,
  device: DeviceRef,
  raw: string,
): Promise<'ATTESTATION_INVALID' | undefined> {
  const entry = JSON.parse(raw) as DirectoryEntry;
  const at = new Date(Math.min(Date.now(), (entry.expiresAt - 1) * 1000));
  try {
    await verifyDeviceAttestation(entry.jws, agency.keys, { expected: device, currentDate: at });
    return undefined;
  } catch {
    if (agency.entry.jwks) return 'ATTESTATION_INVALID';
  }
  try {
    const header = decodeProtectedHeader(entry.jws) as Parameters<TrustedAgency['keys']>[0];
    await agency.keys(header, { payload: '', signature: '' });
    return 'ATTESTATION_INVALID';
  } catch (error) {
    return error instanceof joseErrors.JWKSNoMatchingKey ? 'ATTESTATION_INVALID' : undefined;
  }
}
