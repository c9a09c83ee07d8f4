import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';

/** What the Redis gauges time at each scrape: a command with its reply (ioredis's `ping`). */
export interface PingableRedis {
  ping(): Promise<unknown>;
}

/** What the follow-up gauges read at each scrape: BullMQ's `Queue.getJobCounts`. */
export interface CountableQueue {
  getJobCounts(...states: string[]): Promise<Record<string, number>>;
}

/** The BullMQ states whose jobs {@link HubMetrics.followUpJobs} counts. */
export const FOLLOWUP_JOB_STATES = [
  'waiting',
  'active',
  'delayed',
  'prioritized',
  'waiting-children',
  'completed',
  'failed',
] as const;

/**
 * How long a scrape waits for Redis (its PING, the queue's counts): a stalled Redis must not
 * stall `/metrics`, which is how an operator sees it (the PING is then observed at this bound).
 */
export const SCRAPE_REDIS_TIMEOUT_MS = 500;

/** `promise`, or `undefined` once `ms` have passed. */
function within<T>(promise: Promise<T>, ms: number): Promise<T | undefined> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<undefined>((resolve) => {
    timer = setTimeout(() => resolve(undefined), ms);
  });
  return Promise.race([promise.catch(() => undefined), late]).finally(() => clearTimeout(timer));
}

/** Seconds from the hub storing an item to its emit: from a few ms on one node to a backlog flushed. */
const DELIVERY_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];
/** Seconds of a Redis round trip: well under a millisecond on loopback, tens over a network. */
const REDIS_BUCKETS = [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5];

/** The hub's Prometheus metrics, in a registry of its own (several hubs may share a process). */
export class HubMetrics {
  readonly registry = new Registry();

  readonly connectedSockets = new Gauge({
    name: 'ncp_hub_connected_sockets',
    help: 'Socket.IO connections currently authenticated on this node',
    registers: [this.registry],
  });

  readonly authFailures = new Counter({
    name: 'ncp_hub_auth_failures_total',
    help: 'Refused authentications, by error code and transport',
    labelNames: ['code', 'transport'] as const,
    registers: [this.registry],
  });

  readonly httpRequests = new Counter({
    name: 'ncp_hub_http_requests_total',
    help: 'HTTP requests served, by method, route and status',
    labelNames: ['method', 'route', 'status'] as const,
    registers: [this.registry],
  });

  readonly overloadRefusals = new Counter({
    name: 'ncp_hub_overload_refusals_total',
    help: 'Requests refused BUSY because this node was overloaded, by reason (requests, redis, lag) and transport',
    labelNames: ['reason', 'transport'] as const,
    registers: [this.registry],
  });

  readonly slowSocketsDropped = new Counter({
    name: 'ncp_hub_slow_sockets_dropped_total',
    help: 'Connections closed because the hub held more for them than MAX_BUFFERED_BYTES_PER_SOCKET or MAX_BUFFERED_FRAMES_PER_SOCKET (a client that does not read), by the limit passed',
    labelNames: ['limit'] as const,
    registers: [this.registry],
  });

  /** Where the registry gauges read the bad files from, at each scrape ({@link observeRegistry}). */
  #registry: { readonly badFiles: readonly string[] } | undefined;

