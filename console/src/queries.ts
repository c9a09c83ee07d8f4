// The operational queries this tab knows: those it opened, those the hub lists, and those its
// `query` events bring (an NCB desk's notifications, pushed live and again on every connection
// while unacknowledged), with the statements the desk decrypted.
import type { HubClient, OpenQueryOptions } from '@ncp-hub/client-sdk';
import type {
  FormalRequestFiling,
  Ground,
  Instrument,
  QueryEvent,
  QueryId,
  QueryView,
  TimelineEntry,
} from '@ncp-hub/protocol';
import type { MessageKey } from './i18n/index.js';

/** The three grounds, in the order the form shows them. */
export const GROUND_CHOICES = [
  'THREAT_TO_LIFE',
  'IRREVERSIBLE_LOSS',
  'ABSCONDING_RISK',
] as const satisfies readonly Ground[];

/** The instruments a formal request may take, in the order the form shows them. */
export const INSTRUMENT_CHOICES = [
  'MLA_REQUEST',
  'EUROPEAN_INVESTIGATION_ORDER',
  'LETTERS_ROGATORY',
  'OTHER',
] as const satisfies readonly Instrument[];

/** Which track an escalation is about: the NCB's acknowledgement, the formal request, an NCB's webhook. */
export type EscalationTrack = 'ncb' | 'formal' | 'webhook';

/** A reminder or an escalation, as its `query` event brought it (live, or pending at sign-in). */
export interface FollowUpAlert {
  /** The event's id (`reminder.<query>.<i>`, `escalation.<track>.<query>[.<n>]`). */
  id: string;
  type: 'reminder' | 'escalation';
  query: QueryId;
  /** For an escalation, the track it is about. */
  track: EscalationTrack | undefined;
  /** The timeline entry the event carried (`REMINDER`, `ESCALATED`). */
  entry: TimelineEntry | undefined;
}

/** The track of an escalation: from its entry's `reason`, else from its id (PROTOCOL §6.6). */
function escalationTrack(event: QueryEvent): EscalationTrack {
  const reason = event.entry?.detail?.reason;
  if (reason === 'ACK_OVERDUE' || event.id.startsWith('escalation.ncb.')) return 'ncb';
  if (reason === 'WEBHOOK_FAILED' || event.id.startsWith('escalation.webhook.')) return 'webhook';
  return 'formal';
}

/**
 * Whether an alert still stands for the query as it is now (the hub's rule, PROTOCOL §6.7): a
 * reminder while the formal request is awaited, an escalation while its track is late.
 */
export function isStanding(alert: FollowUpAlert, view: QueryView): boolean {
  if (view.status !== 'OPEN') return false;
  if (alert.type === 'reminder') return view.formalRequest.state === 'AWAITING';
  switch (alert.track) {
    case 'ncb':
      return view.ncb.state === 'ACK_OVERDUE';
    case 'webhook':
      return view.ncb.state !== 'ACKNOWLEDGED';
    default:
      return view.formalRequest.state === 'OVERDUE';
  }
}

/** Whether the requester may still withdraw the query (PROTOCOL §6.4: open and not answered). */
export function canWithdraw(view: QueryView): boolean {
  return view.status === 'OPEN' && view.answeredAt === null;
}

/** Whether the formal request is still to be registered (the form's time). */
export function awaitsFiling(view: QueryView): boolean {
  return view.status === 'OPEN' && (view.formalRequest.state === 'AWAITING' || view.formalRequest.state === 'OVERDUE');
}

/** A statement as the desk read it: its text, or why it could not be opened. */
export type Statement = { text: string } | { error: string };

/** Refusals the console explains in words of the catalogue (`query.refused.<code>`). */
const EXPLAINED = [
  'QUERY_STATEMENT_REQUIRED',
  'QUERY_GROUND_INVALID',
  'QUERY_SAME_STATE',
  'ROLE_REQUIRED',
  'DEVICE_NOT_PUBLISHED',
  'AGENCY_UNKNOWN',
  'QUERY_NOT_FOUND',
  'QUERY_TRANSITION_INVALID',
  'BAD_REQUEST',
  'NOT_CONNECTED',
  'REQUEST_TIMEOUT',
  'RATE_LIMITED',
  'BUSY',
] as const;

