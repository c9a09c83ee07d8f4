import type { TimelineEntry } from '@ncp-hub/protocol';
import { FOLLOW_UP_EVENT_IDS, type QueryEvents } from './query-events.js';
import type { QueryRecord, QueryStore } from './query-store.js';
import { recordOnce, timelineEntry } from './query-timeline.js';

/**
 * The follow-up steps the workers run. Each records its step at most once and emits its event
 * with a stable id, so a job run twice (a worker died) changes nothing twice.
 */
export class FollowUpSteps {
  private readonly store: QueryStore;
  private readonly events: QueryEvents;

  constructor(store: QueryStore, events: QueryEvents) {
    this.store = store;
    this.events = events;
  }

  /** Sends the notification to the NCB desks; resolves to whether it should be sent again later. */
  async notifyNcb(id: string): Promise<boolean> {
    const { record, entries } = await this.store.update(id, (r) =>
      recordOnce(r, 'ncb.notified', () => [timelineEntry('NCB_NOTIFIED', 'hub', { ncb: r.view.ncb.agency })]),
    );
    const { view } = record;
    if (view.status !== 'OPEN' || view.ncb.state === 'ACKNOWLEDGED') return false;
    this.events.notifyNcbDesks(view);
    if (entries.length > 0) this.events.update(view, entries[0] as TimelineEntry);
    return true;
  }

  /** The acknowledgement is due: late, it is ACK_OVERDUE and escalated. */
  async ncbAckDue(id: string): Promise<void> {
    const { record, entries } = await this.store.update(id, (r) => {
      if (r.view.status !== 'OPEN' || r.view.ncb.state !== 'NOTIFIED') return null;
      r.view.ncb.state = 'ACK_OVERDUE';
      return [timelineEntry('ACK_OVERDUE', 'hub'), timelineEntry('ESCALATED', 'hub', { reason: 'ACK_OVERDUE' })];
    });
    if (record.view.ncb.state !== 'ACK_OVERDUE' || record.view.status !== 'OPEN') return;
    // The recorded entry; when this job ran before (a worker died), one like it.
    const recorded = entries[1] ?? timelineEntry('ESCALATED', 'hub', { reason: 'ACK_OVERDUE' });
    await this.events.escalate(record.view, FOLLOW_UP_EVENT_IDS.ackOverdue(id), recorded);
  }

  /** A reminder before the formal-request deadline. */
  async remind(id: string, index: number): Promise<void> {
    const { record, entries } = await this.store.update(id, (r) => {
      if (r.view.status !== 'OPEN' || r.view.formalRequest.state !== 'AWAITING') return null;
      return recordOnce(r, `reminder.${index}`, () => [
        timelineEntry('REMINDER', 'hub', { index, deadline: r.view.formalRequest.deadline }),
      ]);
    });
    const { view } = record;
    if (view.status !== 'OPEN' || view.formalRequest.state !== 'AWAITING') return;
    const recorded = entries[0] ?? timelineEntry('REMINDER', 'hub', { index, deadline: view.formalRequest.deadline });
    await this.events.remind(view, FOLLOW_UP_EVENT_IDS.reminder(id, index), recorded);
  }

  /** The formal-request deadline (escalation 0) and every escalation after it while not filed. */
  async formalRequestOverdue(id: string, escalation: number): Promise<boolean> {
    const escalated = () => timelineEntry('ESCALATED', 'hub', { reason: 'FORMAL_REQUEST_OVERDUE', count: escalation });
    const { record, entries } = await this.store.update(id, (r) => {
      if (r.view.status !== 'OPEN') return null;
      if (escalation === 0 && r.view.formalRequest.state === 'AWAITING') {
        r.view.formalRequest.state = 'OVERDUE';
        r.steps.push('overdue.0');
        return [timelineEntry('OVERDUE', 'hub'), escalated()];
      }
      if (r.view.formalRequest.state !== 'OVERDUE') return null;
      return recordOnce(r, `overdue.${escalation}`, () => [escalated()]);
    });
    const { view } = record;
    if (view.status !== 'OPEN' || view.formalRequest.state !== 'OVERDUE') return false;
    await this.events.escalate(view, FOLLOW_UP_EVENT_IDS.formalOverdue(id, escalation), entries.at(-1) ?? escalated());
    return true;
  }

  /** Records that an NCB's system accepted the notification. */
  async webhookDelivered(id: string, ncb: string): Promise<void> {
    const { record, entries } = await this.store.update(id, (r) =>
      recordOnce(r, `webhook.${ncb}`, () => [timelineEntry('NCB_NOTIFIED', 'hub', { ncb, channel: 'webhook' })]),
    );
    if (entries.length > 0) await this.events.changed(record, entries);
  }

  /**
   * An NCB's system never accepted the webhook (all attempts failed, or it refused it): the
   * failure is recorded and escalated, like a late acknowledgement, so that a person looks.
   */
  async webhookFailed(id: string, ncb: string, reason: string): Promise<void> {
    const { record, entries } = await this.store.update(id, (r) =>
      r.view.status !== 'OPEN'
        ? null
        : recordOnce(r, `webhook-failed.${ncb}`, () => [
            timelineEntry('ESCALATED', 'hub', { reason: 'WEBHOOK_FAILED', ncb, cause: reason }),
          ]),
    );
    if (entries.length === 0) return;
    await this.events.escalate(record.view, FOLLOW_UP_EVENT_IDS.webhookFailed(id, ncb), entries[0] as TimelineEntry);
  }

  /** The follow-up times of a query (undefined when it does not exist). */
  async followUpOf(id: string): Promise<QueryRecord['followUp'] | undefined> {
    return (await this.store.get(id))?.followUp;
  }
}
