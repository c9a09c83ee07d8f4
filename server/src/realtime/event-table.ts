import { CLIENT_EVENT_SPEC, type ClientEventName, queryOpenPartsSchema } from '@ncp-hub/protocol';
import type { PayloadParser } from '../validation.js';
import { conversationEntries } from './conversation-entries.js';
import { directoryEntries } from './directory-entries.js';
import type {
  AnyEventEntry,
  EventEntries,
  EventRequest,
  RealtimeServices,
  RelayCounters,
  RequestSchemaOf,
} from './event-entry.js';
import { queryEntries } from './query-entries.js';

/**
 * The schema each client event's payload is validated with before its handler runs: the
 * protocol's `request`, but `queryOpenPartsSchema` for `query:open` (see {@link RequestSchemaOf}).
 * Written out, so that an event without its schema, or with another event's, fails to compile.
 */
export const REQUEST_SCHEMAS: { readonly [E in ClientEventName]: PayloadParser<EventRequest<E>> } = {
  'session:whoami': CLIENT_EVENT_SPEC['session:whoami'].request,
  'directory:publish': CLIENT_EVENT_SPEC['directory:publish'].request,
  'directory:devices': CLIENT_EVENT_SPEC['directory:devices'].request,
  'directory:agencies': CLIENT_EVENT_SPEC['directory:agencies'].request,
  'conversation:create': CLIENT_EVENT_SPEC['conversation:create'].request,
  'conversation:change': CLIENT_EVENT_SPEC['conversation:change'].request,
  'conversation:list': CLIENT_EVENT_SPEC['conversation:list'].request,
  'conversation:get': CLIENT_EVENT_SPEC['conversation:get'].request,
  'message:send': CLIENT_EVENT_SPEC['message:send'].request,
  'receipt:send': CLIENT_EVENT_SPEC['receipt:send'].request,
  'conversation:sync': CLIENT_EVENT_SPEC['conversation:sync'].request,
  'conversation:ack': CLIENT_EVENT_SPEC['conversation:ack'].request,
  'query:open': queryOpenPartsSchema,
  'query:acknowledge': CLIENT_EVENT_SPEC['query:acknowledge'].request,
  'query:file': CLIENT_EVENT_SPEC['query:file'].request,
  'query:confirm': CLIENT_EVENT_SPEC['query:confirm'].request,
  'query:withdraw': CLIENT_EVENT_SPEC['query:withdraw'].request,
  'query:get': CLIENT_EVENT_SPEC['query:get'].request,
  'query:pending': CLIENT_EVENT_SPEC['query:pending'].request,
};

/** A row of the table: the schema of the event's payload, what it needs, its rate budget, its handler. */
export type EventRow<E extends ClientEventName> = AnyEventEntry<E> & {
  readonly request: PayloadParser<EventRequest<E>>;
};

/**
 * The realtime layer, as one table: event -> schema -> needs and rate budget -> handler. The
 * type makes an event of the protocol without a row fail to compile.
 */
export interface EventTable {
  /** What each event needs, its budget and its handler. */
  readonly entries: EventEntries<ClientEventName>;
  /** The schema of each event's payload. */
  readonly requests: typeof REQUEST_SCHEMAS;
}

/** The row of one event: its entry with the schema of its payload (typed by the event, for the handler's sake). */
export function rowOf<E extends ClientEventName>(table: EventTable, event: E): EventRow<E> {
  return { ...table.entries[event], request: table.requests[event] };
}

/** Builds the table, once per hub node; every socket is served by it (`counters`: the node's metrics). */
export function buildEventTable(services: RealtimeServices, counters?: RelayCounters): EventTable {
  return {
    entries: {
      'session:whoami': { needs: 'session', limit: 'read', handle: (_payload, { identity }) => ({ identity }) },
      ...directoryEntries(services),
      ...conversationEntries(services, counters),
      ...queryEntries(services),
    },
    requests: REQUEST_SCHEMAS,
  };
}
