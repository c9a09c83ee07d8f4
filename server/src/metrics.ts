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

  constructor() {
    collectDefaultMetrics({ register: this.registry, prefix: 'ncp_hub_' });
  }
}
