import { afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { DevicePublication } from '../../src/client/device-publication.js';
import { FakeHub, fakeAgency, type TestDevice, testDevice } from './fakes.js';

const HOUR = 3600_000;
const DAY = 24 * HOUR;
let a1: TestDevice;

beforeAll(async () => {
  a1 = await testDevice(await fakeAgency('UA-NPU'), 'a', 'a1');
});
beforeEach(() => {
  vi.useFakeTimers({ now: 1_800_000_000_000 });
});
afterEach(() => {
  vi.useRealTimers();
});

/** The publication of a1 against a hub whose attestations expire `lifetime.ms` after they are published. */
function setUp(lifetime: { ms: number }) {
  const hub = new FakeHub(({ event }) => {
    if (event !== 'directory:publish') throw new Error(`unexpected ${event}`);
    return { device: a1.device.address, expiresAt: Math.floor((Date.now() + lifetime.ms) / 1000) };
  });
  const invalidated: unknown[] = [];
  const warnings: Array<{ device: string; expiresAt: number }> = [];
  const publication = new DevicePublication({
    hub,
    device: a1.device,
    directory: { invalidate: (officers) => invalidated.push(...officers) },
    warningMs: DAY,
    emit: (_event, warning) => warnings.push(warning),
  });
  return { hub, publication, invalidated, warnings };
}

describe('DevicePublication', () => {
  it("publishes the attestation, keeps the hub's expiry, and forgets this officer's cached devices", async () => {
    const { hub, publication, invalidated } = setUp({ ms: 30 * DAY });
    await publication.publish(a1.attestation);
    expect(hub.sent('directory:publish')).toEqual([{ attestation: a1.attestation }]);
    expect(publication.expiresAt).toBe(Math.floor((Date.now() + 30 * DAY) / 1000));
    expect(invalidated).toEqual([a1.ref]);
    publication.stop();
  });

  it('tells the application once, when less than the warning time is left (30 days: longer than a timer holds)', async () => {
    const { publication, warnings } = setUp({ ms: 30 * DAY });
    await publication.publish(a1.attestation);
    await vi.advanceTimersByTimeAsync(29 * DAY - 1000);
    expect(warnings).toEqual([]);
    await vi.advanceTimersByTimeAsync(1000);
    expect(warnings).toEqual([{ device: a1.device.address, expiresAt: publication.expiresAt }]);
    await vi.advanceTimersByTimeAsync(2 * DAY);
    expect(warnings).toHaveLength(1);
  });

  it('tells at once of an attestation published with less left, and not again when it is published again', async () => {
    const { publication, warnings } = setUp({ ms: HOUR });
    await publication.publish(a1.attestation);
    expect(warnings).toHaveLength(1);
    await publication.publish(a1.attestation);
    expect(warnings).toHaveLength(1);
  });

  it('watches the new attestation once the device is attested again, and nothing once stopped', async () => {
    const lifetime = { ms: 2 * DAY };
    const { publication, warnings } = setUp(lifetime);
    await publication.publish(a1.attestation);
    await vi.advanceTimersByTimeAsync(12 * HOUR);
    lifetime.ms = 30 * DAY;
    await publication.publish(a1.attestation); // attested again: 30 days from now
    await vi.advanceTimersByTimeAsync(28 * DAY);
    expect(warnings).toEqual([]);
    publication.stop();
    await vi.advanceTimersByTimeAsync(2 * DAY);
    expect(warnings).toEqual([]);
  });
});
