import {
  type DeviceRef,
  type Identity,
  QueryError,
  type QueryEvent,
  type QueryListFilter,
  type QueryView,
  type TimelineEntry,
} from '@ncp-hub/protocol';
import { notificationOf, standingAlerts } from './query-events.js';
import type { QueryAudience } from './query-ports.js';
import type { QueryRecord, QueryStore } from './query-store.js';
import { sameOfficer } from './query-timeline.js';

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

/**
 * Whether a connection is of an audience of a query (`QUERY_AUDIENCES`: the rooms the realtime
 * layer sends that audience's events to): `device` is the connection's device, null for a
 * connection without one (it is in no officer's room).
 */
export function hears(identity: Identity, device: DeviceRef | null, audience: QueryAudience, view: QueryView): boolean {
  const requester = device !== null && sameOfficer(view.requester, identity);
  const ncbDesk =
    identity.roles.includes('ncb') && [view.ncb.agency, ...view.ncb.alsoInformed].includes(identity.agency);
  switch (audience) {
    case 'requester':
      return requester;
    case 'ncb-desks':
      return ncbDesk;
    case 'escalation':
      return requester || (identity.roles.includes('supervisor') && identity.agency === view.requester.agency);
    case 'parties':
      return (
        requester ||
        ncbDesk ||
        (device !== null && sameOfficer(view.counterpart, identity)) ||
        (identity.roles.includes('central-authority') &&
          view.formalRequest.filing?.centralAuthority === identity.agency)
      );
  }
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

  /**
   * What a connection is (re)sent on connecting and answered by `query:pending` (PROTOCOL
   * §6.6, §6.7): the notifications its NCB has not acknowledged, then the reminders and
   * escalations still standing that it would have heard, oldest query first.
   */
  async pendingFor(identity: Identity, device: DeviceRef | null): Promise<QueryEvent[]> {
    const [notifications, alerts] = await Promise.all([
      this.#notificationsFor(identity),
      this.#alertsFor(identity, device),
    ]);
    return [...notifications, ...alerts];
  }

  /** The notifications an NCB desk has not acknowledged. */
  async #notificationsFor(identity: Identity): Promise<QueryEvent[]> {
    if (!identity.roles.includes('ncb')) return [];
    const records = await this.store.getMany(await this.store.pendingIds(identity.agency));
    return records
      .filter((record) => record.view.status === 'OPEN' && record.view.ncb.state !== 'ACKNOWLEDGED')
      .map((record) => notificationOf(record.view));
  }

  /**
   * The reminders and escalations standing for a connection, from its agency's index; a query
   * found with none standing any more leaves that index.
   */
  async #alertsFor(identity: Identity, device: DeviceRef | null): Promise<QueryEvent[]> {
    const records = (await this.store.getMany(await this.store.alertingIds(identity.agency))).sort(
      (a, b) => a.view.openedAt - b.view.openedAt || (a.view.id < b.view.id ? -1 : 1),
    );
    const timelines = await this.store.timelines(records.map((record) => record.view.id));
    const events: QueryEvent[] = [];
    const over: string[] = [];
    records.forEach(({ view }, index) => {
      const alerts = standingAlerts(view, timelines[index] ?? []);
      if (alerts.length === 0) over.push(view.id);
      for (const { event, audiences } of alerts) {
        if (audiences.some((audience) => hears(identity, device, audience, view))) events.push(event);
      }
    });
    await Promise.all(over.map((id) => this.store.clearAlerting([identity.agency], id)));
    return events;
  }
}
