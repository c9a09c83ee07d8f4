/**
 * Version of the wire protocol spoken between the hub and its clients.
 * Bumped on every incompatible change to events, frames or error codes.
 */
export const PROTOCOL_VERSION = 1 as const;
