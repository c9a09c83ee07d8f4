import { z } from 'zod';
import { officerRefSchema } from './addresses.js';
import { base64urlOfBytes } from './base64url.js';
import { conversationIdSchema, ENVELOPE_SIZES, envelopeSchema } from './envelope.js';
import { groundSchema, referenceSchema } from './grounds.js';
import { agencyIdSchema, countryCodeSchema } from './identity.js';
import { signedMembershipRecordSchema } from './membership.js';

/** The Interpol NCB track: the NCB of the requesting state is told, and must acknowledge. */
export const NCB_TRACK_STATES = ['NOTIFIED', 'ACKNOWLEDGED', 'ACK_OVERDUE'] as const;
export type NcbTrackState = (typeof NCB_TRACK_STATES)[number];

/** The formal-request track: the letter of request must follow, and be confirmed. */
export const FORMAL_REQUEST_STATES = ['AWAITING', 'FILED', 'CONFIRMED', 'OVERDUE'] as const;
export type FormalRequestState = (typeof FORMAL_REQUEST_STATES)[number];

/** `OPEN` until both tracks are done (acknowledged, confirmed), then `CLOSED`; or `WITHDRAWN`. */
export const QUERY_STATUSES = ['OPEN', 'CLOSED', 'WITHDRAWN'] as const;
export type QueryStatus = (typeof QUERY_STATUSES)[number];

/** Instruments a formal request may take. */
export const INSTRUMENTS = ['MLA_REQUEST', 'EUROPEAN_INVESTIGATION_ORDER', 'LETTERS_ROGATORY', 'OTHER'] as const;
export type Instrument = (typeof INSTRUMENTS)[number];

export const queryIdSchema = base64urlOfBytes(ENVELOPE_SIZES.id);
export type QueryId = z.infer<typeof queryIdSchema>;

/** A time on the hub's clock, milliseconds since the epoch. */
const hubTime = z.number().int().nonnegative();

/** The formal request, as the requesting officer registers it. */
export const formalRequestFilingSchema = z.strictObject({
  reference: referenceSchema,
  instrument: z.enum(INSTRUMENTS),
  /** The central authority it went through (an agency of kind `central-authority`). */
  centralAuthority: agencyIdSchema,
  /** Date it was sent, `YYYY-MM-DD`. */
  date: z.iso.date(),
});
export type FormalRequestFiling = z.infer<typeof formalRequestFilingSchema>;

/** An operational query and both of its obligations, as the hub keeps it (hub -> client). */
export const queryViewSchema = z.object({
  id: queryIdSchema,
  status: z.enum(QUERY_STATUSES),
  ground: groundSchema,
  /** National proceedings number. */
  caseReference: z.string(),
  requester: officerRefSchema,
  requesterCountry: countryCodeSchema,
  counterpart: officerRefSchema,
  counterpartCountry: countryCodeSchema,
  /** The direct conversation of the query; its first message is the question. */
  conversation: conversationIdSchema,
  /**
   * The statement of the specific grounds, end-to-end encrypted by the requesting officer's
   * client to the desks of both states' NCBs and to the counterpart (docs/PROTOCOL.md §6.2);
   * the hub shows it to the NCBs it informs (`ncb.agency`, `ncb.alsoInformed`).
   */
  statement: envelopeSchema,
  ncb: z.object({
    /** The NCB of the requesting state. */
    agency: agencyIdSchema,
    /** NCBs informed besides it (the requested state's, when the policy says so). */
    alsoInformed: z.array(agencyIdSchema),
    state: z.enum(NCB_TRACK_STATES),
    /** When the acknowledgement is due, ms. */
    dueAt: hubTime,
    acknowledgedBy: officerRefSchema.nullable(),
    acknowledgedAt: hubTime.nullable(),
  }),
  formalRequest: z.object({
    state: z.enum(FORMAL_REQUEST_STATES),
    /** When the formal request must be filed, ms. */
    deadline: hubTime,
    filing: formalRequestFilingSchema.extend({ filedBy: officerRefSchema, filedAt: hubTime }).nullable(),
    confirmedBy: officerRefSchema.nullable(),
    confirmedAt: hubTime.nullable(),
  }),
  /** When the counterpart first answered in the conversation; withdrawal is possible only before. */
  answeredAt: hubTime.nullable(),
  withdrawal: z.object({ reason: z.string(), by: officerRefSchema, at: hubTime }).nullable(),
  openedAt: hubTime,
  closedAt: hubTime.nullable(),
});
export type QueryView = z.infer<typeof queryViewSchema>;

