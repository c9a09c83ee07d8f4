#!/usr/bin/env node
import { relative } from 'node:path';
import { RegistryError } from '@ncp-hub/keys';
import { loadConfig } from './config.js';
import { type Hub, StartupError, startHub } from './hub.js';
import { exitOnStopSignals } from './stop-signals.js';

/** Errors the operator can fix: their message alone is printed (StartupError and its kinds, the registry's). */
const EXPECTED_ERRORS = [StartupError, RegistryError];

/** The one line that says what to do about an error of `listen` (PORT, HOST), if it is one. */
function describeListenError(error: unknown): string | undefined {
  const { syscall, code, address, port } = (error ?? {}) as NodeJS.ErrnoException & { address?: string; port?: number };
  if (syscall !== 'listen') return undefined;
  const where = `${address}:${port}`;
  switch (code) {
    case 'EADDRINUSE':
      return `${where} is already in use (another hub or another program listens there): stop it, or set PORT to a free port (PORT=0 picks one)`;
    case 'EACCES':
      return `no permission to listen on ${where} (ports below 1024 need privileges): set PORT to 1024 or above`;
    case 'EADDRNOTAVAIL':
      return `HOST=${address} is not an address of this machine: set HOST to one of its addresses (127.0.0.1, or 0.0.0.0 for all)`;
    default:
      return `cannot listen on ${where} (${code}): check PORT and HOST`;
  }
}

function printDevelopmentBanner(hub: Hub): void {
  const development = hub.development;
  if (!development) return;
  const keys = relative(process.cwd(), development.keysDir) || '.';
  const lines = [
    '',
    '================ DEVELOPMENT MODE: not for real cases ================',
    `Trusting the development agencies in ${relative(process.cwd(), development.registryDir)}.`,
    `The web console: open ${hub.url}/ in two windows and click a different officer in each.`,
    `Hub ${hub.url}  (HUB_ID=${hub.config.hubId}). For code: get a token for each identity with:`,
    ...development.agencies.map(
      (agency) =>
        `  ${agency.id.padEnd(7)} ${agency.kind.padEnd(18)} npx ncp-keys issue-token --keys ${keys} --agency ${agency.id} --officer ${agency.officer} --roles ${agency.roles.join(',')} --audience ${hub.config.hubId}`,
    ),
    `Then: curl -H "Authorization: Bearer $TOKEN" ${hub.url}/v1/whoami`,
    '=======================================================================',
    '',
  ];
  process.stdout.write(`${lines.join('\n')}\n`);
}

async function main(): Promise<void> {
  const starting = startHub(loadConfig());
  // From the start: a SIGTERM while the hub starts stops it once started (a failed start is reported below).
  exitOnStopSignals(
    async (signal) => {
      const hub = await starting.catch(() => new Promise<never>(() => {}));
      hub.logger.info({ signal }, 'shutting down');
      await hub.stop();
      return 0;
    },
    (signal) => process.stderr.write(`ncp-hub: ${signal} again while stopping: exiting now\n`),
  );
  printDevelopmentBanner(await starting);
}

main().catch((error: unknown) => {
  const expected = EXPECTED_ERRORS.some((type) => error instanceof type) ? (error as Error).message : undefined;
  const line = expected ?? describeListenError(error) ?? (error as Error)?.stack ?? String(error);
  process.stderr.write(`ncp-hub: cannot start: ${line}\n`);
  process.exit(1);
});
