import type { Server as HttpServer } from 'node:http';
import {
  CLIENT_EVENTS,
  type ClientToServerEvents,
  type DeviceId,
  deviceIdSchema,
  EVENTS,
  HubError,
  type Identity,
  PROTOCOL_VERSION,
  type ServerToClientEvents,
  sessionWhoamiSchema,
} from '@ncp-hub/protocol';
import { createAdapter } from '@socket.io/redis-streams-adapter';
import type { Redis } from 'ioredis';
import { Server, type ServerOptions, type Socket } from 'socket.io';
import { authAccepted } from '../audit/audit-events.js';
import type { AuditLog } from '../audit/audit-log.js';
import type { Config } from '../config.js';
import { isOriginAllowed } from '../http/origin.js';
import type { Authenticator } from '../identity/authenticate.js';
import type { TrustRegistryHolder } from '../identity/trust-registry-holder.js';
import type { Logger } from '../logger.js';
import type { HubMetrics } from '../metrics.js';
import type { QueryService } from '../queries/query-service.js';
import { handleEvent } from './handle-event.js';
import { joinRooms, type MessagingServices, registerMessagingHandlers } from './register-messaging-handlers.js';
import { registerQueryHandlers } from './register-query-handlers.js';

/** What the hub keeps on each authenticated socket. */
export interface SocketData {
  identity: Identity;
  /** The device named in the handshake; null for a session without one. */
  device: DeviceId | null;
  /** Whether the device's attestation is in the directory. */
  published: boolean;
  /** The token the connection was accepted with, to check again when the registry changes. Never logged. */
  token: string;
}

type InterServerEvents = Record<string, never>;
export type HubServer = Server<ClientToServerEvents, ServerToClientEvents, InterServerEvents, SocketData>;
export type HubSocket = Socket<ClientToServerEvents, ServerToClientEvents, InterServerEvents, SocketData>;

export interface SocketServerDependencies {
  config: Pick<Config, 'allowedOrigins' | 'hubId' | 'redisPrefix'>;
  /** The hub's Redis connection; the cluster adapter makes its own blocking connection from it. */
  redis: Redis;
  logger: Logger;
  metrics: HubMetrics;
  authenticator: Authenticator;
  messaging: MessagingServices;
  queries: QueryService;
  audit: AuditLog;
  registry: TrustRegistryHolder;
}

/** Largest Socket.IO frame accepted, in bytes. */
export const MAX_FRAME_BYTES = 1024 * 1024;

const KNOWN_CLIENT_EVENTS: ReadonlySet<string> = new Set(CLIENT_EVENTS);

/**
 * The Socket.IO adapter that makes every hub node (and worker process) on the same Redis and
 * prefix one hub: a room emitted to on one node reaches its sockets on all.
 */
export function clusterAdapter(redis: Redis, prefix: string): ServerOptions['adapter'] {
  return createAdapter(redis, {
    streamName: `${prefix}socket.io`,
    channelPrefix: `${prefix}socket.io`,
    onlyPlaintext: true,
  });
}

/** A `connect_error` carrying `err.data = { code, message }`. */
function connectError(error: HubError): Error {
  return Object.assign(new Error(error.message), { data: error.toBody() });
}

/**
 * The realtime relay: authenticates every connection with its officer token, disconnects it
 * when the token expires, and answers every client event through its ack.
 */
