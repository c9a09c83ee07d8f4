import { type EnvelopeRecipient, type MessageContent, openEnvelope, randomBytes } from '@ncp-hub/crypto';
import {
  type AuditReceipt,
  ClientError,
  type DirectoryAgency,
  DirectoryError,
  envelopeSchema,
  type FormalRequestFiling,
  GROUNDS,
  type Ground,
  hubErrorFromBody,
  type OfficerRef,
  officerAddress,
  QueryError,
  type QueryEvent,
  type QueryId,
  type QueryListFilter,
  type QueryView,
  queryListAnswerSchema,
  type TimelineEntry,
  toBase64url,
  toHubError,
  UndecryptableError,
} from '@ncp-hub/protocol';
import type { KeyStore } from '../store/key-store.js';
import type { Emit } from '../typed-emitter.js';
import type { HubRequester } from './connection.js';
import type { Conversations } from './conversations.js';
import type { Directory } from './directory.js';
import type { Conversation, HubClientEvents } from './hub-client-events.js';
import type { LocalDevice } from './local-device.js';
import { contentOf, type Outbox } from './outbox.js';
import { type RecipientSource, sendToCurrentDevices } from './send-to-current-devices.js';
import { STORE_KEYS } from './store-keys.js';
import { TaskQueue } from './task-queue.js';

/** What opening an operational query takes. */
export interface OpenQueryOptions {
  /** The officer of another state asked. */
  counterpart: OfficerRef;
  /** The national proceedings number. */
  caseReference: string;
  /** One of the three grounds for acting before a formal request. */
  ground: Ground;
  /** The statement of the specific grounds, for the NCB desks and the counterpart. */
  statement: string;
  /** The question: the first message of the query's conversation, for the counterpart. */
  question: string | MessageContent;
}

/** An opened query: its state, its verified conversation, and where the hub's audit chain recorded it. */
export interface OpenedQuery {
  query: QueryView;
  conversation: Conversation;
  receipt: AuditReceipt | null;
}

/** What the queries part needs. */
export interface QueriesDeps {
  hub: HubRequester;
  device: LocalDevice;
  directory: Pick<Directory, 'recipientsOf' | 'invalidate' | 'devicesOfAgency' | 'senderKey'>;
  conversations: Pick<Conversations, 'createRecord' | 'adoptAnswer'>;
  outbox: Pick<Outbox, 'seal' | 'claimFirstMessage'>;
  /** Where the ids of the query events delivered are kept, so that each is delivered once, across restarts. */
  store: KeyStore;
  /** The hub's base URL, for its HTTP API. */
  url: string;
  /** A current officer token, for the HTTP API. */
  token: () => Promise<string>;
  emit: Emit<Pick<HubClientEvents, 'query' | 'error'>>;
}

/** The answer of `GET /v1/queries`. */

/**
 * How many event ids are remembered per query, the latest: far more than a query has (its
 * notification, a few updates, its reminders, its escalations), so that an event the hub
 * sends again (a resent notification, an escalation or reminder still standing, pushed on
 * every connection) is dropped, however long after.
 */
export const QUERY_EVENT_IDS_PER_QUERY = 1000;

/** Operational queries: opening one (with its sealed question and statement), its steps, its events. */
export class Queries {
  private readonly deps: QueriesDeps;
  /** The ids delivered, per query, as loaded from the key store (or being loaded). */
  readonly #delivered = new Map<QueryId, Promise<string[]>>();
  /** The events, one at a time, in the order they came. */
  readonly #events: TaskQueue;

  constructor(deps: QueriesDeps) {
    this.deps = deps;
    this.#events = new TaskQueue((error) => deps.emit('error', error));
  }

