import {
  type ConversationInfo,
  type ConversationItem,
  type DeviceRef,
  deviceAddress,
  type Envelope,
  envelopeSchema,
  type FormalRequestFiling,
  GROUNDS,
  HubError,
  type Identity,
  type OfficerRef,
  type QueryEvent,
  type QueryListFilter,
  type QueryView,
  type SignedMembershipRecord,
  signedMembershipRecordSchema,
  type TimelineEntry,
} from '@ncp-hub/protocol';
import type { AuditReceipt } from '../audit/audit-log.js';
import type { ConversationService } from '../conversations/conversation-service.js';
import type { TrustRegistryHolder } from '../identity/trust-registry-holder.js';
import type { MessageService } from '../messaging/message-service.js';
import type { RedisKeys } from '../redis/redis-keys.js';
import { parseOrBadRequest } from '../validation.js';
import { type Policy, resolveFollowUp } from './policy.js';
import { escalationTargetsOf, ncbDesksOf, partiesOf, requesterOf } from './query-rooms.js';
import type { QueryRecord, QueryStore } from './query-store.js';

/** Sends query events to Socket.IO rooms (on every hub node). */
export interface QueryNotifier {
  emit(rooms: string[], event: QueryEvent): void;
}

/** Schedules and cancels the follow-up jobs of a query. */
export interface FollowUpScheduler {
  /** Schedules every follow-up job of a new query, webhooks of the NCBs that have one included. */
  scheduleOpened(record: QueryRecord, webhooks: Array<{ ncb: string }>): Promise<void>;
  cancelNcbFollowUp(record: QueryRecord): Promise<void>;
  cancelFormalRequestFollowUp(record: QueryRecord): Promise<void>;
}

/** What `query:open` produced, for the realtime layer to announce. */
export interface OpenedQuery {
  query: QueryView;
  conversation: ConversationInfo;
  question: ConversationItem;
  record: SignedMembershipRecord;
  /** Where the opening stands in the audit chain; null if it was not chained in time. */
  receipt: AuditReceipt | null;
}

/** Finds an audit event's place in the chain once it is chained. */
export interface AuditReceipts {
  receipt(streamId: string): Promise<AuditReceipt | undefined>;
}

const sameOfficer = (a: OfficerRef, b: OfficerRef) => a.agency === b.agency && a.officer === b.officer;

function entry(
  event: TimelineEntry['event'],
  actor: TimelineEntry['actor'],
  detail?: TimelineEntry['detail'],
): TimelineEntry {
  return { at: Date.now(), event, actor, ...(detail ? { detail } : {}) };
}

/** Closes a query whose two tracks are done; returns the entry to add, if any. */
function closeIfDone(view: QueryView): TimelineEntry[] {
  if (view.status !== 'OPEN' || view.ncb.state !== 'ACKNOWLEDGED' || view.formalRequest.state !== 'CONFIRMED')
    return [];
  view.status = 'CLOSED';
  view.closedAt = Date.now();
  return [entry('CLOSED', 'hub')];
}

/**
 * Operational queries: the legal rules of direct contact (a ground, a statement, a foreign
 * counterpart, the NCB told) enforced at opening, and every transition of the NCB and
 * formal-request tracks checked, timestamped with its actor and recorded.
 */
export class QueryService {
  readonly #queryOfConversation = new Map<string, string | null>();

  constructor(
    private readonly store: QueryStore,
    private readonly keys: RedisKeys,
    private readonly registry: TrustRegistryHolder,
    private readonly conversations: ConversationService,
    private readonly messages: MessageService,
    private readonly policy: Policy,
    private readonly scheduler: FollowUpScheduler,
    private readonly notifier: QueryNotifier,
    private readonly audit: AuditReceipts,
  ) {}

