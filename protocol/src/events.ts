import { z } from 'zod';
import { deviceAddressSchema, deviceIdSchema, officerAddressSchema, officerRefSchema } from './addresses.js';
import {
  conversationInfoSchema,
  conversationItemSchema,
  conversationUpdatedSchema,
  cursorSchema,
} from './conversation.js';
import { attestationJwsSchema, directoryAgencySchema, directoryUpdatedSchema } from './directory.js';
import { conversationIdSchema, envelopeSchema } from './envelope.js';
import { type HubErrorBody, hubErrorBodySchema } from './errors.js';
import { agencyIdSchema, identitySchema } from './identity.js';
import { DEFAULT_SYNC_LIMIT, MAX_DIRECTORY_OFFICERS, MAX_SYNC_LIMIT } from './limits.js';
import { signedMembershipRecordSchema } from './membership.js';
import {
  queryEventSchema,
  queryFileSchema,
  queryOpenSchema,
  queryRefSchema,
  queryViewSchema,
  queryWithdrawSchema,
  timelineEntrySchema,
} from './query.js';
import { signedReceiptSchema } from './receipt.js';
import { PROTOCOL_VERSION } from './version.js';

/** What a client sends in the Socket.IO handshake `auth` object. */
export const handshakeAuthSchema = z.object({
  token: z.string(),
  /** This device's id; required for messaging, optional for a session that only looks things up. */
  device: deviceIdSchema.optional(),
});
export type HandshakeAuth = z.infer<typeof handshakeAuthSchema>;

/** Payload of `session:welcome`. */
export const sessionWelcomeSchema = z.object({
  protocol: z.literal(PROTOCOL_VERSION),
  hubId: z.string(),
  identity: identitySchema,
  /** The device of this connection, when the handshake named one. */
  device: deviceIdSchema.nullable(),
});
export type SessionWelcome = z.infer<typeof sessionWelcomeSchema>;

/**
 * Where an event stands in the hub's audit chain (its sequence number and entry hash): the
 * officer's proof that the opening of a query, with its ground, was recorded.
 */
export const auditReceiptSchema = z.object({
  seq: z.number().int().min(1),
  /** The entry's SHA-256 hash: 64 lower-case hexadecimal digits. */
  hash: z.string().regex(/^[0-9a-f]{64}$/, 'hash: 64 lower-case hex digits'),
});
export type AuditReceipt = z.infer<typeof auditReceiptSchema>;

const none = z.strictObject({});

// Payload schemas of the client events (client -> hub).
export const sessionWhoamiSchema = none;
export const directoryPublishSchema = z.strictObject({ attestation: attestationJwsSchema });
/** Either some officers' devices, or every device of one agency. */
export const directoryDevicesSchema = z.union([
  z.strictObject({ officers: z.array(officerRefSchema).min(1).max(MAX_DIRECTORY_OFFICERS) }),
  z.strictObject({ agency: agencyIdSchema }),
]);
export const directoryAgenciesSchema = none;
export const conversationCreateSchema = z.strictObject({ record: signedMembershipRecordSchema });
export const conversationChangeSchema = z.strictObject({ record: signedMembershipRecordSchema });
export const conversationListSchema = none;
export const conversationGetSchema = z.strictObject({ conv: conversationIdSchema });
export const messageSendSchema = z.strictObject({ envelope: envelopeSchema });
export const receiptSendSchema = z.strictObject({ receipt: signedReceiptSchema });
export const conversationSyncSchema = z.strictObject({
  conv: conversationIdSchema,
  /** Items strictly after this cursor; null for the oldest kept. */
  after: cursorSchema.nullable(),
  /** At most this many items (1-500, default 100). */
  limit: z.number().int().min(1).max(MAX_SYNC_LIMIT).optional(),
});
export { DEFAULT_SYNC_LIMIT };
export const conversationAckSchema = z.strictObject({ conv: conversationIdSchema, cursor: cursorSchema });
export const queryPendingSchema = none;

