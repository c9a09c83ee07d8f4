import { hashMembershipRecord, randomBytes, signMembershipRecord, verifyMembershipChain } from '@ncp-hub/crypto';
import {
  type ConversationBasis,
  ConversationError,
  type ConversationId,
  type ConversationInfo,
  type ConversationKind,
  type DeviceRef,
  type MembershipRecord,
  type OfficerAddress,
  type OfficerRef,
  officerAddress,
  toBase64url,
} from '@ncp-hub/protocol';
import type { Emit } from '../typed-emitter.js';
import type { HubRequester } from './connection.js';
import type { Conversation, HubClientEvents } from './hub-client-events.js';
import type { KnownChains } from './known-chains.js';
import type { LocalDevice } from './local-device.js';
import type { TaskQueue } from './task-queue.js';

/** What creating a conversation needs ({@link HubClient.createConversation}). */
export interface CreateConversationOptions {
  kind: ConversationKind;
  /** The other members; this officer is always one. */
  members: OfficerRef[];
  basis: ConversationBasis;
}

/** The record that creates a conversation, with its signature. */
export interface SignedCreateRecord {
  record: Extract<MembershipRecord, { op: 'create' }>;
  sig: string;
}

/** What the conversations part needs. */
export interface ConversationsDeps {
  hub: HubRequester;
  device: LocalDevice;
  /** The signing key of a record's signer (the directory). */
  signingKeyOf: (by: DeviceRef) => Promise<Uint8Array | undefined>;
  /** The longest chain verified in each conversation, which every later one must extend. */
  known: Pick<KnownChains, 'accept'>;
  /** Where verifications run, in order with what is received. */
  queue: TaskQueue;
  emit: Emit<Pick<HubClientEvents, 'membership' | 'membershipInvalid' | 'membershipMismatch'>>;
}

/** Why a chain the hub gave is not used: it is shorter than, or branches off, one this device verified. */
export const ROLLBACK = 'ROLLBACK';

/** Conversations and their signed membership chains: created, changed, verified and adopted. */
export class Conversations {
  private readonly deps: ConversationsDeps;
  readonly #verified = new Map<ConversationId, { conversation: Conversation; recordCount: number }>();

  constructor(deps: ConversationsDeps) {
    this.deps = deps;
  }

  /**
   * Verifies a conversation's chain as the hub gives it and keeps it; reports a chain that
   * fails (`membershipInvalid`, and the conversation is dropped), a member list that differs
   * from the chain (`membershipMismatch`), and each new membership (`membership`). A chain
   * that verifies but does not extend the longest one this device verified (kept in its key
   * store) is a rollback: `membershipInvalid` with reason {@link ROLLBACK}, and the
   * conversation of the known chain is kept and given instead.
   */
  async adopt(info: ConversationInfo): Promise<Conversation | undefined> {
    const accepted = await this.#accept(info);
    return accepted.ok ? accepted.conversation : accepted.kept;
  }

