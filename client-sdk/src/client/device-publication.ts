import type { Emit } from '../typed-emitter.js';
import type { HubRequester } from './connection.js';
import type { Directory } from './directory.js';
import type { HubClientEvents } from './hub-client-events.js';
import type { LocalDevice } from './local-device.js';

/** The longest delay `setTimeout` keeps (about 24.8 days); a longer wait is made in steps. */
const MAX_TIMER_MS = 2 ** 31 - 1;

/** What the device publication needs. */
export interface DevicePublicationDeps {
  hub: HubRequester;
  device: LocalDevice;
  directory: Pick<Directory, 'invalidate'>;
  /** How long before the attestation expires `attestationExpiring` is emitted, in milliseconds. */
  warningMs: number;
  emit: Emit<Pick<HubClientEvents, 'attestationExpiring'>>;
}

/**
 * This device's attestation in the hub's directory: published, and watched. When less than
 * `warningMs` is left before it expires (as the hub answered the publication), the application
 * is told once (`attestationExpiring`), so that the agency attests the device again in time:
 * the hub refuses the messages of a device whose attestation expired (`DEVICE_NOT_PUBLISHED`).
 */
export class DevicePublication {
  private readonly deps: DevicePublicationDeps;
  /** The attestation's `exp`, seconds, as the hub answered its publication. */
  #expiresAt: number | undefined;
  /** The `exp` the application was told of: once per attestation. */
  #warnedOf: number | undefined;
  #timer: ReturnType<typeof setTimeout> | undefined;

  constructor(deps: DevicePublicationDeps) {
    this.deps = deps;
  }

  /** When this device's attestation expires (seconds since the epoch); unknown before it is published. */
  get expiresAt(): number | undefined {
    return this.#expiresAt;
  }

  /** Publishes the attestation, forgets this officer's cached devices, and watches its expiry. */
  async publish(attestation: string): Promise<void> {
    const { hub, directory, device } = this.deps;
    const { expiresAt } = await hub.request('directory:publish', { attestation });
    directory.invalidate([device.ref]);
    this.stop();
    this.#expiresAt = expiresAt;
    if (this.#warnedOf !== expiresAt) this.#watch(expiresAt);
  }

  /** Stops watching (the client is closing). */
  stop(): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
  }

  #watch(expiresAt: number): void {
    const { warningMs, emit, device } = this.deps;
    const wait = expiresAt * 1000 - warningMs - Date.now();
    if (wait > 0) {
      this.#timer = setTimeout(() => this.#watch(expiresAt), Math.min(wait, MAX_TIMER_MS));
      return;
    }
    this.#timer = undefined;
    this.#warnedOf = expiresAt;
    emit('attestationExpiring', { device: device.address, expiresAt });
  }
}
