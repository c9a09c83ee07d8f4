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

/** The ids of the follow-up's reminders and escalations (PROTOCOL §6.6): the same each time one is sent. */
export const FOLLOW_UP_EVENT_IDS = {
  reminder: (query: string, index: number) => `reminder.${query}.${index}`,
  ackOverdue: (query: string) => `escalation.ncb.${query}`,
  formalOverdue: (query: string, escalation: number) => `escalation.formal.${query}.${escalation}`,
  webhookFailed: (query: string, ncb: string) => `escalation.webhook.${query}.${ncb}`,
} as const;

/** Escalations go to the requesting agency's supervisors, the requesting officer and the NCB desks. */
export const ESCALATION_AUDIENCES: readonly QueryAudience[] = ['escalation', 'ncb-desks'];
/** Reminders go to the requesting officer. */
export const REMINDER_AUDIENCES: readonly QueryAudience[] = ['requester'];

/** A reminder or escalation still standing, with who hears it. */
export interface StandingAlert {
  event: QueryEvent;
  audiences: readonly QueryAudience[];
}

/**
 * The reminders and escalations of a query that still stand (PROTOCOL §6.7, "Missed while
 * away"), as the events sent when they happened (same `id`, the `entry` the timeline recorded)
 * with the query as it is now: none once the query is not `OPEN`; the `ACK_OVERDUE` escalation
 * while the NCB track is `ACK_OVERDUE`; each NCB's webhook failure while the NCB track is not
 * `ACKNOWLEDGED`; the latest formal-request escalation while that track is `OVERDUE`; the
 * latest reminder while it is `AWAITING`.
 */
export function standingAlerts(view: QueryView, timeline: readonly TimelineEntry[]): StandingAlert[] {
  if (view.status !== 'OPEN') return [];
  const escalation = (id: string, entry: TimelineEntry): StandingAlert => ({
    event: { id, type: 'escalation', query: view, entry },
    audiences: ESCALATION_AUDIENCES,
  });
  const escalated = (reason: string) =>
    timeline.filter((entry) => entry.event === 'ESCALATED' && entry.detail?.reason === reason);
  const alerts: StandingAlert[] = [];
  const ackOverdue = escalated('ACK_OVERDUE').at(-1);
  if (view.ncb.state === 'ACK_OVERDUE' && ackOverdue) {
    alerts.push(escalation(FOLLOW_UP_EVENT_IDS.ackOverdue(view.id), ackOverdue));
  }
  if (view.ncb.state !== 'ACKNOWLEDGED') {
    const failed = new Map(escalated('WEBHOOK_FAILED').map((entry) => [String(entry.detail?.ncb), entry]));
    for (const [ncb, entry] of failed) alerts.push(escalation(FOLLOW_UP_EVENT_IDS.webhookFailed(view.id, ncb), entry));
  }
  const formalOverdue = escalated('FORMAL_REQUEST_OVERDUE').at(-1);
  if (view.formalRequest.state === 'OVERDUE' && formalOverdue) {
    const count = Number(formalOverdue.detail?.count ?? 0);
    alerts.push(escalation(FOLLOW_UP_EVENT_IDS.formalOverdue(view.id, count), formalOverdue));
  }
  const reminder = timeline.filter((entry) => entry.event === 'REMINDER').at(-1);
  if (view.formalRequest.state === 'AWAITING' && reminder) {
    const index = Number(reminder.detail?.index ?? 0);
    alerts.push({
      event: { id: FOLLOW_UP_EVENT_IDS.reminder(view.id, index), type: 'reminder', query: view, entry: reminder },
      audiences: REMINDER_AUDIENCES,
    });
  }
  return alerts;
}

/** The agencies whose people hear some reminder or escalation of a query: the requester's and the NCBs informed. */
export function alertedAgencies(view: QueryView): string[] {
  return [...new Set([view.requester.agency, view.ncb.agency, ...view.ncb.alsoInformed])];
}

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
    if (view.status !== 'OPEN') await this.store.clearAlerting(alertedAgencies(view), view.id);
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

  /**
   * Sends a reminder to the requesting officer, after indexing the query among those with an
   * alert standing (so that an officer away now is pushed it on connecting, PROTOCOL §6.7).
   */
  async remind(view: QueryView, id: string, recorded: TimelineEntry): Promise<void> {
    await this.store.addAlerting(alertedAgencies(view), view.id);
    this.notifier.notify(REMINDER_AUDIENCES, { id, type: 'reminder', query: view, entry: recorded });
  }

  /** Sends an escalation (its `id` stable per escalation) with the entry that records it, indexed as {@link remind}. */
  async escalate(view: QueryView, id: string, recorded: TimelineEntry): Promise<void> {
    await this.store.addAlerting(alertedAgencies(view), view.id);
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
   * more (the query is over, or that NCB has acknowledged). A query not stored (yet: its jobs
   * are scheduled before it is written) throws, as every other step does, so that the job is
   * retried rather than done without its POST.
   */
  async webhookNotification(id: string, ncb: string): Promise<{ url: string; event: QueryEvent } | null> {
    const record = await this.store.get(id);
    if (!record) throw new Error(`query ${id} does not exist`);
    const url = this.registry.current.get(ncb)?.entry.webhook;
    if (!url || record.view.status !== 'OPEN') return null;
    if (ncb === record.view.ncb.agency && record.view.ncb.state === 'ACKNOWLEDGED') return null;
    return { url, event: notificationOf(record.view) };
  }
}
