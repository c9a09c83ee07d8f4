import { type OfficerRef, QueryError, type QueryView, type TimelineEntry } from '@ncp-hub/protocol';
import type { QueryRecord } from './query-store.js';

/** Whether two references name the same officer. */
export const sameOfficer = (a: OfficerRef, b: OfficerRef) => a.agency === b.agency && a.officer === b.officer;

/** A timeline entry of now. */
export function timelineEntry(
  event: TimelineEntry['event'],
  actor: TimelineEntry['actor'],
  detail?: TimelineEntry['detail'],
): TimelineEntry {
  return { at: Date.now(), event, actor, ...(detail ? { detail } : {}) };
}

/** QUERY_TRANSITION_INVALID with `message`. */
export function invalidTransition(message: string): QueryError {
  return new QueryError('QUERY_TRANSITION_INVALID', message);
}

/** Refuses any change to a query that is no longer OPEN. */
export function assertOpen(view: QueryView): void {
  if (view.status !== 'OPEN') throw invalidTransition(`the query is ${view.status}`);
}

/** Records a follow-up step the first time only: its entries, or null when it was recorded before. */
export function recordOnce(record: QueryRecord, step: string, entries: () => TimelineEntry[]): TimelineEntry[] | null {
  if (record.steps.includes(step)) return null;
  record.steps.push(step);
  return entries();
}
