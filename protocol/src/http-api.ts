/**
 * The hub's HTTP API (docs/PROTOCOL.md §8) as zod schemas: the query strings the routes parse
 * and the bodies they answer with. The hub validates with the first and types its answers by
 * the second, and `GET /openapi.json` is generated from both, so the three cannot drift.
 *
 * @packageDocumentation
 */
import { z } from 'zod';
import { hubErrorBodySchema } from './errors.js';
import { identitySchema, roleSchema } from './identity.js';
import { QUERY_STATUSES, queryViewSchema, timelineEntrySchema } from './query.js';

/** `GET /v1/queries` parameters: `?status=OPEN|CLOSED|WITHDRAWN&overdue=true|false`, as the filter of the query list. */
export const queryListQuerySchema = z
  .strictObject({
    status: z.enum(QUERY_STATUSES).optional(),
    overdue: z.enum(['true', 'false']).optional(),
  })
  .transform(({ status, overdue }) => ({
    ...(status ? { status } : {}),
    ...(overdue ? { overdue: overdue === 'true' } : {}),
  }));

/** `GET /v1/audit/entries` parameters (docs/PROTOCOL.md §7.3). */
export const auditEntriesQuerySchema = z.strictObject({
  /** Entries of this query only. */
  query: z.string().min(1).max(64).optional(),
  /** Entries this officer did, or that name the officer. */
  officer: z.string().min(1).max(128).optional(),
  /** Entries at or after this hub time (ms since the epoch). */
  from: z.coerce.number().int().nonnegative().optional(),
  /** Entries at or before this hub time (ms since the epoch). */
  to: z.coerce.number().int().nonnegative().optional(),
  /** Entries after this `seq` (the `next` of the page before). */
  after: z.coerce.number().int().nonnegative().default(0),
  limit: z.coerce.number().int().min(1).max(500).default(100),
});
export type AuditEntriesQuery = z.infer<typeof auditEntriesQuerySchema>;

/** Every error answer: `{ error: { code, message, retryAfter? } }`. */
export const httpErrorAnswerSchema = z.object({ error: hubErrorBodySchema });

/** `GET /healthz`: the process is up (it asks nothing of Redis). */
export const healthAnswerSchema = z.object({ status: z.literal('ok') });

/** `GET /readyz`: 200 when ready, 503 when not, with the checks. */
export const readinessAnswerSchema = z.object({
  status: z.enum(['ready', 'not-ready']),
  ready: z.boolean(),
  checks: z.object({
    redis: z.boolean(),
    registry: z.boolean(),
    /** Trust registry files the last reload could not load; present only when there are some. */
    registryBadFiles: z.array(z.string()).optional(),
  }),
});
export type ReadinessAnswer = z.infer<typeof readinessAnswerSchema>;

/** `GET /v1/whoami`. */
export const whoamiAnswerSchema = z.object({ identity: identitySchema });

/** `GET /v1/queries`. */
export const queryListAnswerSchema = z.object({ queries: z.array(queryViewSchema) });

/** `GET /v1/queries/{id}`: the query and its timeline. */
export const queryAnswerSchema = z.object({ query: queryViewSchema, timeline: z.array(timelineEntrySchema) });

/** One audit entry as `GET /v1/audit/entries` gives it (the chain's own checks are the verifier's, §7.4). */
export const auditEntrySchema = z.object({
  seq: z.number().int().positive(),
  /** `hash` of the entry before; 64 zeros for the first. */
  prev: z.string(),
  /** SHA-256, hex, of the RFC 8785 canonical JSON of the entry without `hash`. */
  hash: z.string(),
  /** Hub clock, ms. */
  at: z.number().int().nonnegative(),
  /** One of the audit event types of docs/PROTOCOL.md §7.1 (`message.relayed`, `query.OPENED`, ...). */
  type: z.string(),
  actor: z.union([
    z.literal('hub'),
    z.object({ agency: z.string(), officer: z.string(), device: z.string().optional() }),
  ]),
  agencies: z.array(z.string()),
  query: z.string().optional(),
  conversation: z.string().optional(),
  /** Ids, sizes, codes: never content. */
  data: z.record(z.string(), z.union([z.string(), z.number(), z.boolean(), z.null()])),
});

/** `GET /v1/audit/entries`: a page, oldest first; `next` is the `after` of the next page, `null` at the end. */
export const auditEntriesAnswerSchema = z.object({
  entries: z.array(auditEntrySchema),
  next: z.number().int().nonnegative().nullable(),
});

/** A development identity of `GET /v1/dev/identities`. */
export const developmentIdentitySchema = z.object({
  agency: z.string(),
  agencyName: z.string(),
  country: z.string(),
  officer: z.string(),
  roles: z.array(roleSchema),
  /** What a sign-in page shows, in English. */
  label: z.string(),
});

/** `GET /v1/dev/identities` (development mode only). */
export const developmentIdentitiesAnswerSchema = z.object({ identities: z.array(developmentIdentitySchema) });

/** `POST /v1/dev/sign-in` (development mode only): an officer token, and the device's attestation when one was asked for. */
export const developmentSignInAnswerSchema = z.object({
  token: z.string(),
  attestation: z.string().nullable(),
});
