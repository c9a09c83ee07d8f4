/**
 * What both examples share: where the hub is, an officer's device opened on the SDK's
 * public API, waiting for an SDK event, numbered steps, and one exit path that turns any
 * failure into a clear message and a non-zero exit code.
 */
import { access } from 'node:fs/promises';
import { dirname, join, relative } from 'node:path';
import { HubClient, type HubClientEvents, HubError } from '@ncp-hub/client-sdk';
import { FileKeyStore } from '@ncp-hub/client-sdk/node';
import { attestDevelopmentDevice, developmentKeysDir, issueDevelopmentOfficerToken } from '@ncp-hub/keys';
import type { Role } from '@ncp-hub/protocol';

/** A failure the example explains itself: printed as is, without a stack. */
export class ExampleError extends Error {
  override name = 'ExampleError';
}

/** The hub: `HUB_URL`, or the development hub's address. */
export const HUB_URL = (process.env.HUB_URL || 'http://127.0.0.1:8080').replace(/\/$/, '');

/** How long one wait (a connection, an event) may take before the example gives up. */
const WAIT_MS = 15_000;

let stepNumber = 0;

/** Prints the next numbered step. */
export function step(text: string): void {
  stepNumber += 1;
  console.log(`${String(stepNumber).padStart(2)}. ${text}`);
}

/** Prints a detail of the step before. */
export function detail(text: string): void {
  console.log(`    ${text}`);
}

const cleanups: Array<() => Promise<void>> = [];

/**
 * Runs an example: checks the hub and the development keys, runs `main`, closes every
 * device it opened, and sets the exit code (0 on success, 1 with a message on failure).
 */
export async function runExample(title: string, main: (keysDir: string) => Promise<void>): Promise<void> {
  const keysDir = developmentKeysDir();
  console.log(`ncp-hub example: ${title}`);
  const shown = relative(process.cwd(), keysDir);
  console.log(`hub ${HUB_URL}, development keys ${shown.startsWith('..') ? keysDir : shown}`);
  try {
    await checkHub();
    await checkKeys(keysDir);
    await main(keysDir);
    process.exitCode = 0;
  } catch (error) {
    console.error(`FAILED: ${explain(error)}`);
    process.exitCode = 1;
  } finally {
    for (const cleanup of cleanups.reverse()) await cleanup().catch(() => {});
  }
}

async function checkHub(): Promise<void> {
  let response: Response;
  try {
    response = await fetch(`${HUB_URL}/healthz`, { signal: AbortSignal.timeout(5_000) });
  } catch (error) {
    const cause = (error as { cause?: { code?: string } }).cause?.code ?? (error as Error).name;
    throw new ExampleError(
      `no hub answers at ${HUB_URL} (${cause}): start the hub with npm start in another terminal, or set HUB_URL`,
    );
  }
  if (!response.ok) throw new ExampleError(`${HUB_URL}/healthz answered HTTP ${response.status}: is this the hub?`);
}

async function checkKeys(keysDir: string): Promise<void> {
  await access(keysDir).catch(() => {
    throw new ExampleError(
      `no development keys in ${keysDir}: start the hub with npm start (with no TRUST_REGISTRY it creates them ` +
        'under .data/dev/keys), or set NCP_DEV_KEYS to the keys folder of the hub you run',
    );
  });
}

function explain(error: unknown): string {
  if (error instanceof ExampleError) return error.message;
  if (error instanceof HubError) {
    const hint = error.code.startsWith('AUTH_')
      ? ': the hub refused a development token; is it running in development mode with these keys (NCP_DEV_KEYS)?'
      : '';
    return `the hub refused: ${error.code} (${error.message})${hint}`;
  }
  return error instanceof Error ? (error.stack ?? error.message) : String(error);
}

/** Rejects with `message` after {@link WAIT_MS}, unless `promise` settles first. */
export async function within<T>(promise: Promise<T>, message: string, ms = WAIT_MS): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new ExampleError(`${message} (waited ${ms / 1000} s)`)), ms);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * The first emission of `event` that passes `accept`, from now on. Call it before the action
 * that causes the event, then await it.
 */
export function nextEvent<E extends keyof HubClientEvents>(
  client: HubClient,
  event: E,
  accept: (value: Parameters<HubClientEvents[E]>[0]) => boolean,
  waitingFor: string,
): Promise<Parameters<HubClientEvents[E]>[0]> {
  let listener: HubClientEvents[E] | undefined;
  const seen = new Promise<Parameters<HubClientEvents[E]>[0]>((resolve) => {
    listener = ((value: Parameters<HubClientEvents[E]>[0]) => {
      if (accept(value)) resolve(value);
    }) as HubClientEvents[E];
    client.on(event, listener);
  });
  return within(seen, `no ${String(event)} event: ${waitingFor}`).finally(() => {
    if (listener) client.off(event, listener);
  });
}

/**
 * Every emission of `event` from now on, for a later {@link waitUntil}: for events that may
 * come before the caller knows what to look for (a notification before `openQuery` resolves).
 */
export function collect<E extends keyof HubClientEvents>(
  client: HubClient,
  event: E,
): Array<Parameters<HubClientEvents[E]>[0]> {
  const seen: Array<Parameters<HubClientEvents[E]>[0]> = [];
  client.on(event, ((value: Parameters<HubClientEvents[E]>[0]) => seen.push(value)) as HubClientEvents[E]);
  return seen;
}

/** Resolves with the first defined value of `probe`, polled, or rejects after {@link WAIT_MS}. */
export function waitUntil<T>(probe: () => T | undefined, waitingFor: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const found = new Promise<T>((resolve) => {
    const poll = () => {
      const value = probe();
      if (value === undefined) timer = setTimeout(poll, 20);
      else resolve(value);
    };
    poll();
  });
  return within(found, waitingFor).finally(() => clearTimeout(timer));
}

/** Options of {@link openOfficerDevice}. */
export interface OfficerDeviceOptions {
  keysDir: string;
  agency: string;
  officer: string;
  roles: Role[];
  device: string;
}

/**
 * An officer's device as an agency's application opens it: device keys made on first use and
 * kept in a {@link FileKeyStore} (beside the development keys, in `example-devices/`, so a
 * second run is the same device), a token from the agency at every (re)connection, connected,
 * and the agency's attestation of the device keys published.
 */
export async function openOfficerDevice(options: OfficerDeviceOptions): Promise<HubClient> {
  const { keysDir, agency, officer, roles, device } = options;
  // One token now, so that a missing key is reported here rather than at each reconnection.
  await issueDevelopmentOfficerToken({ keysDir, agency, officer, roles }).catch((error: unknown) => {
    throw new ExampleError(
      `cannot sign a token for ${agency}: ${(error as Error).message}; is NCP_DEV_KEYS the keys folder of the hub you run?`,
    );
  });
  const store = await FileKeyStore.open(
    join(dirname(keysDir), 'example-devices', `${agency}.${officer}.${device}.json`),
  );
  const client = await HubClient.create({
    url: HUB_URL,
    // A fresh token at every (re)connection, as an agency's identity system would give.
    token: () => issueDevelopmentOfficerToken({ keysDir, agency, officer, roles }),
    device,
    store,
  });
  cleanups.push(async () => {
    await client.close();
    await store.close();
  });
  client.on('error', (error) => console.error(`    (${officer}: ${explain(error)})`));
  await within(client.connect(), `${agency}/${officer} could not connect to ${HUB_URL}`);
  await client.publishDevice(
    await attestDevelopmentDevice({ keysDir, agency, officer, publicKeys: client.publicKeys() }),
  );
  return client;
}