  /** Opens a query: its conversation, its question, its statement, and the follow-up. */
  async open(
    identity: Identity,
    device: DeviceRef,
    payload: { conversation: unknown; statement?: unknown; question: unknown },
  ): Promise<OpenedQuery> {
    if (!identity.roles.includes('officer')) throw new HubError('ROLE_REQUIRED', 'only an officer opens a query');
    const basis = (payload.conversation as { record?: { basis?: { type?: unknown; ground?: unknown } } } | undefined)
      ?.record?.basis;
    if (!GROUNDS.includes(basis?.ground as never)) {
      throw new HubError('QUERY_GROUND_INVALID', `a query needs exactly one ground: ${GROUNDS.join(', ')}`);
    }
    if (payload.statement === undefined || payload.statement === null) {
      throw new HubError('QUERY_STATEMENT_REQUIRED', 'a query needs the statement of the specific grounds');
    }
    const signed = parseOrBadRequest(signedMembershipRecordSchema, payload.conversation, 'conversation');
    const statement = parseOrBadRequest(envelopeSchema, payload.statement, 'statement') as Envelope;
    const question = parseOrBadRequest(envelopeSchema, payload.question, 'question') as Envelope;
    const { record } = signed;
    if (record.op !== 'create' || record.kind !== 'direct' || record.basis.type !== 'operational-query') {
      throw new HubError('MEMBERSHIP_INVALID', 'a query opens a direct conversation whose basis is the query');
    }
    const requester: OfficerRef = { agency: identity.agency, officer: identity.officer };
    const counterpart = record.members.find((member) => !sameOfficer(member, requester));
    if (!counterpart || !record.members.some((member) => sameOfficer(member, requester))) {
      throw new HubError('MEMBERSHIP_INVALID', 'the members are the requesting officer and the counterpart');
    }
    const counterpartAgency = this.registry.current.get(counterpart.agency);
    if (!counterpartAgency) throw new HubError('AGENCY_UNKNOWN', `not in the trust registry: ${counterpart.agency}`);
    if (counterpartAgency.country === identity.country) {
      throw new HubError('QUERY_SAME_STATE', 'a direct query goes to an agency of another state');
    }
    const ncb = this.ncbOf(identity.country);
    if (!ncb) throw new HubError('AGENCY_UNKNOWN', `no NCB of state ${identity.country} in the trust registry`);
    for (const [name, envelope, kind] of [
      ['statement', statement, 'query-statement'],
      ['question', question, 'query-question'],
    ] as const) {
      if (envelope.header.kind !== kind || envelope.header.conv !== record.conv) {
        throw new HubError(
          'BAD_REQUEST',
          `${name}: header.kind must be ${kind} and header.conv the query's conversation`,
        );
      }
      if (deviceAddress(envelope.header.from) !== deviceAddress(device)) {
        throw new HubError('SENDER_MISMATCH', `${name}: header.from must be this connection's device`);
      }
    }
    const followUp = resolveFollowUp(this.policy, {
      ground: record.basis.ground,
      from: identity.country,
      to: counterpartAgency.country,
    });
    const requestedNcb = followUp.informRequestedStateNcb ? this.ncbOf(counterpartAgency.country) : undefined;

    for (const [name, envelope] of [
      ['statement', statement],
      ['question', question],
    ] as const) {
      this.messages.assertSize(envelope, name);
    }
    // Claim the query id before anything is written: two openings with one id cannot both go on.
    if (!(await this.store.claim(record.basis.query))) {
      throw new HubError('CONVERSATION_EXISTS', 'a query with this id exists');
    }

    const change = await this.conversations.create(device, signed, { operationalQuery: true });
    const { item: questionItem } = await this.messages.storeEnvelope(question);
    const now = Date.now();
    const view: QueryView = {
      id: record.basis.query,
      status: 'OPEN',
      ground: record.basis.ground,
      caseReference: record.basis.caseReference,
      requester,
      requesterCountry: identity.country,
      counterpart: { agency: counterpart.agency, officer: counterpart.officer },
      counterpartCountry: counterpartAgency.country,
      conversation: record.conv,
      statement,
      ncb: {
        agency: ncb,
        alsoInformed: requestedNcb ? [requestedNcb] : [],
        state: 'NOTIFIED',
        dueAt: now + followUp.ncbAckDeadlineMs,
        acknowledgedBy: null,
        acknowledgedAt: null,
      },
      formalRequest: {
        state: 'AWAITING',
        deadline: now + followUp.formalRequestDeadlineMs,
        filing: null,
        confirmedBy: null,
        confirmedAt: null,
      },
      answeredAt: null,
      withdrawal: null,
      openedAt: now,
      closedAt: null,
    };
    const stored: QueryRecord = { view, followUp, steps: [] };
    // The follow-up is scheduled before the query is stored: an OPEN query never lacks its jobs
    // (a job that runs before the query exists fails and is retried).
    await this.scheduler.scheduleOpened(stored, this.webhooksFor(view));
    const auditId = await this.store.create(
      stored,
      [entry('OPENED', requester, { ground: view.ground, caseReference: view.caseReference })],
      [
        this.keys.agencyQueries(requester.agency),
        this.keys.agencyQueries(counterpart.agency),
        this.keys.ncbQueries(ncb),
        this.keys.ncbPending(ncb),
        ...(requestedNcb ? [this.keys.ncbQueries(requestedNcb)] : []),
      ],
    );
    if (!auditId) throw new HubError('CONVERSATION_EXISTS', 'a query with this id exists');
    this.#queryOfConversation.set(record.conv, view.id);
    const receipt = (await this.audit.receipt(auditId)) ?? null;
    return { query: view, conversation: change.conversation, question: questionItem, record: signed, receipt };
  }