export function createSocketServer(httpServer: HttpServer, deps: SocketServerDependencies): HubServer {
  const { config, logger, metrics, authenticator } = deps;
  const io: HubServer = new Server(httpServer, {
    maxHttpBufferSize: MAX_FRAME_BYTES,
    cors: { origin: config.allowedOrigins },
    serveClient: false,
    adapter: clusterAdapter(deps.redis, config.redisPrefix),
  });

  io.use(async (socket, next) => {
    const { origin, host } = socket.handshake.headers;
    try {
      if (!isOriginAllowed(origin, host, config.allowedOrigins)) {
        throw new HubError('ORIGIN_NOT_ALLOWED', 'this browser origin is not allowed (ALLOWED_ORIGINS)');
      }
      const auth = socket.handshake.auth as { token?: unknown; device?: unknown } | undefined;
      socket.data.identity = await authenticator.verify(auth?.token);
      socket.data.token = auth?.token as string;
      if (auth?.device !== undefined && !deviceIdSchema.safeParse(auth.device).success) {
        throw new HubError('BAD_REQUEST', 'auth.device: 1-64 of A-Z, a-z, 0-9 and . _ -');
      }
      socket.data.device = (auth?.device as DeviceId | undefined) ?? null;
      // One round trip for the handshake: rooms and the acceptance's audit entry together.
      await Promise.all([
        joinRooms(socket, deps.messaging),
        deps.audit.append(authAccepted(socket.data.identity, 'socket', socket.data.device)),
      ]);
      next();
    } catch (error) {
      const hubError = error instanceof HubError ? error : new HubError('INTERNAL', 'internal error');
      if (!(error instanceof HubError)) logger.error({ err: error }, 'socket authentication failed unexpectedly');
      metrics.authFailures.inc({ code: hubError.code, transport: 'socket' });
      const claimed = authenticator.claimedAgency((socket.handshake.auth as { token?: unknown } | undefined)?.token);
      deps.audit.recordRefusal('socket', hubError.code, claimed);
      logger.info({ code: hubError.code, ip: socket.handshake.address }, 'socket authentication refused');
      next(connectError(hubError));
    }
  });

  // A key revoked or an agency removed from the registry ends the sessions it let in.
  deps.registry.onReload(() => {
    for (const socket of io.of('/').sockets.values()) {
      authenticator.verify(socket.data.token).catch((error: unknown) => {
        const body =
          error instanceof HubError ? error.toBody() : { code: 'INTERNAL' as const, message: 'internal error' };
        logger.info({ agency: socket.data.identity.agency, code: body.code }, 'session ended by a registry change');
        socket.emit(EVENTS.sessionExpired, body);
        socket.disconnect(true);
      });
    }
  });

  io.on('connection', (socket) => {
    const { identity } = socket.data;
    metrics.connectedSockets.inc();
    logger.info({ agency: identity.agency, officer: identity.officer, socket: socket.id }, 'officer connected');

    const expiry = setTimeout(
      () => {
        socket.emit(EVENTS.sessionExpired, { code: 'AUTH_TOKEN_EXPIRED', message: 'the token has expired' });
        socket.disconnect(true);
      },
      Math.max(0, authenticator.millisecondsLeft(identity)),
    );

    socket.on('disconnect', (reason) => {
      clearTimeout(expiry);
      metrics.connectedSockets.dec();
      logger.info(
        { agency: identity.agency, officer: identity.officer, socket: socket.id, reason },
        'officer disconnected',
      );
    });

    socket.onAny((event: string, ...args: unknown[]) => {
      if (KNOWN_CLIENT_EVENTS.has(event)) return;
      const ack = args.at(-1);
      if (typeof ack === 'function') {
        ack({ ok: false, error: { code: 'UNKNOWN_EVENT', message: 'unknown event' } });
      }
    });

    socket.on(
      EVENTS.sessionWhoami,
      handleEvent(EVENTS.sessionWhoami, sessionWhoamiSchema, () => ({ identity }), logger),
    );

    registerMessagingHandlers(io, socket, deps.messaging, logger);
    registerQueryHandlers(io, socket, deps.queries, deps.messaging.rateLimiter, logger);

    socket.emit(EVENTS.sessionWelcome, {
      protocol: PROTOCOL_VERSION,
      hubId: config.hubId,
      identity,
      device: socket.data.device,
    });
    // An NCB desk that was offline gets the notifications still waiting for an acknowledgement.
    deps.queries.pendingFor(identity).then(
      (events) => {
        for (const event of events) socket.emit(EVENTS.queryEvent, event);
      },
      (error: unknown) => logger.error({ err: error }, 'pending notifications failed'),
    );
  });

  return io;
}
