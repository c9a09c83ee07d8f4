import {
  type Identity,
  QueryError,
  type QueryEvent,
  type QueryListFilter,
  type QueryView,
  type TimelineEntry,
} from '@ncp-hub/protocol';
import { notificationOf } from './query-events.js';
import type { QueryRecord, QueryStore } from './query-store.js';

/**
 * Who may see a query: its two officers' agencies, the NCBs informed, the central authority it
 * was filed through. Anyone else is told it does not exist.
 */
export function isVisible(identity: Identity, view: QueryView): boolean {
  const agencies = [view.requester.agency, view.counterpart.agency];
  if (agencies.includes(identity.agency)) return true;
  if (identity.roles.includes('ncb') && [view.ncb.agency, ...view.ncb.alsoInformed].includes(identity.agency))
    return true;
  return (
    identity.roles.includes('central-authority') && view.formalRequest.filing?.centralAuthority === identity.agency
  );
}

/** Whether one of a query's tracks is late. */
export function isOverdue(view: QueryView): boolean {
  return view.ncb.state === 'ACK_OVERDUE' || view.formalRequest.state === 'OVERDUE';
}

/** What of the queries a user may see: one, a list, the notifications still to acknowledge. */
export class QueryVisibility {
  private readonly store: QueryStore;

  constructor(store: QueryStore) {
    this.store = store;
  }

  /** The record of a query the caller may see, or QUERY_NOT_FOUND. */
  async visible(identity: Identity, id: string): Promise<QueryRecord> {
    const record = await this.store.get(id);
    if (!record || !isVisible(identity, record.view)) throw new QueryError('QUERY_NOT_FOUND', 'no such query');
    return record;
  }

  /** One query and its timeline, if the caller may see it (QUERY_NOT_FOUND otherwise). */
  async get(identity: Identity, id: string): Promise<{ query: QueryView; timeline: TimelineEntry[] }> {
    const record = await this.visible(identity, id);
    return { query: record.view, timeline: await this.store.timeline(id) };
  }

  /** The queries the caller may see, newest first. */
  async list(identity: Identity, filter: QueryListFilter = {}): Promise<QueryView[]> {
    const ids = await this.store.visibleIds(identity);
    const records = await this.store.getMany(ids);
    return records
      .map((record) => record.view)
      .filter((view) => isVisible(identity, view))
      .filter((view) => filter.status === undefined || view.status === filter.status)
      .filter((view) => filter.overdue === undefined || isOverdue(view) === filter.overdue)
      .sort((a, b) => b.openedAt - a.openedAt);
  }

  /** The notifications an NCB desk has not acknowledged, as events to (re)deliver. */
  async pendingFor(identity: Identity): Promise<QueryEvent[]> {
    if (!identity.roles.includes('ncb')) return [];
    const records = await this.store.getMany(await this.store.pendingIds(identity.agency));
    return records
      .filter((record) => record.view.status === 'OPEN' && record.view.ncb.state !== 'ACKNOWLEDGED')
      .map((record) => notificationOf(record.view));
  }
}
