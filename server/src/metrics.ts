import { Counter, collectDefaultMetrics, Gauge, Registry } from 'prom-client';

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

  constructor() {
    collectDefaultMetrics({ register: this.registry, prefix: 'ncp_hub_' });
  }

  /** Reports the work in hand of `load` (the node's LoadShedder) in the load gauges. */
  observeLoad(load: { readonly inFlight: number; readonly lagMs: number }): void {
    this.#load = load;
  }

  /** Reports the bad files of `registry` (the hub's TrustRegistryHolder) in the registry gauges. */
  observeRegistry(registry: { readonly badFiles: readonly string[] }): void {
    this.#registry = registry;
  }
}