  /** The NCB desk of the requesting state acknowledges the notification. */
  async acknowledge(identity: Identity, id: string): Promise<QueryView> {
    if (!identity.roles.includes('ncb')) throw new HubError('ROLE_REQUIRED', 'only an NCB desk acknowledges');
    const current = await this.visible(identity, id);
    if (current.view.ncb.agency !== identity.agency) {
      throw new HubError('QUERY_TRANSITION_INVALID', "only the requesting state's NCB acknowledges");
    }
    const { record, entries } = await this.store.update(id, ({ view }) => {
      assertOpen(view);
      if (view.ncb.state === 'ACKNOWLEDGED') throw transition('the notification is already acknowledged');
      view.ncb.state = 'ACKNOWLEDGED';
      view.ncb.acknowledgedBy = { agency: identity.agency, officer: identity.officer };
      view.ncb.acknowledgedAt = Date.now();
      return [entry('NCB_ACKNOWLEDGED', view.ncb.acknowledgedBy), ...closeIfDone(view)];
    });
    await this.afterChange(record, entries);
    await this.scheduler.cancelNcbFollowUp(record);
    return record.view;
  }

  /** The requesting officer registers the formal request. */
  async file(identity: Identity, id: string, filing: FormalRequestFiling): Promise<QueryView> {
    const current = await this.visible(identity, id);
    if (!sameOfficer(current.view.requester, identity)) {
      throw new HubError('ROLE_REQUIRED', 'only the requesting officer registers the formal request');
    }
    const authority = this.registry.current.get(filing.centralAuthority);
    if (authority?.kind !== 'central-authority' || authority.country !== current.view.requesterCountry) {
      throw new HubError(
        'AGENCY_UNKNOWN',
        `${filing.centralAuthority} is not a central authority of ${current.view.requesterCountry}`,
      );
    }
    const { record, entries } = await this.store.update(id, ({ view }) => {
      assertOpen(view);
      if (view.formalRequest.state !== 'AWAITING' && view.formalRequest.state !== 'OVERDUE') {
        throw transition('the formal request is already registered');
      }
      const filedBy = { agency: identity.agency, officer: identity.officer };
      view.formalRequest.state = 'FILED';
      view.formalRequest.filing = { ...filing, filedBy, filedAt: Date.now() };
      return [
        entry('FILED', filedBy, {
          reference: filing.reference,
          instrument: filing.instrument,
          centralAuthority: filing.centralAuthority,
        }),
      ];
    });
    await this.store.indexAuthority(filing.centralAuthority, id);
    await this.afterChange(record, entries);
    await this.scheduler.cancelFormalRequestFollowUp(record);
    return record.view;
  }

