import { z } from 'zod';
import { deviceIdSchema, type OfficerAddress, officerRefSchema } from './addresses.js';
import { type ConversationId, conversationIdSchema, type Envelope, envelopeSchema } from './envelope.js';
import type { HubErrorBody } from './errors.js';
import { type AgencyKind, agencyIdSchema, type Identity, identitySchema } from './identity.js';
import {
  type ConversationBasis,
  type ConversationKind,
  type SignedMembershipRecord,
  signedMembershipRecordSchema,
} from './membership.js';
import type {
  QueryEvent,
  QueryView,
  queryFileSchema,
  queryRefSchema,
  queryWithdrawSchema,
  TimelineEntry,
} from './query.js';
import { type SignedReceipt, signedReceiptSchema } from './receipt.js';
import { PROTOCOL_VERSION } from './version.js';

/** Names of every Socket.IO event of the protocol. */
export const EVENTS = {
  /** client -> hub: the verified identity of this connection. */
  sessionWhoami: 'session:whoami',
  /** hub -> client, once, right after the connection is accepted. */
  sessionWelcome: 'session:welcome',
  /** hub -> client, just before the hub disconnects a socket whose token expired. */
  sessionExpired: 'session:expired',

  /** client -> hub: publish this device's attestation. */
  directoryPublish: 'directory:publish',
  /** client -> hub: the current device attestations of some officers, or of one agency. */
  directoryDevices: 'directory:devices',
  /** client -> hub: the agencies of the trust registry, with their public keys. */
  directoryAgencies: 'directory:agencies',

  /** client -> hub: create a conversation from its signed `create` record. */
  conversationCreate: 'conversation:create',
  /** client -> hub: add or remove a member with a signed record. */
  conversationChange: 'conversation:change',
  /** client -> hub: the caller's conversations. */
  conversationList: 'conversation:list',
  /** client -> hub: one conversation. */
  conversationGet: 'conversation:get',
  /** hub -> client: a conversation was created or its membership changed. */
  conversationUpdated: 'conversation:updated',

  /** client -> hub: send an envelope. */
  messageSend: 'message:send',
  /** client -> hub: send a signed receipt. */
  receiptSend: 'receipt:send',
  /** hub -> client: a message or receipt of one of the device's conversations. */
  conversationItem: 'conversation:item',
  /** client -> hub: everything of a conversation after a cursor. */
  conversationSync: 'conversation:sync',
  /** client -> hub: the device has processed a conversation up to a cursor. */
  conversationAck: 'conversation:ack',

  /** client -> hub (officer): open an operational query. */
  queryOpen: 'query:open',
  /** client -> hub (NCB desk of the requesting state): acknowledge the notification. */
  queryAcknowledge: 'query:acknowledge',
  /** client -> hub (requesting officer): register the formal request. */
  queryFile: 'query:file',
  /** client -> hub (central authority named in the filing): confirm the formal request. */
  queryConfirm: 'query:confirm',
  /** client -> hub (requesting officer): withdraw, before the counterpart answered. */
  queryWithdraw: 'query:withdraw',
  /** client -> hub: one query with its timeline, if the caller may see it. */
  queryGet: 'query:get',
  /** client -> hub (NCB desk): the notifications of its NCB not yet acknowledged. */
  queryPending: 'query:pending',
  /** hub -> client: a notification, reminder, escalation or update of a query. */
  queryEvent: 'query:event',
} as const;

/** Every event a client may emit: the keys of {@link ClientToServerEvents}, as a list. */
export const CLIENT_EVENTS = [
  EVENTS.sessionWhoami,
  EVENTS.directoryPublish,
  EVENTS.directoryDevices,
  EVENTS.directoryAgencies,
  EVENTS.conversationCreate,
  EVENTS.conversationChange,
  EVENTS.conversationList,
  EVENTS.conversationGet,
  EVENTS.messageSend,
  EVENTS.receiptSend,
  EVENTS.conversationSync,
  EVENTS.conversationAck,
  EVENTS.queryOpen,
  EVENTS.queryAcknowledge,
  EVENTS.queryFile,
  EVENTS.queryConfirm,
  EVENTS.queryWithdraw,
  EVENTS.queryGet,
  EVENTS.queryPending,
] as const satisfies ReadonlyArray<keyof ClientToServerEvents>;

