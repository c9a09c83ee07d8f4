/**
 * Reading the hub's audit log as an auditor, and verifying its export (in Node.js and browsers).
 *
 * @module @ncp-hub/client-sdk/audit
 */
export * from '@ncp-hub/client-sdk/audit';
