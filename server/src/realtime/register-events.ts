import { type Ack, CLIENT_EVENTS, type ClientEventName, officerAddress, RequestError } from '@ncp-hub/protocol';
import { answerableError } from '../answerable-error.js';
import type { Logger } from '../logger.js';
import { parseOrBadRequest } from '../validation.js';
import type { Announcer } from './announcer.js';
import { type ConnectionContext, deviceFor, type EventNeeds } from './connection-context.js';
import type { EventEntry } from './event-entry.js';
import type { EventTable } from './event-table.js';
import type { RateLimits } from './rate-limiter.js';
import type { HubSocket } from './socket-types.js';

const KNOWN_CLIENT_EVENTS: ReadonlySet<string> = new Set(CLIENT_EVENTS);

/** What {@link registerEvents} serves a socket with. */
export interface EventServing {
  table: EventTable;
  limits: RateLimits;
  logger: Logger;
}

/**
 * Serves every event of the table on one socket, in one loop, the same way for all: an event
 * without an ack callback is ignored; then the connection must have what the row needs
 * (DEVICE_REQUIRED, DEVICE_NOT_PUBLISHED), the officer's budget must allow it (RATE_LIMITED),
 * the payload must parse (BAD_REQUEST); then the handler runs and its answer is sent as
 * `{ ok: true, ... }`, or its failure as `{ ok: false, error }` (INTERNAL for the unexpected,
 * logged). Nothing a client sends throws out of the socket, so the connection survives it.
 * An event not in the table is answered UNKNOWN_EVENT.
 */
export function registerEvents(
  socket: HubSocket,
  connection: ConnectionContext,
  announce: Announcer,
  serving: EventServing,
): void {
  const { table, limits, logger } = serving;
  const budgetKey = officerAddress(connection.identity);

  for (const event of CLIENT_EVENTS) {
    const row = table[event];
    const entry = row as unknown as EventEntry<ClientEventName, EventNeeds>;
    const listener = (...args: unknown[]) => {
      const ack = args.at(-1);
      if (typeof ack !== 'function') {
        logger.debug({ event }, 'event without ack callback ignored');
        return;
      }
      const respond = ack as (response: Ack) => void;
      const payload = args.length > 1 ? args[0] : {};
      Promise.resolve()
        .then(async () => {
          const device = deviceFor(connection, entry.needs);
          await limits[entry.limit].take(budgetKey);
          const parsed = parseOrBadRequest(row.request, payload ?? {}, event);
          return entry.handle(parsed as never, { identity: connection.identity, device, connection, announce });
        })
        .then(
          (result) => respond({ ok: true, ...result }),
          (error: unknown) =>
            respond({ ok: false, error: answerableError(error, logger, 'event handler failed', { event }).toBody() }),
        );
    };
    socket.on(event, listener as never);
  }

  socket.onAny((event: string, ...args: unknown[]) => {
    if (KNOWN_CLIENT_EVENTS.has(event)) return;
    const ack = args.at(-1);
    if (typeof ack === 'function') {
      ack({ ok: false, error: new RequestError('UNKNOWN_EVENT', 'unknown event').toBody() });
    }
  });
}