const queryAnswer = z.object({ query: queryViewSchema });

/**
 * The one specification of every client event: its name, the schema of its payload, and
 * the schema of its successful answer (the fields next to `ok: true`). The hub validates
 * payloads with `request`; {@link ClientToServerEvents} is derived from it.
 */
export const CLIENT_EVENT_SPEC = {
  /** The verified identity of this connection. */
  'session:whoami': { request: sessionWhoamiSchema, response: z.object({ identity: identitySchema }) },
  /** Publish this device's attestation. */
  'directory:publish': {
    request: directoryPublishSchema,
    /** `device`: the published device's address `AGENCY/officer/device`; `expiresAt`: its attestation's `exp`, seconds. */
    response: z.object({ device: deviceAddressSchema, expiresAt: z.number().int() }),
  },
  /** The current device attestations of some officers, or of one agency. */
  'directory:devices': {
    request: directoryDevicesSchema,
    response: z.object({ devices: z.record(officerAddressSchema, z.array(attestationJwsSchema)) }),
  },
  /** The agencies of the trust registry, with their public keys. */
  'directory:agencies': {
    request: directoryAgenciesSchema,
    response: z.object({ agencies: z.array(directoryAgencySchema) }),
  },
  /** Create a conversation from its signed `create` record. */
  'conversation:create': {
    request: conversationCreateSchema,
    response: z.object({ conversation: conversationInfoSchema }),
  },
  /** Add or remove a member with a signed record. */
  'conversation:change': {
    request: conversationChangeSchema,
    response: z.object({ conversation: conversationInfoSchema }),
  },
  /** The caller's conversations. */
  'conversation:list': {
    request: conversationListSchema,
    response: z.object({ conversations: z.array(conversationInfoSchema) }),
  },
  /** One conversation. */
  'conversation:get': { request: conversationGetSchema, response: z.object({ conversation: conversationInfoSchema }) },
  /** Send an envelope. */
  'message:send': {
    request: messageSendSchema,
    response: z.object({ cursor: cursorSchema, duplicate: z.boolean() }),
  },
  /** Send a signed receipt. */
  'receipt:send': { request: receiptSendSchema, response: z.object({ cursor: cursorSchema }) },
  /** Everything of a conversation after a cursor. */
  'conversation:sync': {
    request: conversationSyncSchema,
    response: z.object({ items: z.array(conversationItemSchema), more: z.boolean() }),
  },
  /** The device has processed a conversation up to a cursor. */
  'conversation:ack': { request: conversationAckSchema, response: z.object({ acked: cursorSchema }) },
  /** (officer) Open an operational query. */
  'query:open': {
    request: queryOpenSchema,
    response: z.object({
      query: queryViewSchema,
      conversation: conversationInfoSchema,
      receipt: auditReceiptSchema.nullable(),
    }),
  },
  /** (NCB desk of the requesting state) Acknowledge the notification. */
  'query:acknowledge': { request: queryRefSchema, response: queryAnswer },
  /** (requesting officer) Register the formal request. */
  'query:file': { request: queryFileSchema, response: queryAnswer },
  /** (central authority named in the filing) Confirm the formal request. */
  'query:confirm': { request: queryRefSchema, response: queryAnswer },
  /** (requesting officer) Withdraw, before the counterpart answered. */
  'query:withdraw': { request: queryWithdrawSchema, response: queryAnswer },
  /** One query with its timeline, if the caller may see it. */
  'query:get': {
    request: queryRefSchema,
    response: z.object({ query: queryViewSchema, timeline: z.array(timelineEntrySchema) }),
  },
  /** (NCB desk) The notifications of its NCB not yet acknowledged. */
  'query:pending': { request: queryPendingSchema, response: z.object({ events: z.array(queryEventSchema) }) },
} as const;

