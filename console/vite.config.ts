import preact from '@preact/preset-vite';
import { defineConfig } from 'vite';

/** Where `npm run dev --workspace=@ncp-hub/console` sends API and socket requests. */
const hub = process.env.HUB_URL ?? 'http://127.0.0.1:8080';

export default defineConfig({
  plugins: [preact()],
  // The SDK and the protocol from their TypeScript sources, as the browser test bundles them:
  // no need for their dist/ first.
  resolve: { conditions: ['@ncp-hub/source', 'browser', 'module', 'import', 'default'] },
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    // The hub's CSP forbids inline script and style: no polyfill injected, no CSS inlined.
    modulePreload: { polyfill: false },
    assetsInlineLimit: 0,
    cssCodeSplit: false,
    reportCompressedSize: true,
    target: 'es2022',
    // libsodium (its WebAssembly inside the script) is most of the main chunk (~800 kB, ~260 kB
    // gzipped, with the SDK, zod, jose and socket.io); the sumo build that passphrase hashing needs
    // is a chunk of its own, loaded only to export or import a device.
    chunkSizeWarningLimit: 900,
  },
  server: {
    proxy: {
      '/v1': hub,
      '/socket.io': { target: hub, ws: true },
    },
  },
});
