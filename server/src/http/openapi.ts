/**
 * The hub's HTTP routes as one table, and `GET /openapi.json` generated from it.
 *
 * Each route is declared once here: its method and path, what it needs (a token, a role, the
 * development mode), the zod schemas of its path parameters, query string and body, which the
 * route parses with, and the schemas of its answers, which the route's answers are typed by
 * ({@link reply}). {@link serveRoute} registers a route on express by its row, and
 * {@link openApiDocument} writes the OpenAPI 3.1 document from the same rows (JSON Schema
 * 2020-12 from zod's own `z.toJSONSchema`), so the document cannot drift from what is served.
 */
import { agencyPublicJwkSchema, devicePublicKeySchema } from '@ncp-hub/keys';
import {
  agencyIdSchema,
  auditEntriesAnswerSchema,
  auditEntriesQuerySchema,
  developmentIdentitiesAnswerSchema,
  developmentSignInAnswerSchema,
  deviceIdSchema,
  healthAnswerSchema,
  httpErrorAnswerSchema,
  officerIdSchema,
  PROTOCOL_VERSION,
  queryAnswerSchema,
  queryIdSchema,
  queryListAnswerSchema,
  queryListQuerySchema,
  type Role,
  readinessAnswerSchema,
  whoamiAnswerSchema,
} from '@ncp-hub/protocol';
import type { RequestHandler, Response, Router } from 'express';
import { z } from 'zod';

/** One answer of a route: a JSON body of `schema`, or a body of another media type. */
export interface RouteAnswer {
  readonly description: string;
  /** The JSON body; absent for a body that is not JSON (see `mediaType`). */
  readonly schema?: z.ZodType;
  /** @defaultValue `application/json` */
  readonly mediaType?: string;
}

/** A route of the hub's HTTP API. */
export interface HttpRoute {
  readonly method: 'get' | 'post';
  /** In express's form (`/v1/queries/:id`); written `{id}` in the document. */
  readonly path: string;
  readonly summary: string;
  /** `token`: an officer token (`Authorization: Bearer`), admitted as a socket connection is. */
  readonly auth: 'none' | 'token';
  /** Roles the identity must have one of (ROLE_REQUIRED otherwise). */
  readonly roles?: readonly Role[];
  /** Served only in development mode (no `TRUST_REGISTRY`); an unknown route otherwise. */
  readonly developmentOnly?: boolean;
  /** Path parameters, one property each. */
  readonly params?: z.ZodObject;
  /** The query string, one property per parameter (parsed from strings: coerced or enumerated). */
  readonly query?: z.ZodType;
  /** The JSON body. */
  readonly body?: z.ZodType;
  /** By status. Every route may also answer the error body with the statuses of PROTOCOL §8. */
  readonly answers: Readonly<Record<number, RouteAnswer>>;
}

/** `POST /v1/dev/sign-in` body: an identity, and a device with its two public keys (all three, or none). */
export const developmentSignInSchema = z
  .strictObject({
    agency: agencyIdSchema,
    officer: officerIdSchema,
    device: deviceIdSchema.optional(),
    encryptionKey: devicePublicKeySchema.optional(),
    signingKey: devicePublicKeySchema.optional(),
  })
  .refine(
    ({ device, encryptionKey, signingKey }) =>
      [device, encryptionKey, signingKey].every((value) => value === undefined) ||
      [device, encryptionKey, signingKey].every((value) => value !== undefined),
    'device, encryptionKey and signingKey go together: give all three, or none',
  );

/** `GET /v1/hub-keys`: the hub's public signing keys (webhook notifications, audit checkpoints). */
export const hubKeysAnswerSchema = z.object({ keys: z.array(agencyPublicJwkSchema) });