/** The catalogue key explaining a refusal, or `undefined` for one without words of its own. */
export function refusalKey(error: unknown): MessageKey | undefined {
  const code = error && typeof error === 'object' && 'code' in error ? error.code : undefined;
  return (EXPLAINED as readonly unknown[]).includes(code) ? (`query.refused.${code}` as MessageKey) : undefined;
}

const NCB_PROGRESS = { NOTIFIED: 0, ACK_OVERDUE: 1, ACKNOWLEDGED: 2 } as const;
const FORMAL_PROGRESS = { AWAITING: 0, OVERDUE: 1, FILED: 2, CONFIRMED: 3 } as const;

/**
 * How far a query has gone: its states only move forward, so of two views of one query the one
 * further on is the later (a listing fetched while an event came must not undo the event).
 */
function progress(view: QueryView): number {
  return (
    NCB_PROGRESS[view.ncb.state] +
    FORMAL_PROGRESS[view.formalRequest.state] +
    (view.answeredAt === null ? 0 : 1) +
    (view.status === 'OPEN' ? 0 : 1)
  );
}

export class QueryBook {
  readonly #client: HubClient;
  readonly #changed: () => void;
  readonly #warn: (error: unknown) => void;
  /** The queries known, by id. */
  readonly queries = new Map<QueryId, QueryView>();
  /** The queries an NCB desk was notified of (in the order they came). */
  readonly notified: QueryId[] = [];
  /** Statements decrypted (or not), by query. */
  readonly statements = new Map<QueryId, Statement>();
  /** Reminders and escalations received (live or pending at sign-in), by event id. */
  readonly alerts = new Map<string, FollowUpAlert>();
  /** Timelines fetched (a query's page shows it), oldest entry first; refreshed on each event of their query. */
  readonly timelines = new Map<QueryId, TimelineEntry[]>();

  /** This user's agency: an NCB desk acknowledges the queries of its own NCB track only. */
  readonly #agency: string;

  constructor(client: HubClient, agency: string, changed: () => void, warn: (error: unknown) => void) {
    this.#client = client;
    this.#agency = agency;
    this.#changed = changed;
    this.#warn = warn;
    client.on('query', (event) => this.#onEvent(event));
  }

  /** Whether this desk is the one to acknowledge `view` (not an NCB only informed of it). */
  mustAcknowledge(view: QueryView): boolean {
    return view.ncb.agency === this.#agency && view.ncb.state !== 'ACKNOWLEDGED' && view.status === 'OPEN';
  }

  /** The NCB desk's notifications it has to acknowledge and has not yet. */
  get pending(): QueryView[] {
    return this.notified
      .map((id) => this.queries.get(id))
      .filter((view): view is QueryView => view !== undefined && this.mustAcknowledge(view));
  }

  #put(view: QueryView): void {
    this.#keep(view);
    this.#changed();
  }

