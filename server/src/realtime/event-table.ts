import { CLIENT_EVENT_SPEC, CLIENT_EVENTS, type ClientEventName, queryOpenPartsSchema } from '@ncp-hub/protocol';
import { conversationEntries } from './conversation-entries.js';
import { directoryEntries } from './directory-entries.js';
import type { AnyEventEntry, EventEntries, RealtimeServices, RequestSchemaOf } from './event-entry.js';
import { queryEntries } from './query-entries.js';

/**
 * The schema each client event's payload is validated with before its handler runs: the
 * protocol's `request`, but `queryOpenPartsSchema` for `query:open` (see {@link RequestSchemaOf}).
 */
export const REQUEST_SCHEMAS = Object.fromEntries(
  CLIENT_EVENTS.map((event) => [
    event,
    event === 'query:open' ? queryOpenPartsSchema : CLIENT_EVENT_SPEC[event].request,
  ]),
) as { readonly [E in ClientEventName]: RequestSchemaOf<E> };

/** A row of the table: the schema of the event's payload, what it needs, its rate budget, its handler. */
export type EventRow<E extends ClientEventName> = AnyEventEntry<E> & { readonly request: RequestSchemaOf<E> };

/**
 * The realtime layer, as one table: event -> schema -> needs and rate budget -> handler. The
 * type makes an event of the protocol without a row fail to compile.
 */
export type EventTable = { readonly [E in ClientEventName]: EventRow<E> };

/** Builds the table, once per hub node; every socket is served by it. */
export function buildEventTable(services: RealtimeServices): EventTable {
  const entries: EventEntries<ClientEventName> = {
    'session:whoami': { needs: 'session', limit: 'read', handle: (_payload, { identity }) => ({ identity }) },
    ...directoryEntries(services),
    ...conversationEntries(services),
    ...queryEntries(services),
  };
  return Object.fromEntries(
    CLIENT_EVENTS.map((event) => [event, { ...entries[event], request: REQUEST_SCHEMAS[event] }]),
  ) as unknown as EventTable;
}