/** What happened to a query, when, and who did it (`hub` for the follow-up itself). */
export const TIMELINE_EVENTS = [
  'OPENED',
  'NCB_NOTIFIED',
  'NCB_ACKNOWLEDGED',
  'ACK_OVERDUE',
  'ANSWERED',
  'REMINDER',
  'OVERDUE',
  'ESCALATED',
  'FILED',
  'CONFIRMED',
  'CLOSED',
  'WITHDRAWN',
] as const;
export type TimelineEvent = (typeof TIMELINE_EVENTS)[number];

/** One entry of a query's timeline (hub -> client). */
export const timelineEntrySchema = z.object({
  at: hubTime,
  event: z.enum(TIMELINE_EVENTS),
  actor: z.union([officerRefSchema, z.literal('hub')]),
  detail: z.record(z.string(), z.union([z.string(), z.number()])).optional(),
});
export type TimelineEntry = z.infer<typeof timelineEntrySchema>;

/** Kinds of query event pushed to clients; each carries an id that clients deduplicate on. */
export const QUERY_EVENT_TYPES = ['notification', 'reminder', 'escalation', 'updated'] as const;
export type QueryEventType = (typeof QUERY_EVENT_TYPES)[number];

/** A query event pushed by the hub (`query:event`, and the items of `query:pending`). */
export const queryEventSchema = z.object({
  /** Stable per occurrence: a re-sent event has the same id. */
  id: z.string().min(1),
  type: z.enum(QUERY_EVENT_TYPES),
  query: queryViewSchema,
  entry: timelineEntrySchema.optional(),
});
export type QueryEvent = z.infer<typeof queryEventSchema>;

/** Filters of the query list. */
export const queryListFilterSchema = z.strictObject({
  status: z.enum(QUERY_STATUSES).optional(),
  overdue: z.boolean().optional(),
});
export type QueryListFilter = z.infer<typeof queryListFilterSchema>;

export const queryRefSchema = z.strictObject({ query: queryIdSchema });
export const queryFileSchema = z.strictObject({ query: queryIdSchema, filing: formalRequestFilingSchema });
export const queryWithdrawSchema = z.strictObject({ query: queryIdSchema, reason: referenceSchema });

/**
 * `query:open`: the signed `create` record of the query's direct conversation (its basis
 * names the query id, the ground and the case reference), the statement of the specific
 * grounds (`kind: query-statement`) and the question (`kind: query-question`). The hub checks
 * it in steps so that each refusal has its own code (docs/PROTOCOL.md §6.2): the ground
 * (`QUERY_GROUND_INVALID`), the presence of the statement (`QUERY_STATEMENT_REQUIRED`), then
 * this whole schema (`BAD_REQUEST`).
 */
export const queryOpenSchema = z.strictObject({
  conversation: signedMembershipRecordSchema,
  statement: envelopeSchema,
  question: envelopeSchema,
});
export type QueryOpenPayload = z.infer<typeof queryOpenSchema>;

/**
 * The outer shape of `query:open`, checked first so that the ground and the statement can be
 * refused with their own codes before the parts are parsed with {@link queryOpenSchema}.
 */
export const queryOpenPartsSchema = z.strictObject({
  conversation: z.unknown(),
  statement: z.unknown().optional(),
  question: z.unknown(),
});
