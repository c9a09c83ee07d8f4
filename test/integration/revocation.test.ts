/**
 * Revocation (issue 9, item 4), with two hub nodes on one Redis, real sockets and real SDK
 * clients. A key revoked withdraws from the directory, on every node, the devices it attested,
 * keeping those attested by the agency's other keys, and an SDK that had believed such a
 * device is told (`deviceRejected`, `KEY_REVOKED`) and seals to it no more. An officer or one
 * device revoked in the agency's registry entry (`revoked`): the sessions of that identity end
 * (`session:expired` with `AUTH_OFFICER_REVOKED` / `AUTH_DEVICE_REVOKED`) on every node, also
 * on a node whose own registry has not changed yet (through the cluster adapter), new ones are
 * refused with the same code, and their devices leave the directory; a revocation lifted lets
 * the device in again (ncp-keys revoke --officer / --device: keys/test/cli.test.ts). The second node reads a registry folder of its own, so that the first
 * node's reload alone is what reaches the second node's sockets.
 */
import { cp, rm } from 'node:fs/promises';
import { join } from 'node:path';
import {
  type AuditEntry,
  createRegistryEntry,
  generateAgencyKey,
  type RegistryEntry,
  registryEntrySchema,
  writeRegistryEntry,
} from '@ncp-hub/keys';
import { type ConversationBasis, EVENTS, type HubErrorBody } from '@ncp-hub/protocol';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { type TestAgency, tokenFor } from '../helpers/agencies.js';
import { startTestHub, type TestHub } from '../helpers/hub.js';
import { closeAllClients, connectDevice, record, waitForCount } from '../helpers/officers.js';
import {
  attestationOf,
  connect,
  createConversation,
  envelopeFrom,
  publish,
  published,
  type RawDevice,
  request,
} from '../helpers/raw-devices.js';
import { type ClientSocket, closeAllSockets, connectOfficer, refusal } from '../helpers/sockets.js';
import { waitFor } from '../helpers/wait-for.js';

const basis: ConversationBasis = {
  type: 'formal-request',
  reference: 'MLA/2026/0077',
  caseReference: '12026100000000077',
};

let hub: TestHub;
/** A second node of the same hub (same Redis and prefix), reading its own copy of the registry. */
let peer: TestHub;
let peerRegistry: string;
let run = 0;

beforeAll(async () => {
  hub = await startTestHub();
  peerRegistry = join(hub.dataDir, 'peer-registry');
  await cp(hub.registryDir, peerRegistry, { recursive: true });
  peer = await startTestHub({ TRUST_REGISTRY: peerRegistry }, { peerOf: hub });
});
beforeEach(() => {
  run += 1;
});
afterEach(async () => {
  closeAllSockets();
  await closeAllClients();
});
afterAll(async () => {
  await peer?.stop();
  await hub?.stop();
});

/** Writes an agency's entry into the registry folders of `nodes` and has each reload it. */
async function writeEntry(entry: RegistryEntry, nodes: Array<'hub' | 'peer'> = ['hub', 'peer']): Promise<void> {
  for (const node of nodes) {
    const [dir, holder] = node === 'hub' ? [hub.registryDir, hub.hub.registry] : [peerRegistry, peer.hub.registry];
    await writeRegistryEntry(dir, registryEntrySchema.parse(entry));
    await holder.reload();
  }
}

/** A new police agency of this run, in both nodes' registries. */
async function newAgency(prefix: string): Promise<TestAgency> {
  const key = await generateAgencyKey('EdDSA');
  const agency: TestAgency = { id: `${prefix}-${run}`, name: `Agency ${prefix}`, country: 'UA', kind: 'police', key };
  await writeEntry(createRegistryEntry(agency, [key.publicJwk]));
  return agency;
}

/** The attestations `directory:devices` lists for one officer, asked on the node of `asker`. */
async function devicesOf(asker: RawDevice | ClientSocket, agency: string, officer: string): Promise<string[]> {
  const socket = 'socket' in asker ? asker.socket : asker;
  const answer = await request(socket, EVENTS.directoryDevices, { officers: [{ agency, officer }] });
  expect(answer.ok).toBe(true);
  return (answer as unknown as { devices: Record<string, string[]> }).devices[`${agency}/${officer}`] ?? [];
}

/** The `session:expired` body of a socket and why it disconnected. */
function ending(socket: ClientSocket): Promise<{ body: HubErrorBody; reason: string }> {
  const body = new Promise<HubErrorBody>((resolve) => socket.once(EVENTS.sessionExpired, resolve));
  const reason = new Promise<string>((resolve) => socket.once('disconnect', resolve));
  return Promise.all([body, reason]).then(([b, r]) => ({ body: b, reason: r }));
}

