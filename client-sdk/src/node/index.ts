// The Node.js-only part of the SDK (`@ncp-hub/client-sdk/node`): what needs node:fs and the like.
export { FileKeyStore, KeyStoreFileError } from './file-key-store.js';
