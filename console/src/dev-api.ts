// The hub's development sign-in routes (PROTOCOL: development mode only; a hub in production
// answers them as an unknown route).
import type { DevicePublicKeys } from '@ncp-hub/client-sdk';

/** An identity the development hub signs in with one click. */
export interface DevIdentity {
  agency: string;
  agencyName: string;
  country: string;
  officer: string;
  roles: string[];
  label: string;
}

/** What `POST /v1/dev/sign-in` answers. */
export interface DevSignIn {
  token: string;
  /** The device attestation, when the device's public keys were sent. */
  attestation: string | null;
}

/** A hub's refusal, with its code when the hub gave one. */
export class ApiError extends Error {
  override name = 'ApiError';
  readonly code: string | undefined;
  constructor(message: string, code?: string) {
    super(message);
    this.code = code;
  }
}

async function failure(response: Response): Promise<ApiError> {
  const body = (await response.json().catch(() => undefined)) as
    | { error?: { code?: string; message?: string } }
    | undefined;
  return new ApiError(body?.error?.message ?? `HTTP ${response.status}`, body?.error?.code);
}

/** The development identities, or `undefined` when the hub is not in development mode. */
export async function fetchDevIdentities(): Promise<DevIdentity[] | undefined> {
  const response = await fetch('/v1/dev/identities', { headers: { accept: 'application/json' } });
  if (response.status === 404) return undefined;
  if (!response.ok) throw await failure(response);
  return ((await response.json()) as { identities: DevIdentity[] }).identities;
}

/** Signs in a development identity; with the device's public keys, the hub attests the device too. */
export async function devSignIn(
  who: { agency: string; officer: string },
  device?: DevicePublicKeys,
): Promise<DevSignIn> {
  const response = await fetch('/v1/dev/sign-in', {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept: 'application/json' },
    body: JSON.stringify({ agency: who.agency, officer: who.officer, ...device }),
  });
  if (!response.ok) throw await failure(response);
  return (await response.json()) as DevSignIn;
}
