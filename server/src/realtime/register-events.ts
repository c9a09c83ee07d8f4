import {
  type Ack,
  CLIENT_EVENTS,
  type ClientEventName,
  type ClientEventResult,
  isHubError,
  officerAddress,
  RequestError,
} from '@ncp-hub/protocol';
import { answerableError } from '../answerable-error.js';
import { BUSY_RETRY_AFTER_MS, type LoadShedder } from '../load/load-shedder.js';
import type { Logger } from '../logger.js';
import type { HubMetrics } from '../metrics.js';
import { parseOrBadRequest } from '../validation.js';
import type { Announcer } from './announcer.js';
import { type ConnectionContext, deviceFor, type EventNeeds } from './connection-context.js';
import type { EventEntry, EventRequest } from './event-entry.js';
import { type EventRow, type EventTable, rowOf } from './event-table.js';
import type { RateLimits } from './rate-limiter.js';
import { ReadPause } from './read-pause.js';
import type { HubSocket } from './socket-types.js';

const KNOWN_CLIENT_EVENTS: ReadonlySet<string> = new Set(CLIENT_EVENTS);

/** What {@link registerEvents} serves a socket with. */
export interface EventServing {
  table: EventTable;
  limits: RateLimits;
  /** Requests of one socket worked on at once (`MAX_CONCURRENT_REQUESTS_PER_SOCKET`); RATE_LIMITED beyond. */
  maxInFlight: number;
  /** The node's bound on the work it holds, across its sockets and HTTP: BUSY beyond. */
  shedder: LoadShedder;
  logger: Logger;
  /** Counts the RATE_LIMITED refusals (`ncp_hub_rate_limited_total`). */
  metrics?: Pick<HubMetrics, 'rateLimited'> | undefined;
}

/** What serving one event of one socket needs besides its row. */
interface ServedConnection {
  socket: HubSocket;
  connection: ConnectionContext;
  announce: Announcer;
  serving: EventServing;
  /** The socket's requests taken in (past the needs) and not yet answered. */
  inFlight: { count: number };
  /** Stops reading the socket for a while after a refusal for overload. */
  readPause: ReadPause;
}

/**
 * How long a socket refused `BUSY` for overload is not read from (ms): the least `retryAfter`
 * of such a refusal, before which a client that waits as told sends nothing anyway.
 */
export const BUSY_READ_PAUSE_MS = BUSY_RETRY_AFTER_MS;

/**
 * The `retryAfter` (ms) of a request refused because its socket has `maxInFlight` requests
 * unanswered: about what one of them takes, after which a place is likely free.
 */
export const IN_FLIGHT_RETRY_AFTER_MS = 100;

/**
 * Serves every event of the table on one socket, in one loop, the same way for all: an event
 * without an ack callback is ignored; then the connection must have what the row needs
 * (DEVICE_REQUIRED, DEVICE_NOT_PUBLISHED), fewer than `maxInFlight` of the socket's requests
 * may be unanswered (RATE_LIMITED with `retryAfter`), the node must not be overloaded (its
 * {@link LoadShedder}: BUSY with `retryAfter`, before any parsing or Redis command, and the
 * socket is then not read for {@link BUSY_READ_PAUSE_MS}), the
 * officer's budget (across hub nodes) must allow it (RATE_LIMITED with `retryAfter`), the
 * payload must parse (BAD_REQUEST); then the handler runs and its answer is sent as
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
  const served: ServedConnection = {
    socket,
    connection,
    announce,
    serving,
    inFlight: { count: 0 },
    readPause: new ReadPause(socket),
  };
  const serveEvent = <E extends ClientEventName>(event: E) => serve(served, event, rowOf(serving.table, event));
  for (const event of CLIENT_EVENTS) serveEvent(event);

  socket.onAny((event: string, ...args: unknown[]) => {
    if (KNOWN_CLIENT_EVENTS.has(event)) return;
    const ack = args.at(-1);
    if (typeof ack === 'function') {
      ack({ ok: false, error: new RequestError('UNKNOWN_EVENT', 'unknown event').toBody() });
    }
  });
}

/**
 * Serves one event on one socket by its row: the payload the row's schema parses is the one
 * its handler takes, and the handler's answer the one the ack sends, all typed by `E`.
 */
function serve<E extends ClientEventName>(served: ServedConnection, event: E, row: EventRow<E>): void {
  const { socket, connection, announce, serving, inFlight, readPause } = served;
  const { limits, logger, maxInFlight, shedder, metrics } = serving;
  const budgetKey = officerAddress(connection.identity);
  // What arrives is whatever a client sent, so the listener takes unknown arguments. Listening
  // for `E` as one of the client events (not as `E` itself, whose listener type socket.io's
  // conditional types cannot resolve) lets it be registered as it is.
  socket.on<ClientEventName>(event, (...args: unknown[]) => {
    const ack = args.at(-1);
    if (typeof ack !== 'function') {
      logger.debug({ event }, 'event without ack callback ignored');
      return;
    }
    const respond = (response: Ack<ClientEventResult<E>>): void => {
      ack(response);
    };
    const payload = args.length > 1 ? args[0] : {};
    Promise.resolve()
      .then(async () => {
        const handle = handlerFor(row, connection, announce);
        // Counted from here to the answer, so what one socket makes the hub hold is bounded.
        if (inFlight.count >= maxInFlight) {
          metrics?.rateLimited.inc({ kind: 'in-flight', transport: 'socket' });
          throw tooManyInFlight();
        }
        // What the node as a whole holds is bounded too: refused here, before any work, and
        // what the socket sends next is not read before the refusal's retryAfter.
        let release: () => void;
        try {
          release = shedder.admit('socket');
        } catch (error) {
          readPause.pause(BUSY_READ_PAUSE_MS);
          throw error;
        }
        inFlight.count += 1;
        try {
          try {
            await limits[row.limit].take(budgetKey);
          } catch (error) {
            if (isHubError(error) && error.code === 'RATE_LIMITED') {
              metrics?.rateLimited.inc({ kind: row.limit, transport: 'socket' });
            }
            throw error;
          }
          return await handle(parseOrBadRequest(row.request, payload ?? {}, event));
        } finally {
          inFlight.count -= 1;
          release();
        }
      })
      .then(
        (result) => respond({ ok: true, ...result }),
        (error: unknown) =>
          respond({ ok: false, error: answerableError(error, logger, 'event handler failed', { event }).toBody() }),
      );
  });
}

/** The refusal of a request beyond the socket's `maxInFlight` unanswered ones. */
function tooManyInFlight(): RequestError {
  return new RequestError('RATE_LIMITED', 'too many requests in flight on this connection: wait for their answers', {
    retryAfter: IN_FLIGHT_RETRY_AFTER_MS,
  });
}

/**
 * An entry's handler, given the connection's device as the entry needs it: DEVICE_REQUIRED or
 * DEVICE_NOT_PUBLISHED now, before the budget and the payload are looked at, when it is not there.
 */
function handlerFor<E extends ClientEventName, N extends EventNeeds>(
  entry: EventEntry<E, N>,
  connection: ConnectionContext,
  announce: Announcer,
): (request: EventRequest<E>) => Promise<ClientEventResult<E>> | ClientEventResult<E> {
  const device = deviceFor(connection, entry.needs);
  return (request) => entry.handle(request, { identity: connection.identity, device, connection, announce });
}
