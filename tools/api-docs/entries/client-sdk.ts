/**
 * The SDK agencies embed, in Node.js and in browsers: {@link HubClient} and the key stores.
 * Runnable examples: `examples/` in the repository (`npm run example:two-officers`).
 *
 * @module @ncp-hub/client-sdk
 */
export * from '@ncp-hub/client-sdk';
