import {
  DirectoryError,
  type Envelope,
  type FormalRequestFiling,
  type Identity,
  QueryError,
  type QueryView,
  type TimelineEntry,
} from '@ncp-hub/protocol';
import type { TrustRegistryHolder } from '../identity/trust-registry-holder.js';
import type { ConversationQueryCache } from './conversation-query-cache.js';
import type { QueryEvents } from './query-events.js';
import type { FollowUpScheduler } from './query-ports.js';
import type { QueryStore } from './query-store.js';
import { assertOpen, invalidTransition, sameOfficer, timelineEntry } from './query-timeline.js';
import type { QueryVisibility } from './query-visibility.js';

/** Closes a query whose two tracks are done; returns the entry to add, if any. */
function closeIfDone(view: QueryView): TimelineEntry[] {
  if (view.status !== 'OPEN' || view.ncb.state !== 'ACKNOWLEDGED' || view.formalRequest.state !== 'CONFIRMED')
    return [];
  view.status = 'CLOSED';
  view.closedAt = Date.now();
  return [timelineEntry('CLOSED', 'hub')];
}

/**
 * The state machine of an open query, as people move it: the NCB track (acknowledged), the
 * formal-request track (filed, confirmed), the answer, the withdrawal. Every transition is
 * checked against the actor and the state, timestamped and recorded; the query closes once
 * both tracks are done.
 */
export class QueryTransitions {
  private readonly store: QueryStore;
  private readonly registry: TrustRegistryHolder;
  private readonly scheduler: FollowUpScheduler;
  private readonly visibility: QueryVisibility;
  private readonly events: QueryEvents;
  private readonly conversationQueries: ConversationQueryCache;

  constructor(
    store: QueryStore,
    registry: TrustRegistryHolder,
    scheduler: FollowUpScheduler,
    visibility: QueryVisibility,
    events: QueryEvents,
    conversationQueries: ConversationQueryCache,
  ) {
    this.store = store;
    this.registry = registry;
    this.scheduler = scheduler;
    this.visibility = visibility;
    this.events = events;
    this.conversationQueries = conversationQueries;
  }

  /** The NCB desk of the requesting state acknowledges the notification. */
  async acknowledge(identity: Identity, id: string): Promise<QueryView> {
    if (!identity.roles.includes('ncb')) throw new QueryError('ROLE_REQUIRED', 'only an NCB desk acknowledges');
    const current = await this.visibility.visible(identity, id);
    if (current.view.ncb.agency !== identity.agency) {
      throw invalidTransition("only the requesting state's NCB acknowledges");
    }
    const { record, entries } = await this.store.update(id, ({ view }) => {
      assertOpen(view);
      if (view.ncb.state === 'ACKNOWLEDGED') throw invalidTransition('the notification is already acknowledged');
      view.ncb.state = 'ACKNOWLEDGED';
      view.ncb.acknowledgedBy = { agency: identity.agency, officer: identity.officer };
      view.ncb.acknowledgedAt = Date.now();
      return [timelineEntry('NCB_ACKNOWLEDGED', view.ncb.acknowledgedBy), ...closeIfDone(view)];
    });
    await this.events.changed(record, entries);
    await this.scheduler.cancelNcbFollowUp(record);
    return record.view;
  }

  /** The requesting officer registers the formal request. */
  async file(identity: Identity, id: string, filing: FormalRequestFiling): Promise<QueryView> {
    const current = await this.visibility.visible(identity, id);
    if (!sameOfficer(current.view.requester, identity)) {
      throw new QueryError('ROLE_REQUIRED', 'only the requesting officer registers the formal request');
    }
    const authority = this.registry.current.get(filing.centralAuthority);
    if (authority?.kind !== 'central-authority' || authority.country !== current.view.requesterCountry) {
      throw new DirectoryError(
        'AGENCY_UNKNOWN',
        `${filing.centralAuthority} is not a central authority of ${current.view.requesterCountry}`,
      );
    }
    const { record, entries } = await this.store.update(id, ({ view }) => {
      assertOpen(view);
      if (view.formalRequest.state !== 'AWAITING' && view.formalRequest.state !== 'OVERDUE') {
        throw invalidTransition('the formal request is already registered');
      }
      const filedBy = { agency: identity.agency, officer: identity.officer };
      view.formalRequest.state = 'FILED';
      view.formalRequest.filing = { ...filing, filedBy, filedAt: Date.now() };
      return [
        timelineEntry('FILED', filedBy, {
          reference: filing.reference,
          instrument: filing.instrument,
          centralAuthority: filing.centralAuthority,
        }),
      ];
    });
    await this.store.indexAuthority(filing.centralAuthority, id);
    await this.events.changed(record, entries);
    await this.scheduler.cancelFormalRequestFollowUp(record);
    return record.view;
  }

  /** A user of the central authority named in the filing confirms receipt. */
  async confirm(identity: Identity, id: string): Promise<QueryView> {
    if (!identity.roles.includes('central-authority')) {
      throw new QueryError('ROLE_REQUIRED', 'only a central authority confirms a formal request');
    }
    const current = await this.visibility.visible(identity, id);
    if (current.view.formalRequest.filing?.centralAuthority !== identity.agency) {
      throw invalidTransition('only the central authority the request went through confirms it');
    }
    const { record, entries } = await this.store.update(id, ({ view }) => {
      assertOpen(view);
      if (view.formalRequest.state !== 'FILED') throw invalidTransition('only a filed request can be confirmed');
      const by = { agency: identity.agency, officer: identity.officer };
      view.formalRequest.state = 'CONFIRMED';
      view.formalRequest.confirmedBy = by;
      view.formalRequest.confirmedAt = Date.now();
      return [timelineEntry('CONFIRMED', by), ...closeIfDone(view)];
    });
    await this.events.changed(record, entries);
    return record.view;
  }

  /** The requesting officer withdraws the query, before the counterpart has answered. */
  async withdraw(identity: Identity, id: string, reason: string): Promise<QueryView> {
    const current = await this.visibility.visible(identity, id);
    if (!sameOfficer(current.view.requester, identity)) {
      throw new QueryError('ROLE_REQUIRED', 'only the requesting officer withdraws the query');
    }
    const { record, entries } = await this.store.update(id, ({ view }) => {
      assertOpen(view);
      if (view.answeredAt !== null) {
        throw invalidTransition('the counterpart has answered: the query cannot be withdrawn');
      }
      const by = { agency: identity.agency, officer: identity.officer };
      view.status = 'WITHDRAWN';
      view.withdrawal = { reason, by, at: Date.now() };
      view.closedAt = view.withdrawal.at;
      return [timelineEntry('WITHDRAWN', by, { reason })];
    });
    await this.events.changed(record, entries);
    await this.scheduler.cancelNcbFollowUp(record);
    await this.scheduler.cancelFormalRequestFollowUp(record);
    return record.view;
  }

  /** Notes a stored message: the counterpart's first one in a query's conversation answers it. */
  async noteMessage(envelope: Envelope): Promise<void> {
    const { conv, from } = envelope.header;
    const id = await this.conversationQueries.queryOf(conv);
    if (id === null) return;
    const { record, entries } = await this.store.update(id, ({ view }) => {
      if (view.status !== 'OPEN' || view.answeredAt !== null || !sameOfficer(view.counterpart, from)) return null;
      view.answeredAt = Date.now();
      return [timelineEntry('ANSWERED', { agency: from.agency, officer: from.officer })];
    });
    if (entries.length > 0) await this.events.changed(record, entries);
  }
}
