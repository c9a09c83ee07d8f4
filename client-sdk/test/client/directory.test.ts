import { fromBase64url, type OfficerRef } from '@ncp-hub/protocol';
import { beforeAll, describe, expect, it } from 'vitest';
import { Directory, type DirectoryLookup } from '../../src/client/directory.js';
import { directoryOf, type FakeAgency, fakeAgency, pinnedTrust, type TestDevice, testDevice } from './fakes.js';

let ua: FakeAgency;
let pl: FakeAgency;
let a1: TestDevice;
let b1: TestDevice;
let b2: TestDevice;

beforeAll(async () => {
  [ua, pl] = await Promise.all([fakeAgency('UA-NPU'), fakeAgency('PL-KGP')]);
  a1 = await testDevice(ua, 'a');
  b1 = await testDevice(pl, 'b', 'b1');
  b2 = await testDevice(pl, 'b', 'b2');
});

/** The hub's directory: what `published` holds now; every look-up is recorded. */
function hubDirectory(published: TestDevice[]) {
  const lookups: Array<Parameters<DirectoryLookup>[0]> = [];
  const state = { published, lookups };
  const lookup: DirectoryLookup = async (query) => {
    lookups.push(query);
    const all = directoryOf(state.published);
    if ('agency' in query)
      return Object.fromEntries(Object.entries(all).filter(([k]) => k.startsWith(`${query.agency}/`)));
    return Object.fromEntries(
      query.officers.map((o) => [`${o.agency}/${o.officer}`, all[`${o.agency}/${o.officer}`] ?? []]),
    );
  };
  return { state, lookup };
}

function clock(start = 1_000_000) {
  const time = { now: start };
  return { time, now: () => time.now };
}

