// The NCB desk's board of follow-ups: which queries it shows (the filters) and in what order (the
// next deadline first). Pure: the view gives it the queries it knows and the time.
import type { FormalRequestState, Ground, NcbTrackState, QueryStatus, QueryView } from '@ncp-hub/protocol';

/** The NCB track's states, in the order the track goes through them (PROTOCOL 6.4), for the filter's choices. */
export const NCB_STATES = ['NOTIFIED', 'ACK_OVERDUE', 'ACKNOWLEDGED'] as const satisfies readonly NcbTrackState[];
/** The formal-request track's states, in the order the track goes through them. */
export const FORMAL_STATES = [
  'AWAITING',
  'OVERDUE',
  'FILED',
  'CONFIRMED',
] as const satisfies readonly FormalRequestState[];
export const STATUSES = ['OPEN', 'CLOSED', 'WITHDRAWN'] as const satisfies readonly QueryStatus[];

/** `ANY`: the filter lets every value through. */
export const ANY = 'ANY';
export type Any = typeof ANY;

/** What the board shows: a value per field, or {@link ANY}. */
export interface BoardFilter {
  ncb: NcbTrackState | Any;
  formal: FormalRequestState | Any;
  ground: Ground | Any;
  status: QueryStatus | Any;
}

/** The board as the desk first sees it: every open query, whatever its tracks and ground. */
export const DEFAULT_FILTER: Readonly<BoardFilter> = { ncb: ANY, formal: ANY, ground: ANY, status: 'OPEN' };

/** The deadline a query is waiting on next, and whether it has passed. */
export interface NextDeadline {
  /** `ncb`: the NCB's acknowledgement; `formal-request`: the formal letter of request. */
  track: 'ncb' | 'formal-request';
  /** Hub clock, ms. */
  at: number;
  /** The hub said so (`ACK_OVERDUE`, `OVERDUE`), or the time has passed and its job has not run yet. */
  overdue: boolean;
}

/**
 * The deadline `view` waits on next: the NCB acknowledgement while it is not acknowledged, else
 * the formal request while it is not confirmed; none once the query is closed or withdrawn
 * (nothing is owed any more, and the hub's follow-up has stopped).
 */
export function nextDeadline(view: QueryView, now: number): NextDeadline | undefined {
  if (view.status !== 'OPEN') return undefined;
  const { ncb, formalRequest } = view;
  if (ncb.state !== 'ACKNOWLEDGED') {
    return { track: 'ncb', at: ncb.dueAt, overdue: ncb.state === 'ACK_OVERDUE' || ncb.dueAt <= now };
  }
  if (formalRequest.state !== 'CONFIRMED') {
    // Filed in time or late, the request is no longer overdue: the central authority's confirmation has no deadline.
    const unfiled = formalRequest.state === 'AWAITING' || formalRequest.state === 'OVERDUE';
    const overdue = formalRequest.state === 'OVERDUE' || (unfiled && formalRequest.deadline <= now);
    return { track: 'formal-request', at: formalRequest.deadline, overdue };
  }
  return undefined;
}

/** Whether `view` passes `filter`. */
export function matchesFilter(view: QueryView, filter: BoardFilter): boolean {
  return (
    (filter.ncb === ANY || view.ncb.state === filter.ncb) &&
    (filter.formal === ANY || view.formalRequest.state === filter.formal) &&
    (filter.ground === ANY || view.ground === filter.ground) &&
    (filter.status === ANY || view.status === filter.status)
  );
}

/** One row of the board. */
export interface BoardRow {
  query: QueryView;
  next: NextDeadline | undefined;
}

/**
 * The rows of the board: the queries passing `filter`, the nearest next deadline first (an
 * overdue one is the nearest), ties by opening; then those waiting on nothing, the latest opened first.
 */
export function boardRows(queries: Iterable<QueryView>, filter: BoardFilter, now: number): BoardRow[] {
  const rows: BoardRow[] = [];
  for (const query of queries) {
    if (matchesFilter(query, filter)) rows.push({ query, next: nextDeadline(query, now) });
  }
  return rows.sort((a, b) => {
    if (a.next && b.next) {
      return a.next.at - b.next.at || a.query.openedAt - b.query.openedAt || compareIds(a, b);
    }
    if (a.next) return -1;
    if (b.next) return 1;
    return b.query.openedAt - a.query.openedAt || compareIds(a, b);
  });
}

/** A stable last resort, so that two renders of the same queries give the same order. */
function compareIds(a: BoardRow, b: BoardRow): number {
  return a.query.id < b.query.id ? -1 : a.query.id > b.query.id ? 1 : 0;
}

/** Whether `filter` is the default one (the view offers to go back to it otherwise). */
export function isDefaultFilter(filter: BoardFilter): boolean {
  return (Object.keys(DEFAULT_FILTER) as (keyof BoardFilter)[]).every((key) => filter[key] === DEFAULT_FILTER[key]);
}
