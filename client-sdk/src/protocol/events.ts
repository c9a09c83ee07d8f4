import { z } from 'zod';
import type { HubErrorBody } from './errors.js';
import { type Identity, identitySchema } from './identity.js';
import { PROTOCOL_VERSION } from './version.js';

/** Names of every Socket.IO event of the protocol. */
export const EVENTS = {
  /** client -> hub, with ack: the verified identity of this connection. */
  sessionWhoami: 'session:whoami',
  /** hub -> client, once, right after the connection is accepted. */
  sessionWelcome: 'session:welcome',
  /** hub -> client, just before the hub disconnects a socket whose token expired. */
  sessionExpired: 'session:expired',
} as const;

/** Answer of every acknowledged client event. */
export type Ack<T extends object = object> = ({ ok: true } & T) | { ok: false; error: HubErrorBody };
export type AckCallback<T extends object = object> = (response: Ack<T>) => void;

/** Payload of `session:welcome`. */
export const sessionWelcomeSchema = z.object({
  protocol: z.literal(PROTOCOL_VERSION),
  hubId: z.string(),
  identity: identitySchema,
});
export type SessionWelcome = z.infer<typeof sessionWelcomeSchema>;

/** Events the client emits to the hub. */
export interface ClientToServerEvents {
  [EVENTS.sessionWhoami]: (payload: Record<string, never>, ack: AckCallback<{ identity: Identity }>) => void;
}

/** Events the hub emits to the client. */
export interface ServerToClientEvents {
  [EVENTS.sessionWelcome]: (payload: SessionWelcome) => void;
  [EVENTS.sessionExpired]: (error: HubErrorBody) => void;
}

/** Payload of `session:whoami`: an empty object (or nothing). */
export const sessionWhoamiSchema = z.object({}).strict();
