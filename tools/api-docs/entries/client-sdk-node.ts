/**
 * The Node.js-only part of the SDK: the key store kept in a file.
 *
 * @module @ncp-hub/client-sdk/node
 */
export * from '@ncp-hub/client-sdk/node';
