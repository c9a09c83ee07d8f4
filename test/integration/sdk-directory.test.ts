/**
 * The SDK's directory, the console's way of finding a correspondent: `agencies()` lists the
 * trust registry, `officersOf(agency)` the officers of one agency with a published device that
 * verifies on this client — not the unpublished ones, not another agency's, and not those whose
 * attestation this client does not believe (reported as `deviceRejected`).
 */

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TestAgency } from '../helpers/agencies.js';
import { startTestHub, type TestHub } from '../helpers/hub.js';
import { closeAllClients, connectDevice, recorded } from '../helpers/officers.js';

let hub: TestHub;
let ua: TestAgency;
let pl: TestAgency;
beforeAll(async () => {
  hub = await startTestHub();
  ua = hub.agencies['UA-NPU'];
  pl = hub.agencies['PL-KGP'];
});
afterAll(async () => {
  await closeAllClients();
  await hub?.stop();
});

describe('the directory of officers (HubClient.agencies, HubClient.officersOf)', () => {
  it('lists the agencies of the registry and the officers of one agency with a verified device, sorted', async () => {
    const me = await connectDevice(hub.url, ua, 'dir.ua.me');
    await connectDevice(hub.url, pl, 'dir.pl.zofia');
    await connectDevice(hub.url, pl, 'dir.pl.adam');
    await connectDevice(hub.url, pl, 'dir.pl.adam', { device: 'phone' });
    await connectDevice(hub.url, pl, 'dir.pl.unpublished', { unpublished: true });

    const agencies = await me.agencies();
    expect(agencies.map((a) => a.id).sort()).toEqual(Object.keys(hub.agencies).sort());
    expect(agencies.find((a) => a.id === 'PL-KGP')).toMatchObject({ country: 'PL', kind: 'police' });

    const officers = (await me.officersOf('PL-KGP')).filter((o) => o.officer.startsWith('dir.'));
    expect(officers).toEqual([
      { agency: 'PL-KGP', officer: 'dir.pl.adam' },
      { agency: 'PL-KGP', officer: 'dir.pl.zofia' },
    ]);
    expect((await me.officersOf('UA-NPU')).map((o) => o.officer)).toContain('dir.ua.me');
  });

  it('leaves out the officers whose attestations do not verify here, and reports them', async () => {
    await connectDevice(hub.url, pl, 'dir.pl.other');
    // This client pins other keys for PL-KGP than those that attested its officers' devices.
    const sceptic = await connectDevice(hub.url, ua, 'dir.ua.sceptic', {
      pin: [{ ...pl, key: ua.key } as TestAgency],
    });
    expect((await sceptic.officersOf('PL-KGP')).map((o) => o.officer)).not.toContain('dir.pl.other');
    expect(recorded(sceptic, 'deviceRejected').length).toBeGreaterThan(0);
  });
});