describe('an agency key revoked', () => {
  it("withdraws what it attested on every node, keeps the other keys' devices, and the SDK is told", async () => {
    const agency = await newAgency('UA-KEY');
    const ua = { agency: agency.id, officer: `ua.first.${run}` };
    await connectDevice(hub.url, agency, ua.officer, { device: 'ua-1' });
    // The sender reads the directory at every send, so that what it is told depends on no timer.
    const pl = await connectDevice(peer.url, peer.agencies['PL-KGP'], `pl.${run}`, {
      device: 'pl-1',
      directoryRefreshMs: 0,
    });
    const rejected = record(pl, 'deviceRejected');
    // One that pinned the agency's first key out of band: a key the hub no longer lists is dropped all the same.
    const pinned = await connectDevice(peer.url, peer.agencies['PL-KGP'], `pl.pinned.${run}`, {
      device: 'pinned-1',
      pin: [agency],
      directoryRefreshMs: 0,
    });
    const pinnedRejected = record(pinned, 'deviceRejected');
    await pinned.safetyNumber(ua);
    // Another device of the sender, so that a message has a recipient once ua-1 is gone.
    const plOther = await connectDevice(hub.url, hub.agencies['PL-KGP'], `pl.${run}`, { device: 'pl-2' });
    const plOtherMessages = record(plOther, 'message');
    const conversation = await pl.createConversation({ kind: 'direct', members: [ua], basis });
    const first = await pl.send(conversation.id, 'sealed to ua-1, attested with the first key');
    expect(first.id).toBeTruthy();

    // Rotation: a second key beside the first; a device of another officer attested with it.
    const second = await generateAgencyKey('EdDSA');
    const rotated: TestAgency = { ...agency, key: second };
    await writeEntry(createRegistryEntry(agency, [agency.key.publicJwk, second.publicJwk]));
    await connectDevice(hub.url, rotated, `ua.second.${run}`, { device: 'ua-2' });
    // A device attested with the first key whose officer's token is of the second: its session outlives the revocation.
    const mixed = await connect(hub, rotated, `ua.mixed.${run}`, 'm-1');
    await publish(mixed, await attestationOf({ ...mixed, agency }));
    const partner = await published(peer, peer.agencies['PL-KGP'], `pl.partner.${run}`, 'p-1');
    const mixedConversation = await createConversation(mixed, partner, run);
    const asker = await connect(peer, peer.agencies['PL-KGP'], `pl.asker.${run}`, 'asker-1');
    expect(await devicesOf(asker, agency.id, ua.officer)).toHaveLength(1);

    // The first key revoked: the hub nodes reload (each its own folder).
    await writeEntry(createRegistryEntry(agency, [second.publicJwk]));
    await waitFor(async () => (await devicesOf(asker, agency.id, ua.officer)).length === 0);
    const hubAsker = await connect(hub, hub.agencies['PL-KGP'], `pl.asker.${run}`, 'asker-2');
    expect(await devicesOf(hubAsker, agency.id, ua.officer)).toEqual([]);
    expect(await devicesOf(hubAsker, agency.id, `ua.second.${run}`)).toHaveLength(1);
    // Withdrawn, the device that stays connected can store nothing more until it publishes an attestation of a current key.
    const envelope = await envelopeFrom(mixed, mixedConversation, [partner]);
    expect(await request(mixed.socket, EVENTS.messageSend, { envelope })).toMatchObject({
      ok: false,
      error: { code: 'DEVICE_NOT_PUBLISHED' },
    });
    expect(mixed.socket.connected).toBe(true);

    // The SDK that believed ua-1 is told at its next look-up, and seals to it no more.
    const after = await pl.send(conversation.id, 'after the revocation');
    await waitForCount(rejected, 1);
    await waitFor(() => plOtherMessages.some((message) => message.id === after.id));
    expect(rejected).toEqual([{ officer: `${agency.id}/${ua.officer}`, device: 'ua-1', reason: 'KEY_REVOKED' }]);
    // ua has no device it believes any more: no safety number, and the device is reported.
    await expect(pinned.safetyNumber(ua)).rejects.toThrow('at least one signing key');
    expect(pinnedRejected).toEqual(rejected);
  });
});

describe('an officer revoked in the registry entry', () => {
  it('ends its sessions on both nodes at once, refuses new ones and withdraws its devices', async () => {
    const agency = await newAgency('PL-OFF');
    const officer = `o.revoked.${run}`;
    const here = await published(hub, agency, officer, 'd-1');
    const there = await published(peer, agency, officer, 'd-2');
    const { socket: deviceless } = await connectOfficer(peer.url, await tokenFor(agency, { officer }));
    const colleague = await published(peer, agency, `o.kept.${run}`, 'k-1');
    const endings = [here.socket, there.socket, deviceless].map(ending);

    // Only the first node's registry changes: the second node's sockets are closed through the adapter.
    const entry = createRegistryEntry(agency, [agency.key.publicJwk]);
    await writeEntry({ ...entry, revoked: { officers: [officer] } }, ['hub']);
    for (const { body, reason } of await Promise.all(endings)) {
      expect(body).toEqual({ code: 'AUTH_OFFICER_REVOKED', message: 'the agency has revoked this officer' });
      expect(reason).toBe('io server disconnect');
    }
    expect(await refusal(hub.url, { token: await tokenFor(agency, { officer }), device: 'd-1' })).toMatchObject({
      code: 'AUTH_OFFICER_REVOKED',
    });
    const response = await fetch(`${hub.url}/v1/queries`, {
      headers: { authorization: `Bearer ${await tokenFor(agency, { officer })}` },
    });
    expect(response.status).toBe(401);
    expect(await response.json()).toMatchObject({ error: { code: 'AUTH_OFFICER_REVOKED' } });

    // Its devices are gone from the directory (one Redis), the colleague's stay, the colleague's socket lives on.
    await waitFor(async () => (await devicesOf(colleague, agency.id, officer)).length === 0);
    expect(await devicesOf(colleague, agency.id, `o.kept.${run}`)).toHaveLength(1);
    expect(colleague.socket.connected).toBe(true);

    // The second node refuses too once its own registry says so.
    await writeEntry({ ...entry, revoked: { officers: [officer] } }, ['peer']);
    expect(await refusal(peer.url, { token: await tokenFor(agency, { officer }) })).toMatchObject({
      code: 'AUTH_OFFICER_REVOKED',
    });
  });
});

