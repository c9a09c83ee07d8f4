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
    // The glue is there twice: libsodium, and libsodium-sumo (crypto_pwhash, in its own chunk).
    const glue = (build: string) => [
      code.indexOf(`// node_modules/${build}/dist`),
      code.indexOf(`// node_modules/${build.replace('libsodium', 'libsodium-wrappers')}/dist`),
    ];
    const regions = [glue('libsodium'), glue('libsodium-sumo')];
    for (const [start, end] of regions) expect(start).toBeLessThan(end as number);
    const nodeOnlyUses = [...code.matchAll(/require___vite_browser_external\(\)/g)].map((match) => match.index);
    expect(nodeOnlyUses.length).toBeGreaterThan(0);
    for (const index of nodeOnlyUses) {
      expect(regions.some(([start, end]) => index > (start as number) && index < (end as number))).toBe(true);
    }
    expect(code).not.toMatch(/require\(["'](?:node:)?(?:fs|path|crypto|net)["']\)/);
  }, 60_000);
});