/** The hub's routes (section 8 of docs/PROTOCOL.md): every one served is a row here. */
export const HTTP_ROUTES = {
  healthz: {
    method: 'get',
    path: '/healthz',
    summary: 'Liveness: the process answers (asks nothing of Redis)',
    auth: 'none',
    answers: { 200: { description: 'Alive', schema: healthAnswerSchema } },
  },
  readyz: {
    method: 'get',
    path: '/readyz',
    summary: 'Readiness: Redis answers a PING and the trust registry has agencies',
    auth: 'none',
    answers: {
      200: { description: 'Ready', schema: readinessAnswerSchema },
      503: { description: 'Not ready: take the node out of the load balancer', schema: readinessAnswerSchema },
    },
  },
  metrics: {
    method: 'get',
    path: '/metrics',
    summary: 'Prometheus metrics of this node (docs/OPERATIONS.md lists them)',
    auth: 'none',
    answers: { 200: { description: 'The Prometheus text format', mediaType: 'text/plain; version=0.0.4' } },
  },
  openapi: {
    method: 'get',
    path: '/openapi.json',
    summary: 'This document',
    auth: 'none',
    answers: { 200: { description: 'An OpenAPI 3.1 document', schema: z.looseObject({ openapi: z.string() }) } },
  },
  hubKeys: {
    method: 'get',
    path: '/v1/hub-keys',
    summary: "The hub's public signing keys (verify webhooks and audit checkpoints); retired keys stay listed",
    auth: 'none',
    answers: { 200: { description: 'The keys, as JWKs', schema: hubKeysAnswerSchema } },
  },
  whoami: {
    method: 'get',
    path: '/v1/whoami',
    summary: 'The identity the token proves',
    auth: 'token',
    answers: { 200: { description: 'The identity', schema: whoamiAnswerSchema } },
  },
  auditEntries: {
    method: 'get',
    path: '/v1/audit/entries',
    summary: "Audit entries that involve the auditor's agency, filtered and paged (PROTOCOL §7.3)",
    auth: 'token',
    roles: ['auditor'],
    query: auditEntriesQuerySchema,
    answers: { 200: { description: 'A page of entries', schema: auditEntriesAnswerSchema } },
  },
  auditExport: {
    method: 'get',
    path: '/v1/audit/export',
    summary:
      "The whole chain as JSON Lines: the agency's entries, the others redacted, the hub's checkpoints (PROTOCOL §7.4)",
    auth: 'token',
    roles: ['auditor'],
    answers: { 200: { description: 'JSON Lines of entries and checkpoints', mediaType: 'application/x-ndjson' } },
  },
  queries: {
    method: 'get',
    path: '/v1/queries',
    summary: 'The operational queries this identity may see',
    auth: 'token',
    query: queryListQuerySchema,
    answers: { 200: { description: 'The queries', schema: queryListAnswerSchema } },
  },
  query: {
    method: 'get',
    path: '/v1/queries/:id',
    summary: 'One query and its timeline (QUERY_NOT_FOUND for one this identity may not see)',
    auth: 'token',
    params: z.object({ id: queryIdSchema }),
    answers: { 200: { description: 'The query', schema: queryAnswerSchema } },
  },
  developmentIdentities: {
    method: 'get',
    path: '/v1/dev/identities',
    summary: 'The development identities one may sign in as',
    auth: 'none',
    developmentOnly: true,
    answers: { 200: { description: 'The identities', schema: developmentIdentitiesAnswerSchema } },
  },
  developmentSignIn: {
    method: 'post',
    path: '/v1/dev/sign-in',
    summary: 'A development officer token, and an attestation of the device when its keys are given',
    auth: 'none',
    developmentOnly: true,
    body: developmentSignInSchema,
    answers: { 200: { description: 'The token and the attestation', schema: developmentSignInAnswerSchema } },
  },
} as const satisfies Record<string, HttpRoute>;

/** The name of a route of {@link HTTP_ROUTES}. */
export type HttpRouteName = keyof typeof HTTP_ROUTES;

/** Registers `route` on `router` with `handlers`, by its row's method and path. */
export function serveRoute(router: Router, route: HttpRoute, ...handlers: RequestHandler[]): void {
  router[route.method](route.path, ...handlers);
}

/** The routes served in a mode: the development-only ones only in development mode. */
export function routesServed(development: boolean): HttpRoute[] {
  return Object.values(HTTP_ROUTES).filter((route: HttpRoute) => development || !route.developmentOnly);
}

/** A layer of an express 5 router's stack, as far as {@link servedRoutes} reads it. */
interface RouterLayer {
  readonly route?: { readonly path: unknown; readonly methods: Readonly<Record<string, boolean>> };
  readonly handle?: { readonly stack?: readonly RouterLayer[] };
}

/**
 * The `METHOD path` of every route `router` serves, those of the routers mounted in it
 * included (at `/`, as the hub mounts them), from express's own stack.
 */
export function servedRoutes(router: { readonly stack: readonly unknown[] }): string[] {
  const served: string[] = [];
  const walk = (stack: readonly RouterLayer[]) => {
    for (const layer of stack) {
      if (layer.route) {
        for (const [method, on] of Object.entries(layer.route.methods)) {
          if (on && method !== '_all') served.push(`${method.toUpperCase()} ${String(layer.route.path)}`);
        }
      } else if (layer.handle?.stack) walk(layer.handle.stack);
    }
  };
  walk(router.stack as readonly RouterLayer[]);
  return served;
}

/**
 * Throws when `router` serves a route that is not a row of {@link HTTP_ROUTES}, or a row is
 * not served: the hub checks its app at start, so that a route cannot be added without its
 * row (and so without its place in `/openapi.json`).
 */
export function assertRoutesListed(router: { readonly stack: readonly unknown[] }, development: boolean): void {
  const served = new Set(servedRoutes(router));
  const listed = new Set(routesServed(development).map((route) => `${route.method.toUpperCase()} ${route.path}`));
  const unlisted = [...served].filter((route) => !listed.has(route));
  const missing = [...listed].filter((route) => !served.has(route));
  if (unlisted.length > 0 || missing.length > 0) {
    throw new Error(
      `the HTTP routes and HTTP_ROUTES differ: served without a row [${unlisted.join(', ')}], rows not served [${missing.join(', ')}]`,
    );
  }
}