  readonly registryBadFiles = new Gauge({
    name: 'ncp_hub_registry_bad_files',
    help: 'Trust registry files the last reload could not load (each keeps its last good version, a new one loads nothing)',
    registers: [this.registry],
    collect: () => {
      this.registryBadFiles.set(this.#registry?.badFiles.length ?? 0);
    },
  });

  readonly registryBadFile = new Gauge({
    name: 'ncp_hub_registry_bad_file',
    help: 'A trust registry file the last reload could not load, by file name (1 while it is bad)',
    labelNames: ['file'] as const,
    registers: [this.registry],
    collect: () => {
      this.registryBadFile.reset();
      for (const file of this.#registry?.badFiles ?? []) this.registryBadFile.set({ file }, 1);
    },
  });

  /** Where the load gauges read this node's work in hand from, at each scrape ({@link observeLoad}). */
  #load: { readonly inFlight: number; readonly lagMs: number } | undefined;

  readonly requestsInFlight = new Gauge({
    name: 'ncp_hub_requests_in_flight',
    help: 'Requests (client events, handshakes and HTTP) this node is working on, against MAX_REQUESTS_IN_FLIGHT',
    registers: [this.registry],
    collect: () => {
      this.requestsInFlight.set(this.#load?.inFlight ?? 0);
    },
  });

  readonly eventLoopLag = new Gauge({
    name: 'ncp_hub_event_loop_lag_ms',
    help: 'Median event-loop delay over the last half second (ms), against MAX_EVENT_LOOP_LAG_MS',
    registers: [this.registry],
    collect: () => {
      this.eventLoopLag.set(this.#load?.lagMs ?? 0);
    },
  });

  readonly messagesRelayed = new Counter({
    name: 'ncp_hub_messages_relayed_total',
    help: 'Chat messages stored and relayed by this node (message:send; a message id sent again is not counted again)',
    registers: [this.registry],
  });

  readonly receiptsRelayed = new Counter({
    name: 'ncp_hub_receipts_relayed_total',
    help: 'Signed receipts stored and relayed by this node (receipt:send)',
    registers: [this.registry],
  });

  readonly deliveryLatency = new Histogram({
    name: 'ncp_hub_delivery_latency_seconds',
    help: "Seconds from the hub storing a message or receipt (its receivedAt) to its conversation:item emit to a recipient's socket on this node, by item type (live pushes only; a sync after reconnecting is not counted)",
    labelNames: ['type'] as const,
    buckets: DELIVERY_BUCKETS,
    registers: [this.registry],
  });

  readonly rateLimited = new Counter({
    name: 'ncp_hub_rate_limited_total',
    help: "Requests refused RATE_LIMITED, by kind (write or read: the officer's budget; in-flight: MAX_CONCURRENT_REQUESTS_PER_SOCKET; address: an unauthenticated route's budget) and transport",
    labelNames: ['kind', 'transport'] as const,
    registers: [this.registry],
  });

  readonly followUpJobOutcomes = new Counter({
    name: 'ncp_hub_followup_jobs_total',
    help: 'Follow-up jobs run by the worker of this process, by job name and outcome (completed; failed: to be tried again; exhausted: failed for the last time)',
    labelNames: ['job', 'outcome'] as const,
    registers: [this.registry],
  });

  readonly webhookOutcomes = new Counter({
    name: 'ncp_hub_webhooks_total',
    help: "NCB webhook deliveries by the worker of this process, by outcome (delivered; retry: a network error, 5xx, 408 or 429, tried again; refused: another 4xx or attempts exhausted, the query's NCB track escalated; skipped: nothing left to send)",
    labelNames: ['outcome'] as const,
    registers: [this.registry],
  });

  /** The follow-up queue the depth gauge counts, at each scrape ({@link observeFollowUpQueue}). */
  #queue: CountableQueue | undefined;

  readonly followUpJobs = new Gauge({
    name: 'ncp_hub_followup_jobs',
    help: 'Jobs of the follow-up queue (shared by every node and worker), by BullMQ state; read from Redis at each scrape',
    labelNames: ['state'] as const,
    registers: [this.registry],
    collect: async () => {
      const queue = this.#queue;
      if (!queue) return;
      const counts = await within(queue.getJobCounts(...FOLLOWUP_JOB_STATES), SCRAPE_REDIS_TIMEOUT_MS);
      if (!counts) return;
      for (const state of FOLLOWUP_JOB_STATES) this.followUpJobs.set({ state }, counts[state] ?? 0);
    },
  });

  /** The Redis connection the round-trip histogram pings, at each scrape ({@link observeRedis}). */
  #redis: PingableRedis | undefined;

  readonly redisRoundTrip = new Histogram({
    name: 'ncp_hub_redis_round_trip_seconds',
    help: "Seconds of a PING to Redis on this node's main connection, one per scrape (queued behind the node's other commands, so it shows their wait too); a PING not answered within 0.5 s is observed as 0.5 s",
    buckets: REDIS_BUCKETS,
    registers: [this.registry],
    collect: async () => {
      const redis = this.#redis;
      if (!redis) return;
      const started = performance.now();
      const answered = await within(
        redis.ping().then(() => true),
        SCRAPE_REDIS_TIMEOUT_MS,
      );
      const seconds = answered ? (performance.now() - started) / 1000 : SCRAPE_REDIS_TIMEOUT_MS / 1000;
      this.redisRoundTrip.observe(seconds);
    },
  });

  constructor() {
    collectDefaultMetrics({ register: this.registry, prefix: 'ncp_hub_' });
  }

  /** Reports the work in hand of `load` (the node's LoadShedder) in the load gauges. */
  observeLoad(load: { readonly inFlight: number; readonly lagMs: number }): void {
    this.#load = load;
  }

  /** Times a PING to `redis` (the node's main connection) at each scrape. */
  observeRedis(redis: PingableRedis): void {
    this.#redis = redis;
  }

  /** Reports the depths of `queue` (the follow-up queue) at each scrape. */
  observeFollowUpQueue(queue: CountableQueue): void {
    this.#queue = queue;
  }

  /** Reports the bad files of `registry` (the hub's TrustRegistryHolder) in the registry gauges. */
  observeRegistry(registry: { readonly badFiles: readonly string[] }): void {
    this.#registry = registry;
  }
}
