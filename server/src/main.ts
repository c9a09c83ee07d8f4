#!/usr/bin/env node
import { relative } from 'node:path';
import { RegistryError } from '@ncp-hub/keys';
import { loadConfig } from './config.js';
import { type Hub, StartupError, startHub } from './hub.js';

/** Errors the operator can fix: their message alone is printed (StartupError and its kinds, the registry's). */
const EXPECTED_ERRORS = [StartupError, RegistryError];

function printDevelopmentBanner(hub: Hub): void {
  const development = hub.development;
  if (!development) return;
  const keys = relative(process.cwd(), development.keysDir) || '.';
  const lines = [
    '',
    '================ DEVELOPMENT MODE: not for real cases ================',
    `Trusting the development agencies in ${relative(process.cwd(), development.registryDir)}.`,
    `Hub ${hub.url}  (HUB_ID=${hub.config.hubId}). Get a token for each identity with:`,
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
  const hub = await startHub(loadConfig());
  printDevelopmentBanner(hub);
  let signals = 0;
  const shutdown = (signal: NodeJS.Signals) => {
    signals += 1;
    if (signals > 1) process.exit(1);
    hub.logger.info({ signal }, 'shutting down');
    hub.stop().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  };
  process.on('SIGTERM', shutdown);
  process.on('SIGINT', shutdown);
}

main().catch((error: unknown) => {
  if (EXPECTED_ERRORS.some((type) => error instanceof type)) {
    process.stderr.write(`ncp-hub: cannot start: ${(error as Error).message}\n`);
  } else {
    process.stderr.write(`ncp-hub: cannot start: ${(error as Error)?.stack ?? String(error)}\n`);
  }
  process.exit(1);
});