describe('one device revoked in the registry entry', () => {
  it("closes that device's sockets on every node, refuses it, withdraws it, and lets it in once lifted", async () => {
    const agency = await newAgency('UA-DEV');
    const officer = `o.devices.${run}`;
    const kept = await published(hub, agency, officer, 'd-1');
    const revoked = await published(peer, agency, officer, 'd-2');
    const ended = ending(revoked.socket);

    const entry = createRegistryEntry(agency, [agency.key.publicJwk]);
    await writeEntry({ ...entry, revoked: { devices: [`${officer}/d-2`] } }, ['hub']);
    expect(await ended).toEqual({
      body: { code: 'AUTH_DEVICE_REVOKED', message: 'the agency has revoked this device' },
      reason: 'io server disconnect',
    });
    const token = await tokenFor(agency, { officer });
    expect(await refusal(hub.url, { token, device: 'd-2' })).toMatchObject({ code: 'AUTH_DEVICE_REVOKED' });

    // The officer's other devices are untouched, and told that d-2 left the directory.
    await waitFor(() => kept.updates.some((update) => update.device === 'd-2'));
    expect(kept.updates).toContainEqual({ officer: { agency: agency.id, officer }, device: 'd-2' });
    const listed = await devicesOf(kept, agency.id, officer);
    expect(listed).toHaveLength(1);
    // The withdrawal is in the audit log once, as the hub's act, for the agency's auditors.
    const auditor = { authorization: `Bearer ${await tokenFor(agency, { officer: 'auditor', roles: ['auditor'] })}` };
    const withdrawals = async () => {
      const page = (await (await fetch(`${hub.url}/v1/audit/entries?limit=500`, { headers: auditor })).json()) as {
        entries: AuditEntry[];
      };
      return page.entries.filter((e) => e.type === 'directory.withdrawn');
    };
    await waitFor(async () => (await withdrawals()).length > 0);
    expect(await withdrawals()).toEqual([
      expect.objectContaining({
        actor: 'hub',
        agencies: [agency.id],
        data: { officer, device: 'd-2', reason: 'AUTH_DEVICE_REVOKED' },
      }),
    ]);
    expect(kept.socket.connected).toBe(true);
    const third = await connect(hub, agency, officer, 'd-3');
    expect(third.socket.connected).toBe(true);

    // Lifted: the device connects again and publishes anew.
    await writeEntry(entry);
    const back = await connect(hub, agency, officer, 'd-2');
    await publish({ ...back, keys: revoked.keys });
    expect(await devicesOf(kept, agency.id, officer)).toHaveLength(2);
  });
});

describe('a registry changed while no node ran', () => {
  it('withdraws at the next start the devices it no longer vouches for', async () => {
    const first = await startTestHub();
    const police = first.agencies['UA-NPU'];
    const prosecutor = first.agencies['PL-PK'];
    await published(first, police, 'o.revoked', 'd-1');
    await published(first, police, 'o.kept', 'd-1');
    await published(first, prosecutor, 'p.removed', 'd-1');
    closeAllSockets();
    await first.stop({ keepFiles: true });

    // The officer revoked and the prosecutor's agency removed while the hub was down.
    const entry = createRegistryEntry(police, [police.key.publicJwk]);
    await writeRegistryEntry(
      first.registryDir,
      registryEntrySchema.parse({ ...entry, revoked: { officers: ['o.revoked'] } }),
    );
    await rm(join(first.registryDir, `${prosecutor.id}.json`));
    const next = await startTestHub({}, { successorOf: first });
    try {
      const asker = await connect(next, next.agencies['UA-NPU'], 'o.asker', 'a-1');
      await waitFor(async () => (await devicesOf(asker, police.id, 'o.revoked')).length === 0);
      await waitFor(async () => (await devicesOf(asker, prosecutor.id, 'p.removed')).length === 0);
      expect(await devicesOf(asker, police.id, 'o.kept')).toHaveLength(1);
    } finally {
      closeAllSockets();
      await next.stop();
    }
  });
});
