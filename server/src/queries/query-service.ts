import type {
  DeviceRef,
  Envelope,
  FormalRequestFiling,
  Identity,
  QueryEvent,
  QueryListFilter,
  QueryView,
  TimelineEntry,
} from '@ncp-hub/protocol';
import type { ConversationService } from '../conversations/conversation-service.js';
import type { TrustRegistryHolder } from '../identity/trust-registry-holder.js';
import type { MessageService } from '../messaging/message-service.js';
import type { RedisKeys } from '../redis/redis-keys.js';
import { ConversationQueryCache } from './conversation-query-cache.js';
import { FollowUpSteps } from './follow-up-steps.js';
import type { Policy } from './policy.js';
import { QueryEvents } from './query-events.js';
import { type OpenedQuery, QueryOpening, type QueryOpenParts } from './query-opening.js';
import type { AuditReceipts, FollowUpScheduler, QueryNotifier } from './query-ports.js';
import type { QueryRecord, QueryStore } from './query-store.js';
import { QueryTransitions } from './query-transitions.js';
import { QueryVisibility } from './query-visibility.js';

export type { OpenedQuery, QueryOpenParts } from './query-opening.js';
export type { AuditReceipts, FollowUpScheduler, QueryAudience, QueryNotifier } from './query-ports.js';
export { QUERY_AUDIENCES } from './query-ports.js';

/**
 * Operational queries, a façade over their parts: the {@link QueryOpening} (the legal rules
 * of direct contact, enforced at opening), the {@link QueryTransitions} (the NCB and
 * formal-request tracks as people move them), the {@link QueryVisibility} (who sees what),
 * the {@link FollowUpSteps} (what the workers do) and the {@link QueryEvents} (what is pushed
 * and webhooked).
 */
export class QueryService {
  readonly #opening: QueryOpening;
  readonly #transitions: QueryTransitions;
  readonly #visibility: QueryVisibility;
  readonly #steps: FollowUpSteps;
  readonly #events: QueryEvents;

  constructor(
    store: QueryStore,
    keys: RedisKeys,
    registry: TrustRegistryHolder,
    conversations: ConversationService,
    messages: MessageService,
    policy: Policy,
    scheduler: FollowUpScheduler,
    notifier: QueryNotifier,
    audit: AuditReceipts,
  ) {
    const conversationQueries = new ConversationQueryCache(conversations);
    this.#events = new QueryEvents(store, registry, notifier);
    this.#visibility = new QueryVisibility(store);
    this.#opening = new QueryOpening({
      store,
      keys,
      registry,
      conversations,
      messages,
      policy,
      scheduler,
      audit,
      events: this.#events,
      conversationQueries,
    });
    this.#transitions = new QueryTransitions(
      store,
      registry,
      scheduler,
      this.#visibility,
      this.#events,
      conversationQueries,
    );
    this.#steps = new FollowUpSteps(store, this.#events);
  }

  /** Opens a query: its conversation, its question, its statement, and the follow-up. */
  open(identity: Identity, device: DeviceRef, payload: QueryOpenParts): Promise<OpenedQuery> {
    return this.#opening.open(identity, device, payload);
  }

  /** The NCB desk of the requesting state acknowledges the notification. */
  acknowledge(identity: Identity, id: string): Promise<QueryView> {
    return this.#transitions.acknowledge(identity, id);
  }

  /** The requesting officer registers the formal request. */
  file(identity: Identity, id: string, filing: FormalRequestFiling): Promise<QueryView> {
    return this.#transitions.file(identity, id, filing);
  }

  /** A user of the central authority named in the filing confirms receipt. */
  confirm(identity: Identity, id: string): Promise<QueryView> {
    return this.#transitions.confirm(identity, id);
  }

  /** The requesting officer withdraws the query, before the counterpart has answered. */
  withdraw(identity: Identity, id: string, reason: string): Promise<QueryView> {
    return this.#transitions.withdraw(identity, id, reason);
  }

  /** One query and its timeline, if the caller may see it (QUERY_NOT_FOUND otherwise). */
  get(identity: Identity, id: string): Promise<{ query: QueryView; timeline: TimelineEntry[] }> {
    return this.#visibility.get(identity, id);
  }

  /** The queries the caller may see, newest first. */
  list(identity: Identity, filter: QueryListFilter = {}): Promise<QueryView[]> {
    return this.#visibility.list(identity, filter);
  }

  /**
   * What a connection is (re)sent on connecting: the notifications its NCB has not
   * acknowledged, and the reminders and escalations still standing that it hears
   * (`device`: the connection's device, null without one).
   */
  pendingFor(identity: Identity, device: DeviceRef | null): Promise<QueryEvent[]> {
    return this.#visibility.pendingFor(identity, device);
  }

  /** Notes a stored message: the counterpart's first one in a query's conversation answers it. */
  noteMessage(envelope: Envelope): Promise<void> {
    return this.#transitions.noteMessage(envelope);
  }

  /** Sends the notification to the NCB desks; resolves to whether it should be sent again later. */
  notifyNcb(id: string): Promise<boolean> {
    return this.#steps.notifyNcb(id);
  }

  /** The acknowledgement is due: late, it is ACK_OVERDUE and escalated. */
  ncbAckDue(id: string): Promise<void> {
    return this.#steps.ncbAckDue(id);
  }

  /** A reminder before the formal-request deadline. */
  remind(id: string, index: number): Promise<void> {
    return this.#steps.remind(id, index);
  }

  /** The formal-request deadline (escalation 0) and every escalation after it while not filed. */
  formalRequestOverdue(id: string, escalation: number): Promise<boolean> {
    return this.#steps.formalRequestOverdue(id, escalation);
  }

  /** The NCBs of a query that have a webhook, with its URL (informed NCBs only). */
  webhooksFor(view: QueryView): Array<{ ncb: string; url: string }> {
    return this.#events.webhooksFor(view);
  }

  /** The notification to POST to an NCB's webhook, or null when there is nothing to send any more. */
  webhookNotification(id: string, ncb: string): Promise<{ url: string; event: QueryEvent } | null> {
    return this.#events.webhookNotification(id, ncb);
  }

  /** Records that an NCB's system accepted the notification. */
  webhookDelivered(id: string, ncb: string): Promise<void> {
    return this.#steps.webhookDelivered(id, ncb);
  }

  /** An NCB's system never accepted the webhook: the failure is recorded and escalated. */
  webhookFailed(id: string, ncb: string, reason: string): Promise<void> {
    return this.#steps.webhookFailed(id, ncb, reason);
  }

  /** The follow-up times of a query (undefined when it does not exist). */
  followUpOf(id: string): Promise<QueryRecord['followUp'] | undefined> {
    return this.#steps.followUpOf(id);
  }
}