  /** A user of the central authority named in the filing confirms receipt. */
  async confirm(identity: Identity, id: string): Promise<QueryView> {
    if (!identity.roles.includes('central-authority')) {
      throw new HubError('ROLE_REQUIRED', 'only a central authority confirms a formal request');
    }
    const current = await this.visible(identity, id);
    if (current.view.formalRequest.filing?.centralAuthority !== identity.agency) {
      throw new HubError('QUERY_TRANSITION_INVALID', 'only the central authority the request went through confirms it');
    }
    const { record, entries } = await this.store.update(id, ({ view }) => {
      assertOpen(view);
      if (view.formalRequest.state !== 'FILED') throw transition('only a filed request can be confirmed');
      const by = { agency: identity.agency, officer: identity.officer };
      view.formalRequest.state = 'CONFIRMED';
      view.formalRequest.confirmedBy = by;
      view.formalRequest.confirmedAt = Date.now();
      return [entry('CONFIRMED', by), ...closeIfDone(view)];
    });
    await this.afterChange(record, entries);
    return record.view;
  }

  /** The requesting officer withdraws the query, before the counterpart has answered. */
  async withdraw(identity: Identity, id: string, reason: string): Promise<QueryView> {
    const current = await this.visible(identity, id);
    if (!sameOfficer(current.view.requester, identity)) {
      throw new HubError('ROLE_REQUIRED', 'only the requesting officer withdraws the query');
    }
    const { record, entries } = await this.store.update(id, ({ view }) => {
      assertOpen(view);
      if (view.answeredAt !== null) throw transition('the counterpart has answered: the query cannot be withdrawn');
      const by = { agency: identity.agency, officer: identity.officer };
      view.status = 'WITHDRAWN';
      view.withdrawal = { reason, by, at: Date.now() };
      view.closedAt = view.withdrawal.at;
      return [entry('WITHDRAWN', by, { reason })];
    });
    await this.afterChange(record, entries);
    await this.scheduler.cancelNcbFollowUp(record);
    await this.scheduler.cancelFormalRequestFollowUp(record);
    return record.view;
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

  /** Notes a stored message: the counterpart's first one in a query's conversation answers it. */
  async noteMessage(envelope: Envelope): Promise<void> {
    const { conv, from } = envelope.header;
    let id = this.#queryOfConversation.get(conv);
    if (id === undefined) {
      id = await this.conversations.queryOf(conv);
      if (this.#queryOfConversation.size > 10_000) this.#queryOfConversation.clear();
      this.#queryOfConversation.set(conv, id);
    }
    if (id === null) return;
    const { record, entries } = await this.store.update(id, ({ view }) => {
      if (view.status !== 'OPEN' || view.answeredAt !== null || !sameOfficer(view.counterpart, from)) return null;
      view.answeredAt = Date.now();
      return [entry('ANSWERED', { agency: from.agency, officer: from.officer })];
    });
    if (entries.length > 0) await this.afterChange(record, entries);
  }

  // ---------------------------------------------------------------------------------------
  // Follow-up steps, run by the workers. Each records its step at most once and emits its
  // event with a stable id, so a job run twice (a worker died) changes nothing twice.

  /** Sends the notification to the NCB desks; resolves to whether it should be sent again later. */
  async notifyNcb(id: string): Promise<boolean> {
    const { record, entries } = await this.store.update(id, (r) =>
      once(r, 'ncb.notified', () => [entry('NCB_NOTIFIED', 'hub', { ncb: r.view.ncb.agency })]),
    );
    const { view } = record;
    if (view.status !== 'OPEN' || view.ncb.state === 'ACKNOWLEDGED') return false;
    this.notifier.emit(ncbDesksOf(view), notificationOf(view));
    if (entries.length > 0) this.notifier.emit(partiesOf(view), updateOf(view, entries[0] as TimelineEntry));
    return true;
  }

  /** The acknowledgement is due: late, it is ACK_OVERDUE and escalated. */
  async ncbAckDue(id: string): Promise<void> {
    const { record, entries } = await this.store.update(id, (r) => {
      if (r.view.status !== 'OPEN' || r.view.ncb.state !== 'NOTIFIED') return null;
      r.view.ncb.state = 'ACK_OVERDUE';
      return [entry('ACK_OVERDUE', 'hub'), entry('ESCALATED', 'hub', { reason: 'ACK_OVERDUE' })];
    });
    if (record.view.ncb.state !== 'ACK_OVERDUE' || record.view.status !== 'OPEN') return;
    this.notifier.emit([...escalationTargetsOf(record.view), ...ncbDesksOf(record.view)], {
      id: `escalation.ncb.${id}`,
      type: 'escalation',
      query: record.view,
      // The recorded entry; when this job ran before (a worker died), one like it.
      entry: entries[1] ?? entry('ESCALATED', 'hub', { reason: 'ACK_OVERDUE' }),
    });
  }

  /** A reminder before the formal-request deadline. */
  async remind(id: string, index: number): Promise<void> {
    const { record, entries } = await this.store.update(id, (r) => {
      if (r.view.status !== 'OPEN' || r.view.formalRequest.state !== 'AWAITING') return null;
      return once(r, `reminder.${index}`, () => [
        entry('REMINDER', 'hub', { index, deadline: r.view.formalRequest.deadline }),
      ]);
    });
    const { view } = record;
    if (view.status !== 'OPEN' || view.formalRequest.state !== 'AWAITING') return;
    const recorded = entries[0] ?? entry('REMINDER', 'hub', { index, deadline: view.formalRequest.deadline });
    this.notifier.emit([requesterOf(view)], {
      id: `reminder.${id}.${index}`,
      type: 'reminder',
      query: view,
      entry: recorded,
    });
  }

  /** The formal-request deadline (escalation 0) and every escalation after it while not filed. */
  async formalRequestOverdue(id: string, escalation: number): Promise<boolean> {
    const { record, entries } = await this.store.update(id, (r) => {
      if (r.view.status !== 'OPEN') return null;
      if (escalation === 0 && r.view.formalRequest.state === 'AWAITING') {
        r.view.formalRequest.state = 'OVERDUE';
        r.steps.push('overdue.0');
        return [entry('OVERDUE', 'hub'), entry('ESCALATED', 'hub', { reason: 'FORMAL_REQUEST_OVERDUE', count: 0 })];
      }
      if (r.view.formalRequest.state !== 'OVERDUE') return null;
      return once(r, `overdue.${escalation}`, () => [
        entry('ESCALATED', 'hub', { reason: 'FORMAL_REQUEST_OVERDUE', count: escalation }),
      ]);
    });
    const { view } = record;
    if (view.status !== 'OPEN' || view.formalRequest.state !== 'OVERDUE') return false;
    this.notifier.emit([...escalationTargetsOf(view), ...ncbDesksOf(view)], {
      id: `escalation.formal.${id}.${escalation}`,
      type: 'escalation',
      query: view,
      entry: entries.at(-1) ?? entry('ESCALATED', 'hub', { reason: 'FORMAL_REQUEST_OVERDUE', count: escalation }),
    });
    return true;
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

  /** Records that an NCB's system accepted the notification. */
  async webhookDelivered(id: string, ncb: string): Promise<void> {
    const { record, entries } = await this.store.update(id, (r) =>
      once(r, `webhook.${ncb}`, () => [entry('NCB_NOTIFIED', 'hub', { ncb, channel: 'webhook' })]),
    );
    if (entries.length > 0) await this.afterChange(record, entries);
  }

  /**
   * An NCB's system never accepted the webhook (all attempts failed, or it refused it): the
   * failure is recorded and escalated, like a late acknowledgement, so that a person looks.
   */
  async webhookFailed(id: string, ncb: string, reason: string): Promise<void> {
    const { record, entries } = await this.store.update(id, (r) =>
      r.view.status !== 'OPEN'
        ? null
        : once(r, `webhook-failed.${ncb}`, () => [
            entry('ESCALATED', 'hub', { reason: 'WEBHOOK_FAILED', ncb, cause: reason }),
          ]),
    );
    if (entries.length === 0) return;
    this.notifier.emit([...escalationTargetsOf(record.view), ...ncbDesksOf(record.view)], {
      id: `escalation.webhook.${id}.${ncb}`,
      type: 'escalation',
      query: record.view,
      entry: entries[0] as TimelineEntry,
    });
  }

  /** The follow-up times of a query (undefined when it does not exist). */
  async followUpOf(id: string): Promise<QueryRecord['followUp'] | undefined> {
    return (await this.store.get(id))?.followUp;
  }

  // ---------------------------------------------------------------------------------------

  private ncbOf(country: string): string | undefined {
    return this.registry.current.list().find((agency) => agency.kind === 'ncb' && agency.country === country)?.id;
  }

  private async visible(identity: Identity, id: string): Promise<QueryRecord> {
    const record = await this.store.get(id);
    if (!record || !isVisible(identity, record.view)) throw new HubError('QUERY_NOT_FOUND', 'no such query');
    return record;
  }

  private async afterChange(record: QueryRecord, entries: TimelineEntry[]): Promise<void> {
    const { view } = record;
    if (view.ncb.state === 'ACKNOWLEDGED' || view.status !== 'OPEN')
      await this.store.clearPending(view.ncb.agency, view.id);
    for (const change of entries) this.notifier.emit(partiesOf(view), updateOf(view, change));
  }
}

function transition(message: string): HubError {
  return new HubError('QUERY_TRANSITION_INVALID', message);
}

function assertOpen(view: QueryView): void {
  if (view.status !== 'OPEN') throw transition(`the query is ${view.status}`);
}

/** Records a follow-up step the first time only. */
function once(record: QueryRecord, step: string, entries: () => TimelineEntry[]): TimelineEntry[] | null {
  if (record.steps.includes(step)) return null;
  record.steps.push(step);
  return entries();
}

function isOverdue(view: QueryView): boolean {
  return view.ncb.state === 'ACK_OVERDUE' || view.formalRequest.state === 'OVERDUE';
}

/**
 * Who may see a query: its two officers' agencies, the NCBs informed, the central authority it
 * was filed through. Anyone else is told it does not exist.
 */
function isVisible(identity: Identity, view: QueryView): boolean {
  const agencies = [view.requester.agency, view.counterpart.agency];
  if (agencies.includes(identity.agency)) return true;
  if (identity.roles.includes('ncb') && [view.ncb.agency, ...view.ncb.alsoInformed].includes(identity.agency))
    return true;
  return (
    identity.roles.includes('central-authority') && view.formalRequest.filing?.centralAuthority === identity.agency
  );
}

function notificationOf(view: QueryView): QueryEvent {
  return { id: `notification.${view.id}`, type: 'notification', query: view };
}

function updateOf(view: QueryView, change: TimelineEntry): QueryEvent {
  return { id: `updated.${view.id}.${change.event}.${change.at}`, type: 'updated', query: view, entry: change };
}
