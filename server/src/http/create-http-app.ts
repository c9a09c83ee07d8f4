import type { AgencyPublicJwk, AuditEntry, DevelopmentRegistry } from '@ncp-hub/keys';
import {
  type HubError,
  type Identity,
  QUERY_STATUSES,
  QueryError,
  queryIdSchema,
  RequestError,
} from '@ncp-hub/protocol';
import cors from 'cors';
import express, { type NextFunction, type Request, type Response } from 'express';
import helmet from 'helmet';
import { z } from 'zod';
import { answerableError } from '../answerable-error.js';
import type { AuditLog } from '../audit/audit-log.js';
import type { Config } from '../config.js';
import { admitSession, type SessionGate } from '../identity/admit-session.js';
import type { LoadShedder } from '../load/load-shedder.js';
import type { QueryService } from '../queries/query-service.js';
import { budgetSize, LocalBudget, type RateLimits } from '../realtime/rate-limiter.js';
import { parseOrBadRequest } from '../validation.js';
import { consoleAssets } from './console-assets.js';
import { developmentSignInRoutes } from './dev-sign-in.js';
import { HTTP_STATUS_BY_CODE, requestReadRefusal } from './http-errors.js';
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

/** `GET /v1/queries` parameters: `?status=OPEN|CLOSED|WITHDRAWN&overdue=true|false`. */
const queryListQuerySchema = z
  .strictObject({
    status: z.enum(QUERY_STATUSES).optional(),
    overdue: z.enum(['true', 'false']).optional(),
  })
  .transform(({ status, overdue }) => ({
    ...(status ? { status } : {}),
    ...(overdue ? { overdue: overdue === 'true' } : {}),
  }));

/** Most chain entries one `GET /v1/audit/entries` request looks through. */
const AUDIT_SCAN_LIMIT = 20_000;

/** `GET /v1/audit/entries` parameters. */
const auditQuerySchema = z.strictObject({
  query: z.string().min(1).max(64).optional(),
  officer: z.string().min(1).max(128).optional(),
  from: z.coerce.number().int().nonnegative().optional(),
  to: z.coerce.number().int().nonnegative().optional(),
  after: z.coerce.number().int().nonnegative().default(0),
  limit: z.coerce.number().int().min(1).max(500).default(100),
});

/** Whether an auditor of `agency` may see the entry, and it passes the filter. */
function matchesAuditFilter(entry: AuditEntry, agency: string, filter: z.infer<typeof auditQuerySchema>): boolean {
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

function sendError(res: Response, error: HubError): void {
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

  app.get('/healthz', budget.probeByAddress, (_req, res) => {
    res.json({ status: 'ok' });
  });

  app.get('/readyz', budget.probeByAddress, async (_req, res) => {
    const readiness = await deps.readiness();
    if (registry.badFiles.length > 0) {
      readiness.checks = { ...readiness.checks, registryBadFiles: [...registry.badFiles] };
    }
    res.status(readiness.ready ? 200 : 503).json({ status: readiness.ready ? 'ready' : 'not-ready', ...readiness });
  });

  app.get('/v1/hub-keys', budget.byAddress, (_req, res) => {
    res.json({ keys: [deps.hubPublicJwk] });
  });

  app.get('/metrics', budget.probeByAddress, async (_req, res) => {
    res.setHeader('Content-Type', metrics.registry.contentType);
    res.send(await metrics.registry.metrics());
  });

  const requireIdentity = async (req: Request, res: Response, next: NextFunction) => {
    try {
      const { identity } = await admitSession(gate, {
        transport: 'http',
        credential: req.headers.authorization,
        address: req.socket.remoteAddress,
        accept: (_identity, recordAcceptance) => recordAcceptance(null),
      });
      await budget.admit(identity, res);
      res.locals.identity = identity;
      next();
    } catch (error) {
      const refusal = answerableError(error, logger, 'http admission failed');
      if (refusal.family === 'auth') res.setHeader('WWW-Authenticate', 'Bearer error="invalid_token"');
      sendError(res, refusal);
    }
  };

  app.get('/v1/whoami', requireIdentity, (_req, res) => {
    res.json({ identity: res.locals.identity as Identity });
  });

  const requireAuditor = (_req: Request, res: Response, next: NextFunction) => {
    if ((res.locals.identity as Identity).roles.includes('auditor')) return next();
    sendError(res, new QueryError('ROLE_REQUIRED', 'the audit log is for users with the auditor role'));
  };

  app.get('/v1/audit/entries', requireIdentity, requireAuditor, async (req, res) => {
    const filter = parseOrBadRequest(auditQuerySchema, req.query, 'query string');
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
    res.json({ entries, next: after === -1 ? null : after });
  });

  app.get('/v1/audit/export', requireIdentity, requireAuditor, async (_req, res) => {
    const { agency } = res.locals.identity as Identity;
    await deps.audit.checkpointNow();
    res.setHeader('Content-Type', 'application/x-ndjson; charset=utf-8');
    res.setHeader('Content-Disposition', `attachment; filename="ncp-hub-audit-${agency}.jsonl"`);
    for await (const line of deps.audit.export((entry) => entry.agencies.includes(agency))) {
      res.write(`${JSON.stringify(line)}\n`);
    }
    res.end();
  });

  app.get('/v1/queries', requireIdentity, async (req, res) => {
    const filter = parseOrBadRequest(queryListQuerySchema, req.query, 'query string');
    res.json({ queries: await deps.queries.list(res.locals.identity as Identity, filter) });
  });

  app.get('/v1/queries/:id', requireIdentity, async (req, res) => {
    if (!queryIdSchema.safeParse(req.params.id).success) throw new QueryError('QUERY_NOT_FOUND', 'no such query');
    res.json(await deps.queries.get(res.locals.identity as Identity, req.params.id as string));
  });

  if (deps.development) {
    app.use(
      developmentSignInRoutes({ development: deps.development, hubId: config.hubId, byAddress: budget.byAddress }),
    );
  }

  const notFound = (res: Response, message = 'no such route') => sendError(res, new RequestError('NOT_FOUND', message));
  app.use(consoleAssets({ dir: config.consoleDir, byAddress: budget.byAddress, notFound }));

  app.use(budget.byAddress, (_req, res) => {
    notFound(res);
  });

  app.use((error: unknown, _req: Request, res: Response, _next: NextFunction) => {
    sendError(res, requestReadRefusal(error, HTTP_BODY_LIMIT) ?? answerableError(error, logger, 'http request failed'));
  });

  return app;
}
