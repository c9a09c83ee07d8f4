// The operational queries this tab knows: those it opened, those the hub lists, and those its
// `query` events bring (an NCB desk's notifications, pushed live and again on every connection
// while unacknowledged), with the statements the desk decrypted.
import type { HubClient, OpenQueryOptions } from '@ncp-hub/client-sdk';
import type { Ground, QueryEvent, QueryId, QueryView } from '@ncp-hub/protocol';
import type { MessageKey } from './i18n/index.js';

/** The three grounds, in the order the form shows them. */
export const GROUND_CHOICES = [
  'THREAT_TO_LIFE',
  'IRREVERSIBLE_LOSS',
  'ABSCONDING_RISK',
] as const satisfies readonly Ground[];

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
    this.#put(event.query);
    if (event.type === 'notification') this.#notify(event.query);
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
      if (ncb) {
        for (const event of await this.#client.pendingQueries()) {
          if (event.type !== 'notification') continue;
          this.#keep(event.query);
          this.#notify(event.query);
        }
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

  /** One query, from the hub when this tab does not know it yet. */
  async fetch(id: QueryId): Promise<QueryView> {
    const { query } = await this.#client.getQuery(id);
    this.#put(query);
    return query;
  }

  /** The NCB desk acknowledges a notification. */
  async acknowledge(id: QueryId): Promise<QueryView> {
    const view = await this.#client.acknowledgeQuery(id);
    this.#put(view);
    return view;
  }
}
