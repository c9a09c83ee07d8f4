import {
  type AuditReceipt,
  type ConversationBasis,
  ConversationError,
  type ConversationInfo,
  type ConversationItem,
  type DeviceRef,
  DirectoryError,
  deviceAddress,
  type Envelope,
  envelopeSchema,
  GROUNDS,
  groundSchema,
  type Identity,
  type OfficerRef,
  officerAddress,
  QueryError,
  type QueryView,
  RequestError,
  type SignedMembershipRecord,
  signedMembershipRecordSchema,
} from '@ncp-hub/protocol';
import { z } from 'zod';
import type { ConversationService } from '../conversations/conversation-service.js';
import type { TrustRegistryHolder } from '../identity/trust-registry-holder.js';
import type { MessageService } from '../messaging/message-service.js';
import type { RedisKeys } from '../redis/redis-keys.js';
import { parseOrBadRequest } from '../validation.js';
import type { ConversationQueryCache } from './conversation-query-cache.js';
import { type FollowUpTimings, type Policy, resolveFollowUp } from './policy.js';
import type { QueryEvents } from './query-events.js';
import type { AuditReceipts, FollowUpScheduler } from './query-ports.js';
import type { Opening, QueryRecord, QueryStore } from './query-store.js';
import { sameOfficer, timelineEntry } from './query-timeline.js';

/** What `query:open` produced, for the realtime layer to announce. */
export interface OpenedQuery {
  query: QueryView;
  conversation: ConversationInfo;
  question: ConversationItem;
  record: SignedMembershipRecord;
  /** Where the opening stands in the audit chain; null if it was not chained in time. */
  receipt: AuditReceipt | null;
}

/** What is looked for first in a `query:open`'s record: one of the grounds (QUERY_GROUND_INVALID otherwise). */
const withGroundSchema = z.object({ record: z.object({ basis: z.object({ ground: groundSchema }) }) });

/** The payload of `query:open` as its outer shape parsed it; its parts are checked here, in order. */
export interface QueryOpenParts {
  conversation: unknown;
  statement?: unknown;
  question: unknown;
}

/** An opening whose every rule holds: what is written. */
interface CheckedOpening {
  signed: SignedMembershipRecord;
  /** The basis of its `create` record: the query's id, ground and case reference. */
  basis: Extract<ConversationBasis, { type: 'operational-query' }>;
  statement: Envelope;
  question: Envelope;
  requester: OfficerRef;
  counterpart: OfficerRef;
  counterpartCountry: string;
  /** The requesting state's NCB, always told. */
  ncb: string;
  /** The requested state's NCB, when the policy has it told too. */
  requestedNcb: string | undefined;
  followUp: FollowUpTimings;
}

/** The services the opening of a query writes to and reads from. */
export interface QueryOpeningServices {
  store: QueryStore;
  keys: RedisKeys;
  registry: TrustRegistryHolder;
  conversations: ConversationService;
  messages: MessageService;
  policy: Policy;
  scheduler: FollowUpScheduler;
  audit: AuditReceipts;
  events: QueryEvents;
  conversationQueries: ConversationQueryCache;
}

/**
 * The legal rules of direct contact, enforced when a query is opened: an officer opens it,
 * with exactly one ground and a statement of the specific grounds, to a counterpart of
 * another state whose devices the question is encrypted to, with the requesting state's NCB
 * in the registry to be told. Nothing is written before every check has passed.
 */
export class QueryOpening {
  private readonly services: QueryOpeningServices;

  constructor(services: QueryOpeningServices) {
    this.services = services;
  }

