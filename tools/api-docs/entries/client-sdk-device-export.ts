/**
 * Moving a device between key stores under a passphrase.
 *
 * @module @ncp-hub/client-sdk/device-export
 */
export * from '@ncp-hub/client-sdk/device-export';
