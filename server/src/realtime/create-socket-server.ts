import type { Server as HttpServer } from 'node:http';
import {
  type ConversationItem,
  deviceAddress,
  EVENTS,
  type HubError,
  officerAddress,
  PROTOCOL_VERSION,
  RequestError,
} from '@ncp-hub/protocol';
import { createAdapter } from '@socket.io/redis-streams-adapter';
import type { Redis } from 'ioredis';
import { Server, type ServerOptions } from 'socket.io';
import type { Config } from '../config.js';
import { clientAddress } from '../http/client-address.js';
import { isOriginAllowed } from '../http/origin.js';
import { admitSession, type SessionGate } from '../identity/admit-session.js';
import type { TrustRegistryHolder } from '../identity/trust-registry-holder.js';
import type { LoadShedder } from '../load/load-shedder.js';
import { announcerFor } from './announcer.js';
import { handshakeDevice, openConnection } from './connection-context.js';
import type { RealtimeServices } from './event-entry.js';
import { buildEventTable } from './event-table.js';
import { boundOutbound } from './outbound-bound.js';
import type { RateLimits } from './rate-limiter.js';
import { registerEvents } from './register-events.js';
import { applyRegistryChanges, identityRooms, recheckDirectoryAtStart } from './registry-changes.js';
import type { HubServer } from './socket-types.js';

export interface SocketServerDependencies {
  config: Pick<
    Config,
    | 'allowedOrigins'
    | 'trustedProxies'
    | 'hubId'
    | 'redisPrefix'
    | 'maxConcurrentRequestsPerSocket'
    | 'maxBufferedBytesPerSocket'
    | 'maxBufferedFramesPerSocket'
    | 'adapterStreamMaxLen'
  >;
  /** The hub's Redis connection; the cluster adapter makes its own blocking connection from it. */
  redis: Redis;
  /** Admits each connection (the same sequence as HTTP requests). */
  gate: SessionGate;
  services: RealtimeServices;
  /** The officers' request budgets, shared by the hub's nodes. */
  limits: RateLimits;
  registry: TrustRegistryHolder;
  /** The node's bound on the work it holds (client events: BUSY beyond). */
  shedder: LoadShedder;
}

/** Largest Socket.IO frame accepted, in bytes. */
export const MAX_FRAME_BYTES = 1024 * 1024;

/**
 * The Socket.IO adapter that makes every hub node (and worker process) on the same Redis and
 * prefix one hub: a room emitted to on one node reaches its sockets on all.
 */
export function clusterAdapter(
  redis: Redis,
  config: Pick<Config, 'redisPrefix' | 'adapterStreamMaxLen'>,
): ServerOptions['adapter'] {
  const prefix = config.redisPrefix;
  return createAdapter(redis, {
    streamName: `${prefix}socket.io`,
    channelPrefix: `${prefix}socket.io`,
    // Each broadcast is an entry (an envelope is up to MAX_ENVELOPE_BYTES): keep only what the
    // other nodes still have to read, not the adapter's default of 10,000.
    maxLen: config.adapterStreamMaxLen,
    onlyPlaintext: true,
  });
}

/** A `connect_error` carrying `err.data = { code, message }`. */
function connectError(error: HubError): Error {
  return Object.assign(new Error(error.message), { data: error.toBody() });
}

/**
 * The realtime relay: admits every connection with its officer token (resolving its identity
 * and device once, into its connection context), disconnects it when the token expires, and
 * serves every client event from one table.
 */
