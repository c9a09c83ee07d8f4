import type { AuditReceipt, QueryEvent } from '@ncp-hub/protocol';
import type { QueryRecord } from './query-store.js';

/**
 * Who must hear of a query event, by their part in the query (the realtime layer knows where
 * they are): `requester` the requesting officer's devices; `parties` both officers, the NCB
 * desks informed and, once filed, the central authority; `ncb-desks` the desks of every NCB
 * informed; `escalation` the requesting agency's supervisors and the requesting officer.
 */
export const QUERY_AUDIENCES = ['requester', 'parties', 'ncb-desks', 'escalation'] as const;
/** One of {@link QUERY_AUDIENCES}. */
export type QueryAudience = (typeof QUERY_AUDIENCES)[number];

/** Tells a query's people of an event (on every hub node); implemented outside the domain. */
export interface QueryNotifier {
  /** Sends `event` to everyone of `audiences`, once each, for the query the event is about. */
  notify(audiences: readonly QueryAudience[], event: QueryEvent): void;
}

/** Schedules and cancels the follow-up jobs of a query. */
export interface FollowUpScheduler {
  /** Schedules every follow-up job of a new query, webhooks of the NCBs that have one included. */
  scheduleOpened(record: QueryRecord, webhooks: Array<{ ncb: string }>): Promise<void>;
  cancelNcbFollowUp(record: QueryRecord): Promise<void>;
  cancelFormalRequestFollowUp(record: QueryRecord): Promise<void>;
}

/** Finds an audit event's place in the chain once it is chained. */
export interface AuditReceipts {
  receipt(streamId: string): Promise<AuditReceipt | undefined>;
}