// Compile-time check that CLIENT_EVENTS lists every event of ClientToServerEvents.
const clientEventsComplete: [Exclude<keyof ClientToServerEvents, (typeof CLIENT_EVENTS)[number]>] extends [never]
  ? true
  : false = true;
void clientEventsComplete;

/** What a client sends in the Socket.IO handshake `auth` object. */
export const handshakeAuthSchema = z.object({
  token: z.string(),
  /** This device's id; required for messaging, optional for a session that only looks things up. */
  device: deviceIdSchema.optional(),
});
export type HandshakeAuth = z.infer<typeof handshakeAuthSchema>;

/** A position in a conversation's log (a Redis stream id, `ms-seq`); compare with {@link compareCursors}. */
export const cursorSchema = z.string().regex(/^\d{1,15}-\d{1,15}$/, 'cursor: "<ms>-<n>"');
export type Cursor = z.infer<typeof cursorSchema>;

/** Orders two cursors: negative, zero or positive. */
export function compareCursors(a: Cursor, b: Cursor): number {
  const [am = 0, an = 0] = a.split('-').map(Number);
  const [bm = 0, bn = 0] = b.split('-').map(Number);
  return am - bm || an - bn;
}

/**
 * Where an event stands in the hub's audit chain (its sequence number and entry hash): the
 * officer's proof that the opening of a query, with its ground, was recorded.
 */
export interface AuditReceipt {
  seq: number;
  hash: string;
}

/** Answer of every acknowledged client event. */
export type Ack<T extends object = object> = ({ ok: true } & T) | { ok: false; error: HubErrorBody };
export type AckCallback<T extends object = object> = (response: Ack<T>) => void;

/** Payload of `session:welcome`. */
export const sessionWelcomeSchema = z.object({
  protocol: z.literal(PROTOCOL_VERSION),
  hubId: z.string(),
  identity: identitySchema,
  /** The device of this connection, when the handshake named one. */
  device: deviceIdSchema.nullable(),
});
export type SessionWelcome = z.infer<typeof sessionWelcomeSchema>;

/** A conversation as the hub knows it, with its whole signed membership chain. */
export interface ConversationInfo {
  id: ConversationId;
  kind: ConversationKind;
  basis: ConversationBasis;
  /** The hub's view of the members; clients trust the chain in `records`, not this. */
  members: OfficerAddress[];
  records: SignedMembershipRecord[];
  /** Hub time of creation, ms. */
  createdAt: number;
  /** Cursor of the newest item, or null when there is none. */
  last: Cursor | null;
  /** Cursor up to which this device has acknowledged, or null. */
  acked: Cursor | null;
}

/** An item of a conversation's log, as pushed live and as returned by sync. */
export type ConversationItem =
  | { type: 'message'; conv: ConversationId; cursor: Cursor; receivedAt: number; envelope: Envelope }
  | { type: 'receipt'; conv: ConversationId; cursor: Cursor; receivedAt: number; receipt: SignedReceipt };

/** An agency of the trust registry, as the directory gives it. */
export interface DirectoryAgency {
  id: string;
  name: string;
  country: string;
  kind: AgencyKind;
  /** Inline public keys; absent for an agency publishing at `jwksUri`. */
  jwks?: { keys: Array<Record<string, unknown>> };
  jwksUri?: string;
}

