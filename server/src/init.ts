#!/usr/bin/env node
/**
 * `npm run hub-init`: makes what the hub nodes of one DATA_DIR share — the hub key
 * (`DATA_DIR/hub-keys/`, unless HUB_KEY_FILE) and, without TRUST_REGISTRY, the development
 * registry (`DATA_DIR/dev/`) — once, under the DATA_DIR lock, and exits. Nodes make them
 * themselves on first start (under the same lock); this is the explicit step for images and
 * compose files that prefer one. Run again, it changes nothing.
 */
import { RegistryError } from '@ncp-hub/keys';
import { loadConfig } from './config.js';
import { resolveTrustRegistry, StartupError } from './hub.js';
import { loadOrCreateHubKey } from './identity/hub-key.js';
import { createLogger } from './logger.js';

async function main(): Promise<void> {
  const config = loadConfig();
  const logger = createLogger(config).child({ role: 'init' });
  const { dir, development } = await resolveTrustRegistry(config, logger);
  const hubKey = await loadOrCreateHubKey(config.dataDir, config.hubKeyFile);
  process.stdout.write(
    `${JSON.stringify({ hubKey: hubKey.kid, registry: dir, developmentRegistryCreated: development?.created ?? false })}\n`,
  );
}

main().catch((error: unknown) => {
  const expected = [StartupError, RegistryError].some((type) => error instanceof type);
  process.stderr.write(
    `ncp-hub init: ${expected ? (error as Error).message : ((error as Error)?.stack ?? String(error))}\n`,
  );
  process.exit(1);
});
