import { verifyOfficerToken } from '@ncp-hub/keys';
import { AuthError, type Identity } from '@ncp-hub/protocol';
import { decodeJwt } from 'jose';
import type { Config } from '../config.js';
import type { TrustRegistryHolder } from './trust-registry-holder.js';

/** Verifies officer tokens against the registry in force; one instance per hub. */
export class Authenticator {
  /** The registry in force and its bad files (the HTTP app reports them in /readyz and /metrics). */
  readonly registry: TrustRegistryHolder;
  private readonly config: Pick<Config, 'hubId' | 'clockToleranceSeconds'>;

  constructor(registry: TrustRegistryHolder, config: Pick<Config, 'hubId' | 'clockToleranceSeconds'>) {
    this.registry = registry;
    this.config = config;
  }

  /** The verified identity of `token`, or an {@link AuthError} with an `AUTH_*` code. */
  verify(token: unknown): Promise<Identity> {
    return verifyOfficerToken(token, this.registry.current, {
      audience: this.config.hubId,
      clockToleranceSeconds: this.config.clockToleranceSeconds,
    });
  }

  /**
   * Refuses a device its agency has revoked (`revoked.devices` of its registry entry) with
   * `AUTH_DEVICE_REVOKED`; the officer's own revocation is refused by {@link verify}.
   */
  assertDeviceNotRevoked(identity: Identity, device: string | null): void {
    if (device === null) return;
    const code = this.registry.current.revocation({ agency: identity.agency, officer: identity.officer, device });
    if (code) throw new AuthError(code, 'the agency has revoked this device');
  }

  /**
   * Checks an open session again against the registry in force: its token ({@link verify}) and
   * its device ({@link assertDeviceNotRevoked}). Rejects with the code that now refuses it.
   */
  async verifySession(token: unknown, device: string | null): Promise<Identity> {
    const identity = await this.verify(token);
    this.assertDeviceNotRevoked(identity, device);
    return identity;
  }

  /** Verifies the token of an HTTP `Authorization: Bearer` header. */
  verifyAuthorizationHeader(header: string | undefined): Promise<Identity> {
    if (header === undefined || header.trim() === '') {
      return Promise.reject(new AuthError('AUTH_TOKEN_MISSING', 'no Authorization: Bearer token was given'));
    }
    const match = /^Bearer +(\S+)\s*$/i.exec(header);
    if (!match)
      return Promise.reject(new AuthError('AUTH_TOKEN_MALFORMED', 'the Authorization header must be "Bearer <token>"'));
    return this.verify(match[1]);
  }

  /**
   * The registry agency a (possibly refused) token claims as its issuer, for the audit log;
   * undefined when the token names none.
   */
  claimedAgency(token: unknown): string | undefined {
    if (typeof token !== 'string') return undefined;
    try {
      const { iss } = decodeJwt(token.replace(/^Bearer +/i, ''));
      return typeof iss === 'string' && this.registry.current.get(iss) ? iss : undefined;
    } catch {
      return undefined;
    }
  }

  /** Milliseconds until `identity`'s token expires, clock tolerance included. */
  millisecondsLeft(identity: Identity, now = Date.now()): number {
    return (identity.expiresAt + this.config.clockToleranceSeconds) * 1000 - now;
  }
}
