import { z } from 'zod';
import type { OfficerRef } from './addresses.js';
import { base64urlOfBytes } from './encoding.js';
import { type ConversationId, ENVELOPE_SIZES, type Envelope } from './envelope.js';
import { type AgencyId, agencyIdSchema } from './identity.js';

/**
 * The three exceptional grounds on which an investigator may contact a foreign colleague
 * directly, before the formal letter of request:
 * - `THREAT_TO_LIFE`: a threat to the life or health of the injured person or their family;
 * - `IRREVERSIBLE_LOSS`: the irreversible loss of very important information;
 * - `ABSCONDING_RISK`: real grounds that the suspect will abscond, or that identifying them
 *   later will be impossible.
 */
export const GROUNDS = ['THREAT_TO_LIFE', 'IRREVERSIBLE_LOSS', 'ABSCONDING_RISK'] as const;
export type Ground = (typeof GROUNDS)[number];
export const groundSchema = z.enum(GROUNDS);

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

/** A reference as written: 1-200 characters without surrounding whitespace. */
const reference = z
  .string()
  .min(1)
  .max(200)
  .regex(/^\S(?:[\s\S]*\S)?$/, 'must not start or end with whitespace');

/** The formal request, as the requesting officer registers it. */
export const formalRequestFilingSchema = z.strictObject({
  reference,
  instrument: z.enum(INSTRUMENTS),
  /** The central authority it went through (an agency of kind `central-authority`). */
  centralAuthority: agencyIdSchema,
  /** Date it was sent, `YYYY-MM-DD`. */
  date: z.iso.date(),
});
export type FormalRequestFiling = z.infer<typeof formalRequestFilingSchema>;

/** An operational query and both of its obligations, as the hub keeps it. */
export interface QueryView {
  id: QueryId;
  status: QueryStatus;
  ground: Ground;
  /** National proceedings number. */
  caseReference: string;
  requester: OfficerRef;
  requesterCountry: string;
  counterpart: OfficerRef;
  counterpartCountry: string;
  /** The direct conversation of the query; its first message is the question. */
  conversation: ConversationId;
  /** The statement of the specific grounds, end-to-end encrypted to the NCB desks and the counterpart. */
  statement: Envelope;
  ncb: {
    /** The NCB of the requesting state. */
    agency: AgencyId;
    /** NCBs informed besides it (the requested state's, when the policy says so). */
    alsoInformed: AgencyId[];
    state: NcbTrackState;
    /** When the acknowledgement is due, ms. */
    dueAt: number;
    acknowledgedBy: OfficerRef | null;
    acknowledgedAt: number | null;
  };
  formalRequest: {
    state: FormalRequestState;
    /** When the formal request must be filed, ms. */
    deadline: number;
    filing: (FormalRequestFiling & { filedBy: OfficerRef; filedAt: number }) | null;
    confirmedBy: OfficerRef | null;
    confirmedAt: number | null;
  };
  /** When the counterpart first answered in the conversation; withdrawal is possible only before. */
  answeredAt: number | null;
  withdrawal: { reason: string; by: OfficerRef; at: number } | null;
  openedAt: number;
  closedAt: number | null;
}

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

export interface TimelineEntry {
  at: number;
  event: TimelineEvent;
  actor: OfficerRef | 'hub';
  detail?: Record<string, string | number>;
}

/** Kinds of query event pushed to clients; each carries an id that clients deduplicate on. */
export const QUERY_EVENT_TYPES = ['notification', 'reminder', 'escalation', 'updated'] as const;
export type QueryEventType = (typeof QUERY_EVENT_TYPES)[number];

/** A query event pushed by the hub (`query:event`). */
export interface QueryEvent {
  /** Stable per occurrence: a re-sent event has the same id. */
  id: string;
  type: QueryEventType;
  query: QueryView;
  entry?: TimelineEntry;
}

/** Filters of the query list. */
export const queryListFilterSchema = z.strictObject({
  status: z.enum(QUERY_STATUSES).optional(),
  overdue: z.boolean().optional(),
});
export type QueryListFilter = z.infer<typeof queryListFilterSchema>;

export const queryRefSchema = z.strictObject({ query: queryIdSchema });
export const queryFileSchema = z.strictObject({ query: queryIdSchema, filing: formalRequestFilingSchema });
export const queryWithdrawSchema = z.strictObject({ query: queryIdSchema, reason: reference });
/**
 * `query:open` is checked step by step so that each refusal has its own code: the ground and
 * the statement first, then the whole payload.
 */
export const queryOpenSchema = z.strictObject({
  conversation: z.unknown(),
  statement: z.unknown().optional(),
  question: z.unknown(),
});
