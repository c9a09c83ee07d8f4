import { join, resolve } from 'node:path';
import { build } from 'vite';

/** The console workspace (console/). */
export const CONSOLE_ROOT = resolve(import.meta.dirname, '../../console');

/** Where the browser tests write their screenshots (ignored by git). */
export const TEST_RESULTS_DIR = resolve(import.meta.dirname, '../../test-results');

/** Builds the web console with its own Vite configuration into `outDir`, as `npm run console:build` does into console/dist. */
export async function buildConsole(outDir: string): Promise<void> {
  await build({
    root: CONSOLE_ROOT,
    configFile: join(CONSOLE_ROOT, 'vite.config.ts'),
    logLevel: 'warn',
    build: { outDir, emptyOutDir: true },
  });
}