// Payload schemas of the client events.
export const sessionWhoamiSchema = z.object({}).strict();
export const directoryPublishSchema = z.strictObject({ attestation: z.string().min(1).max(4096) });
/** Either some officers' devices, or every device of one agency. */
export const directoryDevicesSchema = z.union([
  z.strictObject({ officers: z.array(officerRefSchema).min(1).max(100) }),
  z.strictObject({ agency: agencyIdSchema }),
]);
export const directoryAgenciesSchema = z.strictObject({});
export const conversationCreateSchema = z.strictObject({ record: signedMembershipRecordSchema });
export const conversationChangeSchema = z.strictObject({ record: signedMembershipRecordSchema });
export const conversationListSchema = z.strictObject({});
export const conversationGetSchema = z.strictObject({ conv: conversationIdSchema });
export const messageSendSchema = z.strictObject({ envelope: envelopeSchema });
export const receiptSendSchema = z.strictObject({ receipt: signedReceiptSchema });
export const conversationSyncSchema = z.strictObject({
  conv: conversationIdSchema,
  /** Items strictly after this cursor; null for the oldest kept. */
  after: cursorSchema.nullable(),
  /** At most this many items (1-500, default 100). */
  limit: z.number().int().min(1).max(500).optional(),
});
export const conversationAckSchema = z.strictObject({ conv: conversationIdSchema, cursor: cursorSchema });

type Handler<P, R extends object> = (payload: P, ack: AckCallback<R>) => void;

/** Events the client emits to the hub, each with its ack. */
export interface ClientToServerEvents {
  [EVENTS.sessionWhoami]: Handler<Record<string, never>, { identity: Identity }>;
  [EVENTS.directoryPublish]: Handler<z.infer<typeof directoryPublishSchema>, { device: string; expiresAt: number }>;
  [EVENTS.directoryDevices]: Handler<
    z.infer<typeof directoryDevicesSchema>,
    { devices: Record<OfficerAddress, string[]> }
  >;
  [EVENTS.directoryAgencies]: Handler<Record<string, never>, { agencies: DirectoryAgency[] }>;
  [EVENTS.conversationCreate]: Handler<z.infer<typeof conversationCreateSchema>, { conversation: ConversationInfo }>;
  [EVENTS.conversationChange]: Handler<z.infer<typeof conversationChangeSchema>, { conversation: ConversationInfo }>;
  [EVENTS.conversationList]: Handler<Record<string, never>, { conversations: ConversationInfo[] }>;
  [EVENTS.conversationGet]: Handler<z.infer<typeof conversationGetSchema>, { conversation: ConversationInfo }>;
  [EVENTS.messageSend]: Handler<z.infer<typeof messageSendSchema>, { cursor: Cursor; duplicate: boolean }>;
  [EVENTS.receiptSend]: Handler<z.infer<typeof receiptSendSchema>, { cursor: Cursor }>;
  [EVENTS.conversationSync]: Handler<
    z.infer<typeof conversationSyncSchema>,
    { items: ConversationItem[]; more: boolean }
  >;
  [EVENTS.conversationAck]: Handler<z.infer<typeof conversationAckSchema>, { acked: Cursor }>;
  [EVENTS.queryOpen]: Handler<
    { conversation: SignedMembershipRecord; statement: Envelope; question: Envelope },
    { query: QueryView; conversation: ConversationInfo; receipt: AuditReceipt | null }
  >;
  [EVENTS.queryAcknowledge]: Handler<z.infer<typeof queryRefSchema>, { query: QueryView }>;
  [EVENTS.queryFile]: Handler<z.infer<typeof queryFileSchema>, { query: QueryView }>;
  [EVENTS.queryConfirm]: Handler<z.infer<typeof queryRefSchema>, { query: QueryView }>;
  [EVENTS.queryWithdraw]: Handler<z.infer<typeof queryWithdrawSchema>, { query: QueryView }>;
  [EVENTS.queryGet]: Handler<z.infer<typeof queryRefSchema>, { query: QueryView; timeline: TimelineEntry[] }>;
  [EVENTS.queryPending]: Handler<Record<string, never>, { events: QueryEvent[] }>;
}

/** Events the hub emits to the client. */
export interface ServerToClientEvents {
  [EVENTS.sessionWelcome]: (payload: SessionWelcome) => void;
  [EVENTS.sessionExpired]: (error: HubErrorBody) => void;
  [EVENTS.conversationUpdated]: (payload: { conversation: ConversationInfo; record: SignedMembershipRecord }) => void;
  [EVENTS.conversationItem]: (item: ConversationItem) => void;
  [EVENTS.queryEvent]: (event: QueryEvent) => void;
}

export const queryPendingSchema = z.strictObject({});
