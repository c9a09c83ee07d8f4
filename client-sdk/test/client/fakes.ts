/**
 * Small stand-ins for the parts below the one under test (the connection, above all), and
 * real devices: libsodium keys, agency keys and attestations are real in every unit test.
 */
import { type AgencyKeyPair, generateAgencyKey, issueDeviceAttestation } from '@ncp-hub/keys';
import {
  type ClientEventName,
  type ClientEventResult,
  type DeviceRef,
  deviceAddress,
  type HubErrorCode,
  hubError,
  type Identity,
  type OfficerRef,
} from '@ncp-hub/protocol';
import type { HubRequester, RequestArgs } from '../../src/client/connection.js';
import { LocalDevice } from '../../src/client/local-device.js';
import { MemoryKeyStore } from '../../src/store/index.js';
import { TrustStore } from '../../src/trust/trust-store.js';

/** One request the fake hub was sent. */
export interface Call {
  event: ClientEventName;
  // biome-ignore lint/suspicious/noExplicitAny: tests look into payloads of every event
  payload: any;
}

/** Answers a request: the fields of a successful answer, or throws (e.g. {@link refusal}). */
export type Answer = (call: Call) => unknown | Promise<unknown>;

/** The connection as the parts see it: requests go to `answer`, and are recorded. */
export class FakeHub implements HubRequester {
  answer: Answer;
  connected = true;
  readonly calls: Call[] = [];

  constructor(answer: Answer = () => ({})) {
    this.answer = answer;
  }

  async request<E extends ClientEventName>(event: E, ...payload: RequestArgs<E>): Promise<ClientEventResult<E>> {
    const call: Call = { event, payload: payload[0] };
    this.calls.push(call);
    if (!this.connected) throw hubErrorOf('NOT_CONNECTED');
    return (await this.answer(call)) as ClientEventResult<E>;
  }

  /** The payloads of the calls of one event. */
  // biome-ignore lint/suspicious/noExplicitAny: see Call
  sent(event: ClientEventName): any[] {
    return this.calls.filter((call) => call.event === event).map((call) => call.payload);
  }
}

/** The error a hub (or the SDK) raises with `code`. */
export function hubErrorOf(code: Exclude<HubErrorCode, 'UNDECRYPTABLE'>, missing?: string[]) {
  return hubError(code, code.toLowerCase(), missing ? { missing } : {});
}

/** An agency with real keys. */
export interface FakeAgency {
  id: string;
  key: AgencyKeyPair;
}

export async function fakeAgency(id: string): Promise<FakeAgency> {
  return { id, key: await generateAgencyKey('EdDSA') };
}

/** A device with real keys, its attestation by its agency, and (when connected) its identity. */
export interface TestDevice {
  device: LocalDevice;
  ref: DeviceRef;
  officer: OfficerRef;
  attestation: string;
}

/** A device of `officer` of `agency` with fresh keys, welcomed (its identity set), and attested. */
export async function testDevice(
  agency: FakeAgency,
  officer: string,
  id = 'device-1',
  country = 'UA',
): Promise<TestDevice> {
  const device = await LocalDevice.load(new MemoryKeyStore(), id);
  const identity: Identity = {
    agency: agency.id,
    agencyKind: 'police',
    country,
    officer,
    roles: ['officer'],
    expiresAt: Math.floor(Date.now() / 1000) + 600,
  };
  device.identity = identity;
  const { encryptionKey, signingKey } = device.publicKeys();
  const attestation = await issueDeviceAttestation({
    agency: agency.id,
    officer,
    device: id,
    encryptionKey,
    signingKey,
    privateJwk: agency.key.privateJwk,
  });
  return { device, ref: device.ref, officer: { agency: agency.id, officer }, attestation };
}

/** A trust store that pins `agencies`' keys (nothing trusted on first use, no request made). */
export function pinnedTrust(agencies: FakeAgency[], events: unknown[] = []): TrustStore {
  return new TrustStore(
    new MemoryKeyStore(),
    async () => [],
    Object.fromEntries(agencies.map((a) => [a.id, { keys: [a.key.publicJwk] }])),
    (event, ...args) => events.push([event, ...args]),
  );
}

/** `directory:devices` answers from a list of devices (an officer's attestations, by address). */
export function directoryOf(devices: TestDevice[]): Record<string, string[]> {
  const byOfficer: Record<string, string[]> = {};
  for (const d of devices) {
    const officer = `${d.ref.agency}/${d.ref.officer}`;
    byOfficer[officer] = [...(byOfficer[officer] ?? []), d.attestation];
  }
  return byOfficer;
}

export { deviceAddress };
