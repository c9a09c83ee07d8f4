import type { AgencyPublicJwk, AuditEntry, DevelopmentRegistry } from '@ncp-hub/keys';
import {
  type AuditEntriesQuery,
  type HubError,
  type Identity,
  QueryError,
  type ReadinessAnswer,
  RequestError,
} from '@ncp-hub/protocol';
import cors from 'cors';
import express, { type NextFunction, type Request, type Response } from 'express';
import helmet from 'helmet';
import { answerableError } from '../answerable-error.js';
import type { AuditLog } from '../audit/audit-log.js';
import type { Config } from '../config.js';
import { admitSession, type SessionGate } from '../identity/admit-session.js';
import type { LoadShedder } from '../load/load-shedder.js';
import type { HubMetrics } from '../metrics.js';
import type { QueryService } from '../queries/query-service.js';
import { budgetSize, LocalBudget, type RateLimits } from '../realtime/rate-limiter.js';
import { parseOrBadRequest } from '../validation.js';
import { clientAddressOf } from './client-address.js';
import { consoleAssets } from './console-assets.js';
import { developmentSignInRoutes } from './dev-sign-in.js';
import { HTTP_STATUS_BY_CODE, requestReadRefusal } from './http-errors.js';
import { assertRoutesListed, HTTP_ROUTES, openApiDocument, reply, serveRoute } from './openapi.js';
import { isOriginAllowed } from './origin.js';
import { HttpBudget, retryAfterSeconds } from './request-budget.js';

/** Result of the readiness checks behind `GET /readyz`. */
export interface Readiness {
  ready: boolean;
  checks: {
    redis: boolean;
    registry: boolean;
    /**
     * The trust registry files the last reload could not load (section 8 of docs/PROTOCOL.md):
     * present only when there are some. They do not make the hub unready: it serves, with the
     * last good version of each (a new bad file loads nothing), and every other file in force.
     */
    registryBadFiles?: string[];
  };
}

export interface HttpAppDependencies {
  config: Pick<
    Config,
    | 'allowedOrigins'
    | 'trustedProxies'
    | 'maxConcurrentRequestsPerSocket'
    | 'rateLimitReadsPerSecond'
    | 'rateLimitReadsBurst'
    | 'hubId'
    | 'consoleDir'
  >;
  /** Admits each authenticated request (the same sequence as socket connections). */
  gate: SessionGate;
  readiness: () => Promise<Readiness>;
  queries: QueryService;
  /** The hub's public signing key, served for webhook receivers to verify notifications. */
  hubPublicJwk: AgencyPublicJwk;
  audit: AuditLog;
  /** The officers' request budgets, shared with the socket events: every route draws on `read`. */
  limits: RateLimits;
  /** The node's bound on the work it holds, shared with the socket events: BUSY (503) beyond. */
  shedder: LoadShedder;
  /** The development registry (no `TRUST_REGISTRY`): mounts the development sign-in routes. */
  development?: DevelopmentRegistry | undefined;
}

/** Most chain entries one `GET /v1/audit/entries` request looks through. */
const AUDIT_SCAN_LIMIT = 20_000;

/** Whether an auditor of `agency` may see the entry, and it passes the filter. */
function matchesAuditFilter(entry: AuditEntry, agency: string, filter: AuditEntriesQuery): boolean {
  if (!entry.agencies.includes(agency)) return false;
  if (filter.query !== undefined && entry.query !== filter.query) return false;
  if (filter.officer !== undefined) {
    const actor = entry.actor === 'hub' ? undefined : entry.actor.officer;
    if (actor !== filter.officer && entry.data.officer !== filter.officer) return false;
  }
  if (filter.from !== undefined && entry.at < filter.from) return false;
  return filter.to === undefined || entry.at <= filter.to;
}

/** Largest JSON body accepted. */
export const HTTP_BODY_LIMIT = '64kb';

/**
 * Sends `error` as the JSON error body with its status; a RATE_LIMITED one is counted, by the
 * budget it came from (the officer's `read` with a token, the peer address's without).
 */