describe('Directory', () => {
  it("looks up every member of a conversation in one batched request, and leaves the sender's device out", async () => {
    const { state, lookup } = hubDirectory([a1, b1, b2]);
    const directory = new Directory(lookup, pinnedTrust([ua, pl]), 30_000);
    const recipients = await directory.recipientsOf([a1.officer, b1.officer, b1.officer], a1.device.address);
    expect(recipients.map((r) => r.address).sort()).toEqual(['PL-KGP/b/b1', 'PL-KGP/b/b2']);
    expect(recipients[0]?.encryptionKey).toEqual(fromBase64url(b1.device.publicKeys().encryptionKey));
    expect(state.lookups).toEqual([{ officers: [a1.officer, b1.officer] }]);
  });

  it('asks for at most 100 officers per request', async () => {
    const { state, lookup } = hubDirectory([]);
    const directory = new Directory(lookup, pinnedTrust([ua]), 30_000);
    const officers: OfficerRef[] = Array.from({ length: 250 }, (_, i) => ({ agency: 'UA-NPU', officer: `o${i}` }));
    await directory.attestationsOf(officers);
    expect(state.lookups.map((q) => ('officers' in q ? q.officers.length : 0))).toEqual([100, 100, 50]);
  });

  it('reuses an answer for refreshMs, then asks again', async () => {
    const { state, lookup } = hubDirectory([b1]);
    const { time, now } = clock();
    const directory = new Directory(lookup, pinnedTrust([pl]), 30_000, now);
    await directory.devicesOf([b1.officer]);
    time.now += 29_999;
    await directory.devicesOf([b1.officer]);
    expect(state.lookups).toHaveLength(1);
    time.now += 1;
    state.published = [b1, b2];
    expect((await directory.devicesOf([b1.officer])).map((d) => d.device)).toEqual(['b1', 'b2']);
    expect(state.lookups).toHaveLength(2);
  });

  it('forgets an invalidated officer at once: the next use sees the device published since', async () => {
    const { state, lookup } = hubDirectory([a1, b1]);
    const directory = new Directory(lookup, pinnedTrust([ua, pl]), 30_000);
    await directory.recipientsOf([a1.officer, b1.officer], a1.device.address);
    state.published = [a1, b1, b2];
    expect(await directory.recipientsOf([a1.officer, b1.officer], a1.device.address)).toHaveLength(1);
    directory.invalidate([b1.officer]);
    const after = await directory.recipientsOf([a1.officer, b1.officer], a1.device.address);
    expect(after.map((r) => r.address)).toEqual(['PL-KGP/b/b1', 'PL-KGP/b/b2']);
    // Only the invalidated officer was asked for again.
    expect(state.lookups.at(-1)).toEqual({ officers: [b1.officer] });
  });

  it('forgets every officer after a lost connection (announcements may have been missed)', async () => {
    const { state, lookup } = hubDirectory([a1, b1]);
    const directory = new Directory(lookup, pinnedTrust([ua, pl]), 30_000);
    await directory.devicesOf([a1.officer, b1.officer]);
    directory.invalidateAll();
    state.published = [a1, b1, b2];
    expect(await directory.devicesOf([a1.officer, b1.officer])).toHaveLength(3);
    expect(state.lookups).toHaveLength(2);
  });

  it('does not cache an answer to a look-up that an invalidation overtook', async () => {
    const { state, lookup: answer } = hubDirectory([b1]);
    let release: () => void = () => {};
    const held = new Promise<void>((resolve) => {
      release = resolve;
    });
    let asked: () => void = () => {};
    const answered = new Promise<void>((resolve) => {
      asked = resolve;
    });
    let first = true;
    const lookup: DirectoryLookup = async (query) => {
      const result = await answer(query);
      if (first) {
        first = false;
        asked();
        await held;
      }
      return result;
    };
    const directory = new Directory(lookup, pinnedTrust([pl]), 30_000);
    const slow = directory.devicesOf([b1.officer]);
    await answered; // the hub has answered; the answer is held on its way back
    state.published = [b1, b2];
    directory.invalidate([b1.officer]);
    release();
    expect((await slow).map((d) => d.device)).toEqual(['b1']);
    expect((await directory.devicesOf([b1.officer])).map((d) => d.device)).toEqual(['b1', 'b2']);
    expect(state.lookups).toHaveLength(2);
  });

  it('leaves out (and has the trust store report) a device whose attestation does not verify', async () => {
    const forger = await fakeAgency('PL-KGP');
    const forged = await testDevice(forger, 'b', 'hub-made');
    const { lookup } = hubDirectory([b1, forged]);
    const events: unknown[] = [];
    const directory = new Directory(lookup, pinnedTrust([pl], events), 30_000);
    expect((await directory.devicesOf([b1.officer])).map((d) => d.device)).toEqual(['b1']);
    expect(events).toEqual([
      ['deviceRejected', { officer: 'PL-KGP/b', device: 'hub-made', reason: 'ATTESTATION_INVALID' }],
    ]);
    expect(await directory.senderKey(forged.ref)).toEqual({ reason: 'ATTESTATION_INVALID' });
  });

  it("gives a sender's signing key, looking again for a device it does not know yet", async () => {
    const { state, lookup } = hubDirectory([b1]);
    const directory = new Directory(lookup, pinnedTrust([pl]), 30_000);
    await directory.devicesOf([b1.officer]);
    state.published = [b1, b2];
    expect(await directory.senderKey(b2.ref)).toEqual({ key: fromBase64url(b2.device.publicKeys().signingKey) });
    expect(state.lookups).toHaveLength(2);
    expect(await directory.senderKey({ ...b1.ref, device: 'never-published' })).toEqual({ reason: 'SENDER_UNKNOWN' });
  });

  it('signs membership records with keys verified before, once an attestation is gone', async () => {
    const { state, lookup } = hubDirectory([b1]);
    const directory = new Directory(lookup, pinnedTrust([pl]), 0);
    const key = fromBase64url(b1.device.publicKeys().signingKey);
    expect(await directory.signingKeyOf(b1.ref)).toEqual(key);
    state.published = [];
    expect(await directory.signingKeyOf(b1.ref)).toEqual(key);
    expect(await directory.signingKeyOf(b2.ref)).toBeUndefined();
  });

  it("gives the devices of an agency's officers, asked each time", async () => {
    const desk = await testDevice(ua, 'ncb.desk', 'desk-1');
    const { state, lookup } = hubDirectory([a1, desk, b1]);
    const directory = new Directory(lookup, pinnedTrust([ua, pl]), 30_000);
    expect((await directory.devicesOfAgency('UA-NPU')).map((r) => r.address).sort()).toEqual([
      'UA-NPU/a/device-1',
      'UA-NPU/ncb.desk/desk-1',
    ]);
    await directory.devicesOfAgency('UA-NPU');
    expect(state.lookups).toEqual([{ agency: 'UA-NPU' }, { agency: 'UA-NPU' }]);
  });
});
