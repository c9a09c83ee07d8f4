import type { QueryEvent, QueryView, TimelineEntry } from '@ncp-hub/protocol';
import type { TrustRegistryHolder } from '../identity/trust-registry-holder.js';
import type { QueryAudience, QueryNotifier } from './query-ports.js';
import type { QueryRecord, QueryStore } from './query-store.js';

/** The notification of a query to its NCB desks (its id is stable: resent, it is the same notification). */
export function notificationOf(view: QueryView): QueryEvent {
  return { id: `notification.${view.id}`, type: 'notification', query: view };
}

/** The update event of one timeline entry. */
export function updateOf(view: QueryView, change: TimelineEntry): QueryEvent {
  return { id: `updated.${view.id}.${change.event}.${change.at}`, type: 'updated', query: view, entry: change };
}

/** Escalations go to the requesting agency's supervisors, the requesting officer and the NCB desks. */
const ESCALATION_AUDIENCES: readonly QueryAudience[] = ['escalation', 'ncb-desks'];

/**
 * What is pushed of a query, and what is webhooked: every event the query's people hear, and
 * the notifications an NCB's own system is sent.
 */
export class QueryEvents {
  private readonly store: QueryStore;
  private readonly registry: TrustRegistryHolder;
  private readonly notifier: QueryNotifier;

  constructor(store: QueryStore, registry: TrustRegistryHolder, notifier: QueryNotifier) {
    this.store = store;
    this.registry = registry;
    this.notifier = notifier;
  }

  /** Tells the parties of each entry a change recorded; a query acknowledged or over leaves its NCB's pending list. */
  async changed(record: QueryRecord, entries: TimelineEntry[]): Promise<void> {
    const { view } = record;
    if (view.ncb.state === 'ACKNOWLEDGED' || view.status !== 'OPEN') {
      await this.store.clearPending(view.ncb.agency, view.id);
    }
    for (const change of entries) this.notifier.notify(['parties'], updateOf(view, change));
  }

  /** Sends the notification to the NCB desks informed. */
  notifyNcbDesks(view: QueryView): void {
    this.notifier.notify(['ncb-desks'], notificationOf(view));
  }

  /** Tells the parties of one entry (without touching the pending list). */
  update(view: QueryView, change: TimelineEntry): void {
    this.notifier.notify(['parties'], updateOf(view, change));
  }

  /** Sends a reminder to the requesting officer. */
  remind(view: QueryView, id: string, recorded: TimelineEntry): void {
    this.notifier.notify(['requester'], { id, type: 'reminder', query: view, entry: recorded });
  }

  /** Sends an escalation (its `id` stable per escalation) with the entry that records it. */
  escalate(view: QueryView, id: string, recorded: TimelineEntry): void {
    this.notifier.notify(ESCALATION_AUDIENCES, { id, type: 'escalation', query: view, entry: recorded });
  }

  /** The NCBs of a query that have a webhook, with its URL (informed NCBs only). */
  webhooksFor(view: QueryView): Array<{ ncb: string; url: string }> {
    return [view.ncb.agency, ...view.ncb.alsoInformed].flatMap((ncb) => {
      const url = this.registry.current.get(ncb)?.entry.webhook;
      return url ? [{ ncb, url }] : [];
    });
  }

  /**
   * The notification to POST to an NCB's webhook, or null when there is nothing to send any
   * more (the query is over, or that NCB has acknowledged).
   */
  async webhookNotification(id: string, ncb: string): Promise<{ url: string; event: QueryEvent } | null> {
    const record = await this.store.get(id);
    const url = this.registry.current.get(ncb)?.entry.webhook;
    if (!record || !url || record.view.status !== 'OPEN') return null;
    if (ncb === record.view.ncb.agency && record.view.ncb.state === 'ACKNOWLEDGED') return null;
    return { url, event: notificationOf(record.view) };
  }
}
