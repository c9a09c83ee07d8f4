import {
  EVENTS,
  officerAddress,
  queryFileSchema,
  queryOpenPartsSchema,
  queryPendingSchema,
  queryRefSchema,
  queryWithdrawSchema,
} from '@ncp-hub/protocol';
import type { Logger } from '../logger.js';
import type { RateLimiter } from '../messaging/rate-limiter.js';
import type { QueryService } from '../queries/query-service.js';
import type { HubServer, HubSocket } from './create-socket-server.js';
import { handleEvent } from './handle-event.js';
import { publishedDeviceOf } from './register-messaging-handlers.js';
import { conversationRoom, officerRoom } from './rooms.js';

/** Registers the operational-query events on one socket. */
export function registerQueryHandlers(
  io: HubServer,
  socket: HubSocket,
  queries: QueryService,
  rateLimiter: RateLimiter,
  logger: Logger,
): void {
  const { identity } = socket.data;

  socket.on(
    EVENTS.queryOpen,
    handleEvent(
      EVENTS.queryOpen,
      queryOpenPartsSchema,
      async (payload) => {
        const device = publishedDeviceOf(socket);
        rateLimiter.take(officerAddress(device));
        const opened = await queries.open(identity, device, payload);
        const room = conversationRoom(opened.conversation.id);
        for (const member of opened.conversation.members) io.in(officerRoom(member)).socketsJoin(room);
        io.to(room).emit(EVENTS.conversationUpdated, { conversation: opened.conversation, record: opened.record });
        socket.to(room).emit(EVENTS.conversationItem, opened.question);
        return { query: opened.query, conversation: opened.conversation, receipt: opened.receipt };
      },
      logger,
    ),
  );

  socket.on(
    EVENTS.queryAcknowledge,
    handleEvent(
      EVENTS.queryAcknowledge,
      queryRefSchema,
      async ({ query }) => ({ query: await queries.acknowledge(identity, query) }),
      logger,
    ),
  );

  socket.on(
    EVENTS.queryFile,
    handleEvent(
      EVENTS.queryFile,
      queryFileSchema,
      async ({ query, filing }) => ({ query: await queries.file(identity, query, filing) }),
      logger,
    ),
  );

  socket.on(
    EVENTS.queryConfirm,
    handleEvent(
      EVENTS.queryConfirm,
      queryRefSchema,
      async ({ query }) => ({ query: await queries.confirm(identity, query) }),
      logger,
    ),
  );

  socket.on(
    EVENTS.queryWithdraw,
    handleEvent(
      EVENTS.queryWithdraw,
      queryWithdrawSchema,
      async ({ query, reason }) => ({ query: await queries.withdraw(identity, query, reason) }),
      logger,
    ),
  );

  socket.on(
    EVENTS.queryGet,
    handleEvent(EVENTS.queryGet, queryRefSchema, ({ query }) => queries.get(identity, query), logger),
  );

  socket.on(
    EVENTS.queryPending,
    handleEvent(
      EVENTS.queryPending,
      queryPendingSchema,
      async () => ({ events: await queries.pendingFor(identity) }),
      logger,
    ),
  );
}