  /**
   * Opens a query. The question is sealed to the counterpart's devices (and this officer's
   * other devices), the statement to those and the NCB desks' of both states; both are
   * re-sealed, to the devices looked up again (the desks' too), when the hub answers
   * `RECIPIENTS_CHANGED` for either.
   */
  async open(options: OpenQueryOptions): Promise<OpenedQuery> {
    const { hub, device, directory, conversations, outbox } = this.deps;
    if (!GROUNDS.includes(options.ground)) {
      throw new QueryError('QUERY_GROUND_INVALID', `the ground must be one of ${GROUNDS.join(', ')}`);
    }
    if (options.statement.trim() === '') {
      throw new QueryError('QUERY_STATEMENT_REQUIRED', 'the statement of the specific grounds is empty');
    }
    const self = device.ref;
    const counterpart: OfficerRef = { agency: options.counterpart.agency, officer: options.counterpart.officer };
    const conversation = await conversations.createRecord({
      kind: 'direct',
      members: [counterpart],
      basis: {
        type: 'operational-query',
        query: toBase64url(randomBytes(16)),
        ground: options.ground,
        caseReference: options.caseReference,
      },
    });
    const { conv, members } = conversation.record;
    const { agencies } = await hub.request('directory:agencies', {});
    const counterpartAgency = agencies.find((agency) => agency.id === counterpart.agency);
    if (!counterpartAgency)
      throw new DirectoryError('AGENCY_UNKNOWN', `not in the trust registry: ${counterpart.agency}`);
    if (counterpartAgency.country === device.identity?.country) {
      throw new QueryError('QUERY_SAME_STATE', 'a direct query goes to an agency of another state');
    }
    const ts = Date.now();
    const header = (id: string, kind: 'query-question' | 'query-statement') => ({
      id,
      conv,
      from: self,
      ts,
      seq: 1,
      kind,
    });
    const question = header(toBase64url(randomBytes(16)), 'query-question');
    const statement = header(toBase64url(randomBytes(16)), 'query-statement');
    const ofMembers = (recipient: EnvelopeRecipient) =>
      members.some((member) => recipient.address.startsWith(`${officerAddress(member)}/`));
    // The members' devices and the NCB desks' (asked each time): a desk's device published since is refused too.
    const recipientsOf: RecipientSource['recipientsOf'] = async (officers, exclude) => {
      const all = [
        ...(await directory.recipientsOf(officers, exclude)),
        ...(await this.#ncbDevices(agencies, counterpartAgency.country)),
      ];
      return [...new Map(all.map((r) => [r.address, r])).values()].filter((r) => r.address !== exclude);
    };
    let claimed = false;
    const answer = await sendToCurrentDevices({
      members,
      exclude: device.address,
      directory: { recipientsOf, invalidate: (officers) => directory.invalidate(officers) },
      attempt: async (recipients) => {
        if (!recipients.some((r) => r.address.startsWith(`${officerAddress(counterpart)}/`))) {
          throw new DirectoryError(
            'DEVICE_NOT_PUBLISHED',
            'the counterpart has no attested device to encrypt the question to',
          );
        }
        const sealed = {
          conversation,
          question: await outbox.seal(question, contentOf(options.question), recipients.filter(ofMembers)),
          statement: await outbox.seal(statement, contentOf(options.statement), recipients),
        };
        if (!claimed) await outbox.claimFirstMessage(conv, question.id);
        claimed = true;
        return hub.request('query:open', sealed);
      },
    });
    const verified = await conversations.adoptAnswer(answer.conversation);
    return { query: answer.query, conversation: verified, receipt: answer.receipt };
  }

  /**
   * Decrypts a query's statement, after the checks of a message (docs/PROTOCOL.md §9.4) with
   * steps 2-3 for a statement: `MALFORMED` unless it is an envelope of kind `query-statement`,
   * `CONVERSATION_MISMATCH` unless it names the query's conversation, `NOT_A_MEMBER` unless
   * its sender is the requesting officer; then the attested sender and the cryptography.
   */
  async readStatement(query: QueryView): Promise<MessageContent> {
    const { device, directory } = this.deps;
    if (!envelopeSchema.safeParse(query.statement).success) throw new UndecryptableError('MALFORMED');
    const { header } = query.statement;
    if (header.kind !== 'query-statement') throw new UndecryptableError('MALFORMED');
    if (header.conv !== query.conversation) throw new UndecryptableError('CONVERSATION_MISMATCH');
    if (officerAddress(header.from) !== officerAddress(query.requester)) throw new UndecryptableError('NOT_A_MEMBER');
    const sender = await directory.senderKey(header.from);
    if (!('key' in sender)) throw new UndecryptableError(sender.reason);
    return openEnvelope({
      envelope: query.statement,
      recipient: { address: device.address, encryption: device.keys.encryption },
      senderSigningKey: sender.key,
    });
  }

  async acknowledge(query: QueryId): Promise<QueryView> {
    return (await this.deps.hub.request('query:acknowledge', { query })).query;
  }

  async file(query: QueryId, filing: FormalRequestFiling): Promise<QueryView> {
    return (await this.deps.hub.request('query:file', { query, filing })).query;
  }

  async confirm(query: QueryId): Promise<QueryView> {
    return (await this.deps.hub.request('query:confirm', { query })).query;
  }

  async withdraw(query: QueryId, reason: string): Promise<QueryView> {
    return (await this.deps.hub.request('query:withdraw', { query, reason })).query;
  }

  get(query: QueryId): Promise<{ query: QueryView; timeline: TimelineEntry[] }> {
    return this.deps.hub.request('query:get', { query });
  }

  async pending(): Promise<QueryEvent[]> {
    return (await this.deps.hub.request('query:pending', {})).events;
  }

  /**
   * The queries this user may see, over the hub's HTTP API; `HUB_UNREACHABLE` when it cannot
   * be reached, the hub's error for a refusal (`INTERNAL` for an error body that is not the
   * hub's, e.g. a proxy's page), `INTERNAL` for an answer that is not a list of query views.
   */
  async list(filter: QueryListFilter = {}): Promise<QueryView[]> {
    const params = new URLSearchParams();
    if (filter.status) params.set('status', filter.status);
    if (filter.overdue !== undefined) params.set('overdue', String(filter.overdue));
    const url = `${this.deps.url.replace(/\/$/, '')}/v1/queries?${params}`;
    const headers = { authorization: `Bearer ${await this.deps.token()}` };
    const response = await fetch(url, { headers }).catch((error: unknown) => {
      throw new ClientError('HUB_UNREACHABLE', 'the hub could not be reached', { cause: error });
    });
    const body: unknown = await response.json().catch(() => undefined);
    if (!response.ok) throw hubErrorFromBody((body as { error?: unknown } | undefined)?.error);
    const answer = queryListAnswerSchema.safeParse(body);
    if (!answer.success) throw toHubError(answer.error);
    return answer.data.queries;
  }

  /**
   * Delivers a query event to the application once per id on this device (the hub sends some
   * again: PROTOCOL §6.6, §6.7), in the order the events came. The id is kept in the key store
   * (per query, the latest {@link QUERY_EVENT_IDS_PER_QUERY}) before the event is emitted, so
   * that it is dropped when it comes again, after a reconnection or a restart; a failure of the
   * store is reported as an `error`, and the event is not emitted.
   */
  onEvent(event: QueryEvent): void {
    this.#events.add(async () => {
      const query = event.query.id;
      const ids = await this.#deliveredOf(query);
      if (ids.includes(event.id)) return;
      const kept = [...ids, event.id].slice(-QUERY_EVENT_IDS_PER_QUERY);
      await this.deps.store.set(STORE_KEYS.queryEvents(query), kept);
      this.#delivered.set(query, Promise.resolve(kept));
      this.deps.emit('query', event);
    });
  }

  #deliveredOf(query: QueryId): Promise<string[]> {
    let ids = this.#delivered.get(query);
    if (!ids) {
      ids = this.deps.store.get<string[]>(STORE_KEYS.queryEvents(query)).then((stored) => stored ?? []);
      this.#delivered.set(query, ids);
      ids.catch(() => this.#delivered.delete(query));
    }
    return ids;
  }

  /** The devices of the NCB desks of this officer's state and of the counterpart's. */
  async #ncbDevices(agencies: DirectoryAgency[], counterpartCountry: string): Promise<EnvelopeRecipient[]> {
    const countries = new Set([this.deps.device.identity?.country, counterpartCountry]);
    const ncbs = agencies.filter((agency) => agency.kind === 'ncb' && countries.has(agency.country));
    const devices: EnvelopeRecipient[] = [];
    for (const ncb of ncbs) devices.push(...(await this.deps.directory.devicesOfAgency(ncb.id)));
    return devices;
  }
}