  /** {@link Conversations.adopt}, saying whether the chain given is the one adopted. */
  async #accept(
    info: ConversationInfo,
  ): Promise<{ ok: true; conversation: Conversation } | { ok: false; kept?: Conversation }> {
    const { emit } = this.deps;
    const cached = this.#verified.get(info.id);
    const verdict = await verifyMembershipChain(info.records, this.deps.signingKeyOf);
    if (!verdict.ok) {
      this.#verified.delete(info.id);
      emit('membershipInvalid', { conversation: info.id, reason: verdict.reason, index: verdict.index });
      return { ok: false };
    }
    const conversation: Conversation = {
      id: info.id,
      kind: verdict.kind,
      basis: verdict.basis,
      members: verdict.members,
    };
    const extension = await this.deps.known.accept(info.id, info.records, conversation);
    if (!extension.ok) {
      const { known, index } = extension;
      this.#verified.set(info.id, { conversation: known.conversation, recordCount: known.length });
      emit('membershipInvalid', { conversation: info.id, reason: ROLLBACK, index });
      return { ok: false, kept: known.conversation };
    }
    const verifiedMembers = new Set(verdict.members.map(officerAddress));
    const claimed = new Set(info.members);
    const ghosts = [...claimed].filter((m) => !verifiedMembers.has(m));
    const missing = [...verifiedMembers].filter((m) => !claimed.has(m));
    if (ghosts.length > 0 || missing.length > 0) {
      emit('membershipMismatch', { conversation: info.id, ghosts, missing });
    }
    this.#verified.set(info.id, { conversation, recordCount: info.records.length });
    if (!cached || cached.recordCount !== info.records.length) emit('membership', conversation);
    return { ok: true, conversation };
  }

  /**
   * {@link Conversations.adopt} in the queue, for the hub's answer to this device's own change:
   * `MEMBERSHIP_INVALID` if it does not verify or is a rollback (the change is not in it).
   */
  async adoptAnswer(info: ConversationInfo): Promise<Conversation> {
    const accepted = await this.deps.queue.run(() => this.#accept(info));
    if (!accepted.ok) {
      throw new ConversationError('MEMBERSHIP_INVALID', 'the hub answered with a conversation that does not verify');
    }
    return accepted.conversation;
  }

  /** The verified conversation: kept, or fetched and verified (`MEMBERSHIP_INVALID` if it does not). */
  async verified(conv: ConversationId): Promise<Conversation> {
    const cached = this.#verified.get(conv);
    if (cached) return cached.conversation;
    const { conversation } = await this.deps.hub.request('conversation:get', { conv });
    const verified = await this.adopt(conversation);
    if (!verified) {
      throw new ConversationError('MEMBERSHIP_INVALID', 'the membership of this conversation does not verify');
    }
    return verified;
  }

  /**
   * The conversation as the hub has it now, verified and kept (`MEMBERSHIP_INVALID` if it
   * does not verify; the known one if it is a rollback): for a sender told that its members'
   * devices changed, as a member may have been added since it last heard.
   */
  async refresh(conv: ConversationId): Promise<Conversation> {
    const { conversation } = await this.deps.hub.request('conversation:get', { conv });
    const verified = await this.deps.queue.run(() => this.adopt(conversation));
    if (!verified)
      throw new ConversationError('MEMBERSHIP_INVALID', 'the membership of this conversation does not verify');
    return verified;
  }

  /** Every conversation of this officer whose chain verifies. */
  async list(): Promise<Conversation[]> {
    const { conversations } = await this.deps.hub.request('conversation:list', {});
    const verified = await this.deps.queue.run(() => Promise.all(conversations.map((c) => this.adopt(c))));
    return verified.filter((c): c is Conversation => c !== undefined);
  }

  /** The signed `create` record of a new conversation of this officer (a random id). */
  async createRecord(options: CreateConversationOptions): Promise<SignedCreateRecord> {
    const self = this.deps.device.ref;
    const members = uniqueOfficers([{ agency: self.agency, officer: self.officer }, ...options.members]);
    const record: SignedCreateRecord['record'] = {
      v: 1,
      conv: toBase64url(randomBytes(16)),
      seq: 1,
      prev: null,
      op: 'create',
      kind: options.kind,
      basis: options.basis,
      members,
      by: self,
      ts: Date.now(),
    };
    const { sig } = await signMembershipRecord(record, this.deps.device.keys.signing.secretKey);
    return { record, sig };
  }

  /** Creates a conversation with a signed `create` record. */
  async create(options: CreateConversationOptions): Promise<Conversation> {
    const record = await this.createRecord(options);
    const { conversation } = await this.deps.hub.request('conversation:create', { record });
    return this.adoptAnswer(conversation);
  }

  /**
   * Adds or removes a member with a record signed by this device, chained to the last one of
   * the chain as the hub has it now, once that chain is verified and extends the known one
   * (`MEMBERSHIP_INVALID` otherwise): this device never signs on top of a chain rolled back.
   */
  async change(conv: ConversationId, op: 'add' | 'remove', member: OfficerRef): Promise<Conversation> {
    const { hub, device } = this.deps;
    const { conversation: info } = await hub.request('conversation:get', { conv });
    const last = info.records.at(-1);
    if (!last) throw new ConversationError('CONVERSATION_NOT_FOUND', 'no such conversation');
    if (!(await this.deps.queue.run(() => this.#accept(info))).ok) {
      throw new ConversationError(
        'MEMBERSHIP_INVALID',
        'the membership chain the hub gave does not verify, or does not extend the one this device verified',
      );
    }
    const record: MembershipRecord = {
      v: 1,
      conv,
      seq: info.records.length + 1,
      prev: await hashMembershipRecord(last),
      op,
      member: { agency: member.agency, officer: member.officer },
      by: device.ref,
      ts: Date.now(),
    };
    const signed = await signMembershipRecord(record, device.keys.signing.secretKey);
    const { conversation } = await hub.request('conversation:change', { record: signed });
    return this.adoptAnswer(conversation);
  }
}

function uniqueOfficers(officers: OfficerRef[]): OfficerRef[] {
  const seen = new Map<OfficerAddress, OfficerRef>();
  for (const o of officers) seen.set(officerAddress(o), { agency: o.agency, officer: o.officer });
  return [...seen.values()];
}