  /** Keeps `view` unless the one known is further on. */
  #keep(view: QueryView): void {
    const known = this.queries.get(view.id);
    if (!known || progress(view) >= progress(known)) this.queries.set(view.id, view);
  }

  #onEvent(event: QueryEvent): void {
    this.#keep(event.query);
    this.#alert(event);
    this.#changed();
    if (event.type === 'notification') this.#notify(event.query);
    if (this.timelines.has(event.query.id)) this.#refreshTimeline(event.query.id);
  }

  /** Keeps a reminder or an escalation (once per id: pending lists bring them again). */
  #alert(event: QueryEvent): void {
    if ((event.type !== 'reminder' && event.type !== 'escalation') || this.alerts.has(event.id)) return;
    this.alerts.set(event.id, {
      id: event.id,
      type: event.type,
      query: event.query.id,
      track: event.type === 'escalation' ? escalationTrack(event) : undefined,
      entry: event.entry,
    });
  }

  /**
   * The reminders and escalations standing now (of one query, or all), oldest first: of several of
   * one kind (reminder 0 and 1, escalation 0 and 1 of the formal request), the latest only.
   */
  standing(query?: QueryId): FollowUpAlert[] {
    const latest = new Map<string, FollowUpAlert>();
    for (const alert of this.alerts.values()) {
      if (query !== undefined && alert.query !== query) continue;
      const view = this.queries.get(alert.query);
      if (!view || !isStanding(alert, view)) continue;
      const kind = `${alert.query}/${alert.type}/${alert.track ?? ''}`;
      const known = latest.get(kind);
      if (!known || (alert.entry?.at ?? 0) >= (known.entry?.at ?? 0)) latest.set(kind, alert);
    }
    return [...latest.values()].sort((a, b) => (a.entry?.at ?? 0) - (b.entry?.at ?? 0));
  }

  #refreshTimeline(id: QueryId): void {
    this.fetch(id).catch((error) => this.#warn(error));
  }

  #notify(view: QueryView): void {
    if (this.notified.includes(view.id)) return;
    this.notified.push(view.id);
    this.#changed();
    this.#read(view);
  }

  /** Decrypts the statement of a query (an NCB desk's, or the counterpart's) once. */
  #read(view: QueryView): void {
    if (this.statements.has(view.id)) return;
    this.#client.readStatement(view).then(
      (content) => {
        this.statements.set(view.id, { text: content.type === 'text' ? content.text : JSON.stringify(content) });
        this.#changed();
      },
      (error: unknown) => {
        const reason = error && typeof error === 'object' && 'reason' in error ? String(error.reason) : String(error);
        this.statements.set(view.id, { error: reason });
        this.#changed();
      },
    );
  }

  /**
   * Lists what the hub lets this user see (after each connection); an NCB desk, the notifications
   * it has not acknowledged. Those come as `query` events too, but the SDK delivers each event once
   * per device, so after a reload of the tab (the same device) only this list brings them back.
   */
  async load(ncb: boolean): Promise<void> {
    try {
      for (const view of await this.#client.listQueries()) this.#keep(view);
      // Everyone: the reminders and escalations standing (a requester's, a supervisor's); an NCB
      // desk, also its notifications not acknowledged.
      for (const event of await this.#client.pendingQueries()) {
        this.#keep(event.query);
        this.#alert(event);
        if (ncb && event.type === 'notification') this.#notify(event.query);
      }
      this.#changed();
    } catch (error) {
      this.#warn(error);
    }
  }

  /** Opens a query; throws the SDK's or hub's refusal. */
  async open(options: OpenQueryOptions): Promise<QueryView> {
    const { query } = await this.#client.openQuery(options);
    this.#put(query);
    return query;
  }

  /** One query and its timeline, from the hub (the timeline is then refreshed on each event of the query). */
  async fetch(id: QueryId): Promise<QueryView> {
    const { query, timeline } = await this.#client.getQuery(id);
    this.timelines.set(id, timeline);
    this.#put(query);
    return query;
  }

  /** The open queries of this user's view with a track overdue (a supervisor's list), kept as the others. */
  async overdue(): Promise<QueryView[]> {
    const views = await this.#client.listQueries({ status: 'OPEN', overdue: true });
    for (const view of views) this.#keep(view);
    this.#changed();
    return views;
  }

  /** The requester registers the formal request that followed the query; throws the hub's refusal. */
  async file(id: QueryId, filing: FormalRequestFiling): Promise<QueryView> {
    return this.#changedBy(id, await this.#client.registerFormalRequest(id, filing));
  }

  /** The central authority confirms a formal request filed through it; throws the hub's refusal. */
  async confirm(id: QueryId): Promise<QueryView> {
    return this.#changedBy(id, await this.#client.confirmFormalRequest(id));
  }

  /** The requester withdraws the query, with a reason; throws the hub's refusal. */
  async withdraw(id: QueryId, reason: string): Promise<QueryView> {
    return this.#changedBy(id, await this.#client.withdrawQuery(id, reason));
  }

  #changedBy(id: QueryId, view: QueryView): QueryView {
    this.#put(view);
    if (this.timelines.has(id)) this.#refreshTimeline(id);
    return view;
  }

  /** The NCB desk acknowledges a notification. */
  async acknowledge(id: QueryId): Promise<QueryView> {
    const view = await this.#client.acknowledgeQuery(id);
    this.#put(view);
    return view;
  }
}