export function createSocketServer(httpServer: HttpServer, deps: SocketServerDependencies): HubServer {
  const { config, gate, services } = deps;
  const { authenticator, logger, metrics } = gate;
  const io: HubServer = new Server(httpServer, {
    maxHttpBufferSize: MAX_FRAME_BYTES,
    cors: { origin: config.allowedOrigins },
    serveClient: false,
    adapter: clusterAdapter(deps.redis, config),
  });
  const serving = {
    table: buildEventTable(services, metrics),
    limits: deps.limits,
    maxInFlight: config.maxConcurrentRequestsPerSocket,
    shedder: deps.shedder,
    logger,
    metrics,
  };
  metrics.observeRedis(deps.redis);
  if (services.followUp) {
    metrics.observeFollowUpQueue(services.followUp.queue);
    services.followUp.observe({
      jobFinished: (job, outcome) => metrics.followUpJobOutcomes.inc({ job, outcome }),
      webhookFinished: (outcome) => metrics.webhookOutcomes.inc({ outcome }),
    });
  }

  io.use(async (socket, next) => {
    const { origin, host } = socket.handshake.headers;
    const auth = socket.handshake.auth as { token?: unknown; device?: unknown } | undefined;
    let release: (() => void) | undefined;
    try {
      // An overloaded node refuses the handshake BUSY before verifying the token or asking Redis.
      release = deps.shedder.admit('socket');
      const { session } = await admitSession(gate, {
        transport: 'socket',
        credential: auth?.token,
        address: clientAddress(
          socket.handshake.address,
          socket.handshake.headers['x-forwarded-for'],
          config.trustedProxies,
        ),
        before: () => {
          if (!isOriginAllowed(origin, host, config.allowedOrigins)) {
            throw new RequestError('ORIGIN_NOT_ALLOWED', 'this browser origin is not allowed (ALLOWED_ORIGINS)');
          }
        },
        accept: async (identity, recordAcceptance) => {
          const device = handshakeDevice(auth?.device);
          authenticator.assertDeviceNotRevoked(identity, device);
          // One round trip for the handshake: rooms and the acceptance's audit entry together.
          const [opened] = await Promise.all([openConnection(identity, device, services), recordAcceptance(device)]);
          return opened;
        },
      });
      socket.data.connection = session.connection;
      socket.data.token = auth?.token as string;
      const { identity, device } = session.connection;
      socket.join([...session.rooms, ...identityRooms(officerAddress(identity), device && deviceAddress(device))]);
      next();
    } catch (error) {
      next(connectError(error as HubError));
    } finally {
      release?.();
    }
  });

  // A key, an officer or a device revoked, or an agency removed from the registry, ends the
  // sessions it let in (on every node) and withdraws the devices it no longer vouches for.
  deps.registry.onReload((changes) => applyRegistryChanges(io, { authenticator, logger, services }, changes));
  recheckDirectoryAtStart(io, { authenticator, logger, services });

  io.on('connection', (socket) => {
    const { connection } = socket.data;
    const { identity } = connection;
    metrics.connectedSockets.inc();
    // A client that does not read its frames: closed past its bound, not held in memory for ever.
    boundOutbound(
      socket,
      { maxBytes: config.maxBufferedBytesPerSocket, maxFrames: config.maxBufferedFramesPerSocket },
      (held) => {
        metrics.slowSocketsDropped.inc({ limit: held.limit });
        logger.warn(
          { agency: identity.agency, officer: identity.officer, socket: socket.id, ...held },
          'connection closed: the client does not read what it is sent',
        );
      },
    );
    logger.info({ agency: identity.agency, officer: identity.officer, socket: socket.id }, 'officer connected');
    // Every frame for this socket, a broadcast from another node's included, passes here: the
    // delivery latency is taken at the emit of each item to a recipient's socket.
    socket.onAnyOutgoing((event: string, ...args: unknown[]) => {
      if (event !== EVENTS.conversationItem) return;
      const item = args[0] as Partial<ConversationItem> | undefined;
      if (typeof item?.receivedAt !== 'number' || item.type === undefined) return;
      metrics.deliveryLatency.observe({ type: item.type }, Math.max(0, Date.now() - item.receivedAt) / 1000);
    });

    const expiry = setTimeout(
      () => {
        socket.emit(EVENTS.sessionExpired, { code: 'AUTH_TOKEN_EXPIRED', message: 'the token has expired' });
        socket.disconnect(true);
      },
      Math.max(0, authenticator.millisecondsLeft(identity)),
    );

    socket.on('disconnect', (reason) => {
      clearTimeout(expiry);
      // The client left the namespace (a DISCONNECT packet): the hub serves no other, so its
      // Engine.IO connection is closed rather than left open answering pings (PROTOCOL §1).
      if (reason === 'client namespace disconnect') socket.conn.close();
      metrics.connectedSockets.dec();
      logger.info(
        { agency: identity.agency, officer: identity.officer, socket: socket.id, reason },
        'officer disconnected',
      );
    });

    registerEvents(socket, connection, announcerFor(io, socket), serving);

    socket.emit(EVENTS.sessionWelcome, {
      protocol: PROTOCOL_VERSION,
      hubId: config.hubId,
      identity,
      device: connection.device?.device ?? null,
    });
    // A connection gets what it may have missed while away: its NCB's unacknowledged
    // notifications, the reminders and escalations still standing (PROTOCOL §6.7).
    services.queries.pendingFor(identity, connection.device).then(
      (events) => {
        for (const event of events) socket.emit(EVENTS.queryEvent, event);
      },
      (error: unknown) => logger.error({ err: error }, 'pending notifications failed'),
    );
  });

  return io;
}