function sendError(res: Response, error: HubError, metrics?: HubMetrics): void {
  if (error.code === 'RATE_LIMITED') {
    metrics?.rateLimited.inc({ kind: res.req.headers.authorization ? 'read' : 'address', transport: 'http' });
  }
  const retryAfter = retryAfterSeconds(error);
  if (retryAfter !== undefined) res.setHeader('Retry-After', retryAfter);
  res.status(HTTP_STATUS_BY_CODE[error.code]).json({ error: error.toBody() });
}

/**
 * The hub's HTTP API: health, readiness, metrics and the authenticated `/v1` routes; the
 * development sign-in in development mode; the web console at `/`.
 */
export function createHttpApp(deps: HttpAppDependencies): express.Express {
  const { config, gate } = deps;
  const { logger, metrics } = gate;
  const registry = gate.authenticator.registry;
  metrics.observeRegistry(registry);
  const probes = new LocalBudget(budgetSize(config.rateLimitReadsPerSecond, config.rateLimitReadsBurst));
  const budget = new HttpBudget(deps.limits, config.maxConcurrentRequestsPerSocket, deps.shedder, probes);
  const app = express();
  app.disable('x-powered-by');
  // Read by clientAddressOf: the per-address budgets and the refusals' source behind a load balancer.
  app.locals.trustedProxies = config.trustedProxies;

  app.use((req, res, next) => {
    res.on('finish', () => {
      const route = req.route?.path ?? 'unmatched';
      metrics.httpRequests.inc({ method: req.method, route: String(route), status: String(res.statusCode) });
    });
    next();
  });
  app.use(helmet());
  app.use((req, res, next) => {
    if (isOriginAllowed(req.headers.origin, req.headers.host, config.allowedOrigins)) return next();
    sendError(res, new RequestError('ORIGIN_NOT_ALLOWED', 'this browser origin is not allowed (ALLOWED_ORIGINS)'));
  });
  app.use(cors({ origin: config.allowedOrigins, allowedHeaders: ['Authorization', 'Content-Type'], maxAge: 600 }));
  // An overloaded node refuses before reading the body or the token (with CORS headers, so that a browser reads it).
  app.use(budget.shed);
  app.use(express.json({ limit: HTTP_BODY_LIMIT }));
  app.use((_req, res, next) => {
    res.setHeader('Cache-Control', 'no-store');
    next();
  });

  serveRoute(app, HTTP_ROUTES.healthz, budget.probeByAddress, (_req, res) => {
    reply(res, HTTP_ROUTES.healthz, { status: 'ok' });
  });

  serveRoute(app, HTTP_ROUTES.readyz, budget.probeByAddress, async (_req, res) => {
    const readiness = await deps.readiness();
    if (registry.badFiles.length > 0) {
      readiness.checks = { ...readiness.checks, registryBadFiles: [...registry.badFiles] };
    }
    const answer: ReadinessAnswer = { status: readiness.ready ? 'ready' : 'not-ready', ...readiness };
    reply(res, HTTP_ROUTES.readyz, answer, readiness.ready ? 200 : 503);
  });

  serveRoute(app, HTTP_ROUTES.hubKeys, budget.byAddress, (_req, res) => {
    reply(res, HTTP_ROUTES.hubKeys, { keys: [deps.hubPublicJwk] });
  });

  serveRoute(app, HTTP_ROUTES.metrics, budget.probeByAddress, async (_req, res) => {
    res.setHeader('Content-Type', metrics.registry.contentType);
    res.send(await metrics.registry.metrics());
  });

  // Written once: the routes do not change while the hub runs.
  const openApi = openApiDocument({ development: deps.development !== undefined });
  serveRoute(app, HTTP_ROUTES.openapi, budget.byAddress, (_req, res) => {
    res.json(openApi);
  });

  const requireIdentity = async (req: Request, res: Response, next: NextFunction) => {
    try {
      const { identity } = await admitSession(gate, {
        transport: 'http',
        credential: req.headers.authorization,
        address: clientAddressOf(req),
        accept: (_identity, recordAcceptance) => recordAcceptance(null),
      });
      await budget.admit(identity, res);
      res.locals.identity = identity;
      next();
    } catch (error) {
      const refusal = answerableError(error, logger, 'http admission failed');
      if (refusal.family === 'auth') res.setHeader('WWW-Authenticate', 'Bearer error="invalid_token"');
      sendError(res, refusal, metrics);
    }
  };

  serveRoute(app, HTTP_ROUTES.whoami, requireIdentity, (_req, res) => {
    reply(res, HTTP_ROUTES.whoami, { identity: res.locals.identity as Identity });
  });

  const requireAuditor = (_req: Request, res: Response, next: NextFunction) => {
    if ((res.locals.identity as Identity).roles.includes('auditor')) return next();
    sendError(res, new QueryError('ROLE_REQUIRED', 'the audit log is for users with the auditor role'));
  };

  serveRoute(app, HTTP_ROUTES.auditEntries, requireIdentity, requireAuditor, async (req, res) => {
    const filter = parseOrBadRequest(HTTP_ROUTES.auditEntries.query, req.query, 'query string');
    const { agency } = res.locals.identity as Identity;
    const entries: AuditEntry[] = [];
    let after = filter.after;
    for (let scanned = 0; entries.length < filter.limit && scanned < AUDIT_SCAN_LIMIT; scanned += 1000) {
      const page = await deps.audit.entries(after, 1000);
      for (const entry of page) {
        after = entry.seq;
        if (matchesAuditFilter(entry, agency, filter)) entries.push(entry);
        if (entries.length === filter.limit) break;
      }
      if (page.length < 1000) {
        if (entries.length < filter.limit) after = -1;
        break;
      }
    }
    reply(res, HTTP_ROUTES.auditEntries, { entries, next: after === -1 ? null : after });
  });

  serveRoute(app, HTTP_ROUTES.auditExport, requireIdentity, requireAuditor, async (_req, res) => {
    const { agency } = res.locals.identity as Identity;
    await deps.audit.checkpointNow();
    res.setHeader('Content-Type', 'application/x-ndjson; charset=utf-8');
    res.setHeader('Content-Disposition', `attachment; filename="ncp-hub-audit-${agency}.jsonl"`);
    for await (const line of deps.audit.export((entry) => entry.agencies.includes(agency))) {
      res.write(`${JSON.stringify(line)}\n`);
    }
    res.end();
  });

  serveRoute(app, HTTP_ROUTES.queries, requireIdentity, async (req, res) => {
    const filter = parseOrBadRequest(HTTP_ROUTES.queries.query, req.query, 'query string');
    reply(res, HTTP_ROUTES.queries, { queries: await deps.queries.list(res.locals.identity as Identity, filter) });
  });

  serveRoute(app, HTTP_ROUTES.query, requireIdentity, async (req, res) => {
    // A malformed id is a query this identity cannot see, as any other.
    const params = HTTP_ROUTES.query.params.safeParse(req.params);
    if (!params.success) throw new QueryError('QUERY_NOT_FOUND', 'no such query');
    reply(res, HTTP_ROUTES.query, await deps.queries.get(res.locals.identity as Identity, params.data.id));
  });

  if (deps.development) {
    app.use(
      developmentSignInRoutes({ development: deps.development, hubId: config.hubId, byAddress: budget.byAddress }),
    );
  }

  assertRoutesListed(app.router, deps.development !== undefined);

  const notFound = (res: Response, message = 'no such route') => sendError(res, new RequestError('NOT_FOUND', message));
  app.use(consoleAssets({ dir: config.consoleDir, byAddress: budget.byAddress, notFound }));

  app.use(budget.byAddress, (_req, res) => {
    notFound(res);
  });

  app.use((error: unknown, _req: Request, res: Response, _next: NextFunction) => {
    const refusal = requestReadRefusal(error, HTTP_BODY_LIMIT) ?? answerableError(error, logger, 'http request failed');
    sendError(res, refusal, metrics);
  });

  return app;
}