/** The 200 JSON body schema of `route`. */
type AnswerOf<R> = R extends { answers: { 200: { schema: infer S extends z.ZodType } } } ? z.input<S> : never;

/** Sends `body` as `route`'s answer with `status`: typed by the route's answer schema, so that the two agree. */
export function reply<R extends HttpRoute>(res: Response, _route: R, body: AnswerOf<R>, status = 200): void {
  res.status(status).json(body);
}

/** `/v1/queries/:id` -> `/v1/queries/{id}`. */
export function openApiPath(path: string): string {
  return path.replace(/:([A-Za-z0-9_]+)/g, '{$1}');
}

type JsonSchema = Record<string, unknown>;

/** JSON Schema 2020-12 of what `schema` accepts (its input: a query string's coerced numbers, a transform's source). */
function jsonSchemaOf(schema: z.ZodType): JsonSchema {
  const { $schema: _dialect, ...rest } = z.toJSONSchema(schema, { io: 'input', unrepresentable: 'any' }) as JsonSchema;
  return rest;
}

/** One OpenAPI parameter per property of `schema`. */
function parametersOf(schema: z.ZodType, where: 'path' | 'query'): JsonSchema[] {
  const object = jsonSchemaOf(schema);
  const properties = (object.properties ?? {}) as Record<string, JsonSchema>;
  const required = new Set((object.required ?? []) as string[]);
  return Object.entries(properties).map(([name, property]) => {
    const { description, ...propertySchema } = property;
    return {
      name,
      in: where,
      required: where === 'path' || required.has(name),
      ...(typeof description === 'string' ? { description } : {}),
      schema: propertySchema,
    };
  });
}

const errorAnswer = (description: string) => ({
  description,
  content: { 'application/json': { schema: { $ref: '#/components/schemas/Error' } } },
});

/** The operation object of one route. */
function operationOf(name: string, route: HttpRoute): JsonSchema {
  const parameters = [
    ...(route.params ? parametersOf(route.params, 'path') : []),
    ...(route.query ? parametersOf(route.query, 'query') : []),
  ];
  const responses: Record<string, JsonSchema> = {};
  for (const [status, answer] of Object.entries(route.answers)) {
    const mediaType = answer.mediaType ?? 'application/json';
    responses[status] = {
      description: answer.description,
      content: { [mediaType]: answer.schema ? { schema: jsonSchemaOf(answer.schema) } : {} },
    };
  }
  if (route.query || route.body || route.params)
    responses['400'] = errorAnswer('BAD_REQUEST: the request does not parse');
  if (route.auth === 'token') responses['401'] = errorAnswer('The token is missing, invalid, expired or revoked');
  if (route.roles) responses['403'] = errorAnswer('ROLE_REQUIRED');
  if (route.params) responses['404'] = errorAnswer('Not found');
  responses['429'] = errorAnswer('RATE_LIMITED: wait retryAfter ms (also the Retry-After header)');
  responses['503'] ??= errorAnswer('BUSY: this node is overloaded, try again after retryAfter ms');
  return {
    operationId: name,
    summary: route.summary,
    ...(parameters.length > 0 ? { parameters } : {}),
    ...(route.body
      ? { requestBody: { required: true, content: { 'application/json': { schema: jsonSchemaOf(route.body) } } } }
      : {}),
    responses,
    security: route.auth === 'token' ? [{ officerToken: [] }] : [],
    ...(route.roles ? { 'x-roles': [...route.roles] } : {}),
    ...(route.developmentOnly ? { 'x-development-only': true } : {}),
  };
}

/** What {@link openApiDocument} describes. */
export interface OpenApiOptions {
  /** Development mode: the development-only routes are served, and listed (marked `x-development-only`). */
  development: boolean;
}

/** The OpenAPI 3.1 document of the routes this hub serves. */
export function openApiDocument(options: OpenApiOptions): JsonSchema {
  const paths: Record<string, Record<string, JsonSchema>> = {};
  for (const [name, route] of Object.entries(HTTP_ROUTES as Record<string, HttpRoute>)) {
    if (route.developmentOnly && !options.development) continue;
    const path = openApiPath(route.path);
    paths[path] = { ...paths[path], [route.method]: operationOf(name, route) };
  }
  return {
    openapi: '3.1.0',
    jsonSchemaDialect: 'https://json-schema.org/draft/2020-12/schema',
    info: {
      title: 'ncp-hub HTTP API',
      version: String(PROTOCOL_VERSION),
      description:
        'The HTTP routes of an ncp-hub node (docs/PROTOCOL.md §8), generated from the zod schemas the hub parses and answers with. The realtime protocol (Socket.IO) is in docs/PROTOCOL.md; the web console at / is not part of this API.',
    },
    paths,
    components: {
      schemas: { Error: jsonSchemaOf(httpErrorAnswerSchema) },
      securitySchemes: {
        officerToken: {
          type: 'http',
          scheme: 'bearer',
          bearerFormat: 'JWT',
          description: "An officer token signed by the officer's agency (docs/PROTOCOL.md §2)",
        },
      },
    },
  };
}
