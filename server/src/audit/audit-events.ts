import type { AuditEvent } from '@ncp-hub/keys';
import type {
  DeviceRef,
  Envelope,
  Identity,
  MembershipRecord,
  QueryView,
  SignedReceipt,
  TimelineEntry,
} from '@ncp-hub/protocol';

/**
 * The audit events of the hub's actions, in one place. Each carries ids, sizes, codes and
 * times only: never message content, a statement, a token or a key.
 */

const unique = (values: string[]) => [...new Set(values)].sort();
const actorOf = (ref: DeviceRef | Identity, device?: string | null) => ({
  agency: ref.agency,
  officer: ref.officer,
  ...(device ? { device } : 'device' in ref ? { device: ref.device } : {}),
});

export function authAccepted(identity: Identity, transport: 'socket' | 'http', device: string | null): AuditEvent {
  return {
    at: Date.now(),
    type: 'auth.accepted',
    actor: actorOf(identity, device),
    agencies: [identity.agency],
    data: { transport, roles: identity.roles.join(','), expiresAt: identity.expiresAt },
  };
}

/**
 * Refused tokens of one kind in one window: the agency they claim is recorded only when it is a
 * registry agency.
 */
export function authRefused(
  code: string,
  transport: 'socket' | 'http',
  claimedAgency: string | undefined,
  count: number,
  from: number,
  to: number,
): AuditEvent {
  return {
    at: to,
    type: 'auth.refused',
    actor: 'hub',
    agencies: claimedAgency ? [claimedAgency] : [],
    data: { transport, code, claimedAgency: claimedAgency ?? null, count, from, to },
  };
}

export function devicePublished(device: DeviceRef, expiresAt: number): AuditEvent {
  return {
    at: Date.now(),
    type: 'directory.published',
    actor: actorOf(device),
    agencies: [device.agency],
    data: { device: device.device, expiresAt },
  };
}

/**
 * A device withdrawn from the directory because the registry no longer vouches for it (a
 * revoked key, officer or device, or an agency removed): an act of the hub, on the registry's word.
 */
export function deviceWithdrawn(device: DeviceRef, reason: string): AuditEvent {
  return {
    at: Date.now(),
    type: 'directory.withdrawn',
    actor: 'hub',
    agencies: [device.agency],
    data: { officer: device.officer, device: device.device, reason },
  };
}

export function membershipChanged(record: MembershipRecord, memberAgencies: string[]): AuditEvent {
  const base = {
    at: Date.now(),
    actor: actorOf(record.by),
    conversation: record.conv,
    agencies: unique(memberAgencies),
  };
  if (record.op === 'create') {
    return {
      ...base,
      type: 'conversation.created',
      ...(record.basis.type === 'operational-query' ? { query: record.basis.query } : {}),
      data: { kind: record.kind, basis: record.basis.type, members: record.members.length },
    };
  }
  return {
    ...base,
    type: record.op === 'add' ? 'conversation.member-added' : 'conversation.member-removed',
    data: { seq: record.seq, agency: record.member.agency, officer: record.member.officer },
  };
}

export function messageRelayed(envelope: Envelope, bytes: number): AuditEvent {
  const { header } = envelope;
  return {
    at: Date.now(),
    type: 'message.relayed',
    actor: actorOf(header.from),
    conversation: header.conv,
    // Replaced, in the same script that stores the message, by the conversation members' agencies.
    agencies: [header.from.agency],
    data: { message: header.id, kind: header.kind, seq: header.seq, bytes, recipients: header.to.length },
  };
}

export function receiptRelayed(signed: SignedReceipt): AuditEvent {
  const { receipt } = signed;
  return {
    at: Date.now(),
    type: 'receipt.relayed',
    actor: actorOf(receipt.by),
    conversation: receipt.conv,
    agencies: [receipt.by.agency],
    data: { receipt: receipt.type, messages: receipt.ids.length },
  };
}

/** The audit event of a query's timeline entry. */
export function queryStep(view: QueryView, entry: TimelineEntry): AuditEvent {
  return {
    at: entry.at,
    type: `query.${entry.event}`,
    actor: entry.actor,
    query: view.id,
    conversation: view.conversation,
    agencies: unique([
      view.requester.agency,
      view.counterpart.agency,
      view.ncb.agency,
      ...view.ncb.alsoInformed,
      ...(view.formalRequest.filing ? [view.formalRequest.filing.centralAuthority] : []),
    ]),
    data: { ground: view.ground, caseReference: view.caseReference, ...auditDetail(entry) },
  };
}

/** A timeline entry's detail, minus free text (a withdrawal's reason stays in the query only). */
function auditDetail(entry: TimelineEntry): Record<string, string | number | boolean> {
  const { reason, ...detail } = entry.detail ?? {};
  if (entry.event === 'WITHDRAWN') return { ...detail, reasonGiven: reason !== undefined };
  return reason === undefined ? detail : { ...detail, reason };
}
