import { accessSync, constants } from 'node:fs';
import { access } from 'node:fs/promises';
import { resolve } from 'node:path';
import { type Browser, chromium } from 'playwright-core';
import { build, type Rollup } from 'vite';

/** Debian's Chromium, as .ci/run installs it; the tests never download a browser. */
export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

/**
 * Why the Chromium tests cannot run on this machine, or `undefined` when they can. A fresh
 * clone without Chromium still passes `npm test` (those tests say why and are skipped), but
 * where `CI` is set a missing Chromium is not a reason: the tests run and fail, because
 * .ci/run installs it.
 */
export function chromiumSkipReason(): string | undefined {
  if (process.env.CI) return undefined;
  try {
    accessSync(CHROMIUM, constants.X_OK);
    return undefined;
  } catch {
    return `no Chromium at ${CHROMIUM} (apt-get install chromium, or set CHROMIUM_PATH); set CI=true to fail instead`;
  }
}

/** Starts headless Chromium with no network of its own beyond the pages it is sent to. */
export async function launchChromium(): Promise<Browser> {
  await access(CHROMIUM).catch(() => {
    throw new Error(`${CHROMIUM} is missing: install Debian's chromium (apt-get install chromium), as .ci/run does`);
  });
  return chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
}

/**
 * The SDK's public entry point bundled for browsers (one ES module), as an agency's web
 * application would bundle it. `node:` imports are left unresolved, so that a test can see
 * any that slipped in.
 */
export async function bundleSdkForBrowser(): Promise<string> {
  const result = (await build({
    configFile: false,
    logLevel: 'silent',
    resolve: { conditions: ['@ncp-hub/source', 'browser', 'module', 'import', 'default'] },
    build: {
      write: false,
      minify: false,
      lib: { entry: resolve(import.meta.dirname, '../../client-sdk/src/index.ts'), formats: ['es'], fileName: 'sdk' },
      rollupOptions: { external: (id) => id.startsWith('node:') },
    },
  })) as Rollup.RollupOutput[] | Rollup.RollupOutput;
  const chunks = (Array.isArray(result) ? result : [result]).flatMap((output) => output.output);
  return chunks.map((chunk) => ('code' in chunk ? chunk.code : '')).join('\n');
}
