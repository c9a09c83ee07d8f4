import type {
  CLIENT_EVENT_SPEC,
  ClientEventName,
  ClientEventResult,
  Identity,
  queryOpenPartsSchema,
} from '@ncp-hub/protocol';
import type { z } from 'zod';
import type { ConversationService } from '../conversations/conversation-service.js';
import type { DirectoryService } from '../directory/directory-service.js';
import type { FollowUpQueue } from '../followup/followup-queue.js';
import type { Logger } from '../logger.js';
import type { MessageService } from '../messaging/message-service.js';
import type { HubMetrics } from '../metrics.js';
import type { QueryService } from '../queries/query-service.js';
import type { Announcer } from './announcer.js';
import type { ConnectionContext, DeviceOf, EventNeeds } from './connection-context.js';
import type { RateBudget } from './rate-limiter.js';

/**
 * The schema of each event's payload: the protocol's `request`, but for `query:open`, whose
 * outer shape is parsed first so that the ground and the statement are refused with their own
 * codes (QUERY_GROUND_INVALID, QUERY_STATEMENT_REQUIRED) before its parts are parsed.
 */
export type RequestSchemaOf<E extends ClientEventName> = E extends 'query:open'
  ? typeof queryOpenPartsSchema
  : (typeof CLIENT_EVENT_SPEC)[E]['request'];

/** The validated payload a handler of `E` gets. */
export type EventRequest<E extends ClientEventName> = z.infer<RequestSchemaOf<E>>;

/** What a handler gets besides its payload. */
export interface EventContext<N extends EventNeeds> {
  identity: Identity;
  /** The connection's device, as the entry's `needs` requires it. */
  device: DeviceOf<N>;
  /** The connection itself (`publishedUntil` changes when its device publishes). */
  connection: ConnectionContext;
  /** Pushes to other sockets. */
  announce: Announcer;
}

/** One row of the table: what an event needs, its rate budget, and its business logic. */
export interface EventEntry<E extends ClientEventName, N extends EventNeeds> {
  /** What the event needs of its connection: DEVICE_REQUIRED or DEVICE_NOT_PUBLISHED otherwise. */
  readonly needs: N;
  /** The budget each call draws one unit from (RATE_LIMITED past it). */
  readonly limit: RateBudget;
  /** The event's business logic; its answer is the fields next to `ok: true`, of the protocol's shape for `E`. */
  handle(payload: EventRequest<E>, context: EventContext<N>): Promise<ClientEventResult<E>> | ClientEventResult<E>;
}

/** A row of the table for `E`, whatever it needs. */
export type AnyEventEntry<E extends ClientEventName> =
  | EventEntry<E, 'session'>
  | EventEntry<E, 'device'>
  | EventEntry<E, 'published-device'>;

/** Rows for some events: what each part of the table gives. */
export type EventEntries<E extends ClientEventName> = { readonly [K in E]: AnyEventEntry<K> };

/** The services behind the client events. */
export interface RealtimeServices {
  directory: DirectoryService;
  conversations: ConversationService;
  messages: MessageService;
  queries: QueryService;
  logger: Logger;
  /**
   * The follow-up queue, when the node has the hub's services (not in tests that build the
   * table alone): its depths and its workers' outcomes are reported in the node's metrics.
   */
  followUp?: FollowUpQueue | undefined;
}

/** The counters the event handlers move (the node's {@link HubMetrics}). */
export type RelayCounters = Pick<HubMetrics, 'messagesRelayed' | 'receiptsRelayed'>;