/** The one specification of every hub event: its name and the schema of its payload. */
export const SERVER_EVENT_SPEC = {
  /** Once, right after the connection is accepted. */
  'session:welcome': sessionWelcomeSchema,
  /** Just before the hub disconnects a socket whose token expired (at `exp` + the clock tolerance). */
  'session:expired': hubErrorBodySchema,
  /** An officer who shares a conversation with this client published a device. */
  'directory:updated': directoryUpdatedSchema,
  /** A conversation was created or its membership changed. */
  'conversation:updated': conversationUpdatedSchema,
  /** A message or receipt of one of the device's conversations. */
  'conversation:item': conversationItemSchema,
  /** A notification, reminder, escalation or update of a query. */
  'query:event': queryEventSchema,
} as const;

/** Names of the client events. */
export type ClientEventName = keyof typeof CLIENT_EVENT_SPEC;
/** Names of the hub events. */
export type ServerEventName = keyof typeof SERVER_EVENT_SPEC;
/** The payload a client sends with event `E`. */
export type ClientEventPayload<E extends ClientEventName> = z.input<(typeof CLIENT_EVENT_SPEC)[E]['request']>;
/** The fields of a successful answer to event `E`. */
export type ClientEventResult<E extends ClientEventName> = z.infer<(typeof CLIENT_EVENT_SPEC)[E]['response']>;
/** The payload of hub event `E`. */
export type ServerEventPayload<E extends ServerEventName> = z.infer<(typeof SERVER_EVENT_SPEC)[E]>;

/** Answer of every acknowledged client event. */
export type Ack<T extends object = object> = ({ ok: true } & T) | { ok: false; error: HubErrorBody };
export type AckCallback<T extends object = object> = (response: Ack<T>) => void;

/** Events the client emits to the hub, each with its ack: derived from {@link CLIENT_EVENT_SPEC}. */
export type ClientToServerEvents = {
  [E in ClientEventName]: (payload: ClientEventPayload<E>, ack: AckCallback<ClientEventResult<E>>) => void;
};

/** Events the hub emits to the client: derived from {@link SERVER_EVENT_SPEC}. */
export type ServerToClientEvents = {
  [E in ServerEventName]: (payload: ServerEventPayload<E>) => void;
};

/** Every event a client may emit, as a list (from {@link CLIENT_EVENT_SPEC}). */
export const CLIENT_EVENTS = Object.keys(CLIENT_EVENT_SPEC) as ClientEventName[];
/** Every event the hub may emit, as a list (from {@link SERVER_EVENT_SPEC}). */
export const SERVER_EVENTS = Object.keys(SERVER_EVENT_SPEC) as ServerEventName[];

/** Names of every Socket.IO event of the protocol, for code that prefers a constant to a string. */
export const EVENTS = {
  sessionWhoami: 'session:whoami',
  sessionWelcome: 'session:welcome',
  sessionExpired: 'session:expired',
  directoryPublish: 'directory:publish',
  directoryDevices: 'directory:devices',
  directoryAgencies: 'directory:agencies',
  directoryUpdated: 'directory:updated',
  conversationCreate: 'conversation:create',
  conversationChange: 'conversation:change',
  conversationList: 'conversation:list',
  conversationGet: 'conversation:get',
  conversationUpdated: 'conversation:updated',
  messageSend: 'message:send',
  receiptSend: 'receipt:send',
  conversationItem: 'conversation:item',
  conversationSync: 'conversation:sync',
  conversationAck: 'conversation:ack',
  queryOpen: 'query:open',
  queryAcknowledge: 'query:acknowledge',
  queryFile: 'query:file',
  queryConfirm: 'query:confirm',
  queryWithdraw: 'query:withdraw',
  queryGet: 'query:get',
  queryPending: 'query:pending',
  queryEvent: 'query:event',
} as const satisfies Record<string, ClientEventName | ServerEventName>;

// Compile-time check that EVENTS names every event of both specifications.
const eventsComplete: [Exclude<ClientEventName | ServerEventName, (typeof EVENTS)[keyof typeof EVENTS]>] extends [never]
  ? true
  : false = true;
void eventsComplete;
