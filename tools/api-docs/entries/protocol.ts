/**
 * The wire contract of the hub: ids, encodings, every frame as a zod schema, the event maps,
 * limits and the error model. For a client in another language, see `docs/PROTOCOL.md`.
 *
 * @module @ncp-hub/protocol
 */
export * from '@ncp-hub/protocol';