  /**
   * Opens a query: its conversation, its question, its statement, and the follow-up. The
   * recipients of the question and the statement are checked in the same step as the query id
   * is claimed, the conversation created, the question stored and the query stored
   * (QueryStore.open): a device published before that step is a recipient of both, or the
   * opening is refused whole; and that step writes everything or nothing.
   */
  async open(identity: Identity, device: DeviceRef, payload: QueryOpenParts): Promise<OpenedQuery> {
    const { store, keys, conversations, messages, scheduler, audit, events } = this.services;
    const checked = await this.#check(identity, device, payload);
    const { signed, basis, statement, question, requester, counterpart, ncb, requestedNcb, followUp } = checked;
    const { conv } = signed.record;
    const creation = await conversations.checkCreation(device, signed, { operationalQuery: true });
    const write = messages.messageWrite(question);
    const now = Date.now();
    const view: QueryView = {
      id: basis.query,
      status: 'OPEN',
      ground: basis.ground,
      caseReference: basis.caseReference,
      requester,
      requesterCountry: identity.country,
      counterpart: { agency: counterpart.agency, officer: counterpart.officer },
      counterpartCountry: checked.counterpartCountry,
      conversation: conv,
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
    const opening: Opening = {
      query: basis.query,
      sender: device,
      conversation: conversations.creationWrite(creation),
      question: write,
      questionTo: question.header.to,
      counterpart: officerAddress(counterpart),
      ncb,
      statementTo: statement.header.to,
      record: stored,
      entries: [timelineEntry('OPENED', requester, { ground: view.ground, caseReference: view.caseReference })],
      indexes: [
        keys.agencyQueries(requester.agency),
        keys.agencyQueries(counterpart.agency),
        keys.ncbQueries(ncb),
        keys.ncbPending(ncb),
        ...(requestedNcb ? [keys.ncbQueries(requestedNcb)] : []),
      ],
    };
    // The follow-up is scheduled before the query is stored, once the store's own checks have
    // passed (a refusal there schedules nothing): an OPEN query never lacks its jobs. A job that
    // runs before the query exists fails and is retried; if the store refuses the opening after
    // all (a device published in between), its jobs find no query, fail and are retried, and act
    // only if the same opening is stored within their retries.
    await store.checkOpening(opening);
    await scheduler.scheduleOpened(stored, events.webhooksFor(view));
    const { cursor, auditId } = await store.open(opening);
    const change = await conversations.created(creation);
    const questionItem: ConversationItem = {
      type: 'message',
      conv,
      cursor,
      receivedAt: write.receivedAt,
      envelope: question,
    };
    this.services.conversationQueries.remember(conv, view.id);
    const receipt = (await audit.receipt(auditId)) ?? null;
    return { query: view, conversation: change.conversation, question: questionItem, record: signed, receipt };
  }

  /**
   * Every rule of an opening, in the order its codes are documented; writes nothing. The
   * ground and the statement are looked for before the parts are parsed, so that a query
   * without them gets QUERY_GROUND_INVALID or QUERY_STATEMENT_REQUIRED, not BAD_REQUEST.
   */
  async #check(identity: Identity, device: DeviceRef, payload: QueryOpenParts): Promise<CheckedOpening> {
    const { registry, messages, policy } = this.services;
    if (!identity.roles.includes('officer')) throw new QueryError('ROLE_REQUIRED', 'only an officer opens a query');
    if (!withGroundSchema.safeParse(payload.conversation).success) {
      throw new QueryError('QUERY_GROUND_INVALID', `a query needs exactly one ground: ${GROUNDS.join(', ')}`);
    }
    if (payload.statement === undefined || payload.statement === null) {
      throw new QueryError('QUERY_STATEMENT_REQUIRED', 'a query needs the statement of the specific grounds');
    }
    const signed = parseOrBadRequest(signedMembershipRecordSchema, payload.conversation, 'conversation');
    const statement = parseOrBadRequest(envelopeSchema, payload.statement, 'statement') as Envelope;
    const question = parseOrBadRequest(envelopeSchema, payload.question, 'question') as Envelope;
    const { record } = signed;
    if (record.op !== 'create' || record.kind !== 'direct' || record.basis.type !== 'operational-query') {
      throw new ConversationError('MEMBERSHIP_INVALID', 'a query opens a direct conversation whose basis is the query');
    }
    const requester: OfficerRef = { agency: identity.agency, officer: identity.officer };
    const counterpart = record.members.find((member) => !sameOfficer(member, requester));
    if (!counterpart || !record.members.some((member) => sameOfficer(member, requester))) {
      throw new ConversationError('MEMBERSHIP_INVALID', 'the members are the requesting officer and the counterpart');
    }
    const counterpartAgency = registry.current.get(counterpart.agency);
    if (!counterpartAgency) {
      throw new DirectoryError('AGENCY_UNKNOWN', `not in the trust registry: ${counterpart.agency}`);
    }
    if (counterpartAgency.country === identity.country) {
      throw new QueryError('QUERY_SAME_STATE', 'a direct query goes to an agency of another state');
    }
    const ncb = this.#ncbOf(identity.country);
    if (!ncb) throw new DirectoryError('AGENCY_UNKNOWN', `no NCB of state ${identity.country} in the trust registry`);
    for (const [name, envelope, kind] of [
      ['statement', statement, 'query-statement'],
      ['question', question, 'query-question'],
    ] as const) {
      if (envelope.header.kind !== kind || envelope.header.conv !== record.conv) {
        throw new RequestError(
          'BAD_REQUEST',
          `${name}: header.kind must be ${kind} and header.conv the query's conversation`,
        );
      }
      if (deviceAddress(envelope.header.from) !== deviceAddress(device)) {
        throw new ConversationError('SENDER_MISMATCH', `${name}: header.from must be this connection's device`);
      }
    }
    const followUp = resolveFollowUp(policy, {
      ground: record.basis.ground,
      from: identity.country,
      to: counterpartAgency.country,
    });
    const requestedNcb = followUp.informRequestedStateNcb ? this.#ncbOf(counterpartAgency.country) : undefined;
    messages.assertSize(statement, 'statement');
    messages.assertSize(question, 'question');
    return {
      signed,
      basis: record.basis,
      statement,
      question,
      requester,
      counterpart,
      counterpartCountry: counterpartAgency.country,
      ncb,
      requestedNcb,
      followUp,
    };
  }

  /** The NCB of a state in the trust registry. */
  #ncbOf(country: string): string | undefined {
    return this.services.registry.current.list().find((agency) => agency.kind === 'ncb' && agency.country === country)
      ?.id;
  }
}
