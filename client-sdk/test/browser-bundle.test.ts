import { describe, expect, it } from 'vitest';
import { bundleSdkForBrowser } from '../../test/helpers/browser.js';

/** The SDK must bundle for browsers: no Node built-ins reachable from its main entry point. */
describe('the browser bundle', () => {
  it('builds from @ncp-hub/client-sdk with no node: import and exports HubClient', async () => {
    const code = await bundleSdkForBrowser();
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
    // Moving a device needs libsodium's larger build: in its own entry point, never in this one.
    expect(code).not.toContain('libsodium-sumo');
  }, 60_000);
});
