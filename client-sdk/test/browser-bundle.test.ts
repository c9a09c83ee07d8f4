import { resolve } from 'node:path';
import { build, type Rollup } from 'vite';
import { describe, expect, it } from 'vitest';

/** The SDK must bundle for browsers: no Node built-ins reachable from its main entry point. */
describe('the browser bundle', () => {
  it('builds from @ncp-hub/client-sdk with no node: import and exports HubClient', async () => {
    const result = (await build({
      configFile: false,
      logLevel: 'silent',
      resolve: { conditions: ['@ncp-hub/source', 'browser', 'module', 'import', 'default'] },
      build: {
        write: false,
        minify: false,
        lib: { entry: resolve(import.meta.dirname, '../src/index.ts'), formats: ['es'], fileName: 'sdk' },
        rollupOptions: { external: (id) => id.startsWith('node:') },
      },
    })) as Rollup.RollupOutput[] | Rollup.RollupOutput;
    const outputs = (Array.isArray(result) ? result : [result]).flatMap((r) => r.output);
    const code = outputs.map((chunk) => ('code' in chunk ? chunk.code : '')).join('\n');
    expect(code).toContain('HubClient');
    expect(code).not.toMatch(/from\s+["']node:/);
    // libsodium's emscripten glue has a require('crypto') for Node only, behind a check for
    // globalThis.crypto; bundlers map it to an empty module. Nothing else may need a Node module.
    const libsodium = [
      code.indexOf('// node_modules/libsodium/dist'),
      code.indexOf('// node_modules/libsodium-wrappers/dist'),
    ];
    const nodeOnlyUses = [...code.matchAll(/require___vite_browser_external\(\)/g)].map((match) => match.index);
    for (const index of nodeOnlyUses) {
      expect(index).toBeGreaterThan(libsodium[0] as number);
      expect(index).toBeLessThan(libsodium[1] as number);
    }
    expect(code).not.toMatch(/require\(["'](?:node:)?(?:fs|path|crypto|net)["']\)/);
  }, 60_000);
});
