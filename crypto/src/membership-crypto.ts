import type { ConversationId } from '@ncp-hub/protocol';
import {
  type ConversationBasis,
  type ConversationKind,
  canonicalBytes,
  canonicalJson,
  type DeviceRef,
  MAX_CONVERSATION_MEMBERS,
  type MembershipRecord,
  membershipRecordSchema,
  type OfficerRef,
  officerAddress,
  SIGNATURE_CONTEXTS,
  type SignedMembershipRecord,
  signedMembershipRecordSchema,
  toBase64url,
} from '@ncp-hub/protocol';
import { concatBytes, contextPrefix } from './bytes.js';
import { DEVICE_KEY_SIZES } from './device-keys.js';
import { assertBytes, inputError } from './input-error.js';
import { getSodium } from './sodium.js';
import { verifyDetached } from './sodium-failures.js';

/**
 * The bytes a member device signs for a membership record:
 * `ASCII("ncp-hub/membership/v1") || 0x00 || UTF-8(RFC 8785 canonical JSON of record)`.
 *
 * @example
 * ```ts
 * const input = membershipSigningInput(signed.record);
 * sodium.crypto_sign_verify_detached(fromBase64url(signed.sig), input, signerKey);
 * ```
 */
export function membershipSigningInput(record: MembershipRecord): Uint8Array {
  return concatBytes(contextPrefix(SIGNATURE_CONTEXTS.membership), canonicalBytes(record));
}

/**
 * Signs `record` with the Ed25519 secret key of `record.by`'s device. The record is
 * validated first (a `TypeError` names the invalid fields); send the returned object as it
 * is, since it is exactly what was signed.
 *
 * @example
 * ```ts
 * const signed = await signMembershipRecord(
 *   { v: 1, conv, seq: 2, prev: await hashMembershipRecord(last), by: me, ts: Date.now(), op: 'add', member: { agency: 'PL-KGP', officer: 'anna' } },
 *   myKeys.signing.secretKey,
 * );
 * ```
 */
export async function signMembershipRecord(
  record: MembershipRecord,
  signingSecretKey: Uint8Array,
): Promise<SignedMembershipRecord> {
  assertBytes('signMembershipRecord: signingSecretKey', signingSecretKey, DEVICE_KEY_SIZES.signingSecretKey);
  const parsed = membershipRecordSchema.safeParse(record);
  if (!parsed.success) throw inputError('signMembershipRecord: record', parsed.error);
  const sodium = await getSodium();
  const sig = sodium.crypto_sign_detached(membershipSigningInput(parsed.data), signingSecretKey);
  return { record: parsed.data, sig: toBase64url(sig) };
}

/**
 * The hash that the next record's `prev` must hold:
 * `base64url(SHA-512(UTF-8(RFC 8785 canonical JSON of { record, sig })))`, 86 characters.
 *
 * @example
 * ```ts
 * const prev = await hashMembershipRecord(records[records.length - 1]);
 * ```
 */
export async function hashMembershipRecord(signed: SignedMembershipRecord): Promise<string> {
  const sodium = await getSodium();
  return toBase64url(sodium.crypto_hash(canonicalBytes(signed)));
}

/** Whether `a` and `b` have the same canonical JSON (false when either has none). */
function sameCanonicalJson(a: unknown, b: unknown): boolean {
  try {
    return canonicalJson(a) === canonicalJson(b);
  } catch {
    return false;
  }
}

/** Why a membership chain was refused; see {@link verifyMembershipChain}. */
export type MembershipChainFailure =
  | 'MALFORMED'
  | 'SEQUENCE'
  | 'LINK'
  | 'SIGNER_NOT_MEMBER'
  | 'SIGNER_UNKNOWN'
  | 'SIGNATURE_INVALID'
  | 'OPERATION_INVALID';

/** The result of {@link verifyMembershipChain}. */
export type MembershipChainResult =
  | { ok: true; conv: ConversationId; kind: ConversationKind; basis: ConversationBasis; members: OfficerRef[] }
  | { ok: false; index: number; reason: MembershipChainFailure };

/**
 * Verifies a conversation's whole membership chain and returns its members after the last
 * record. Each record `i` (0-based) is checked in this order; the first failure is returned
 * with its index:
 *
 * 1. `MALFORMED` — not a signed membership record (schema), or not in the form the schema
 *    produces (e.g. untrimmed text: the bytes must be exactly those signed and hashed);
 *    also index 0 of an empty chain;
 * 2. `SEQUENCE` — `seq` is not `i + 1`;
 * 3. `LINK` — (i > 0) another `conv` than record 0, or `prev` is not
 *    {@link hashMembershipRecord} of record `i - 1`;
 * 4. `OPERATION_INVALID` — record 0 is not a `create`, or a later one is;
 * 5. `SIGNER_NOT_MEMBER` — the `by` officer is not a member just before the record (for
 *    `create`: not among its members). A member may remove themselves;
 * 6. `OPERATION_INVALID` — `create` with a repeated member, or of a direct conversation
 *    without exactly two members; any change to a direct conversation; `add` of a member
 *    or beyond {@link MAX_CONVERSATION_MEMBERS}; `remove` of a non-member or of the last
 *    member;
 * 7. `SIGNER_UNKNOWN` — `signingKeyOf(by)` gives no key;
 * 8. `SIGNATURE_INVALID` — `sig` is not the Ed25519 signature of
 *    {@link membershipSigningInput} by that key.
 *
 * @example
 * ```ts
 * const chain = await verifyMembershipChain(conversation.records, async (by) => verifiedSigningKeys.get(deviceAddress(by)));
 * if (!chain.ok) console.warn(`membership record ${chain.index}: ${chain.reason}`);
 * ```
 */
export async function verifyMembershipChain(
  records: readonly SignedMembershipRecord[],
  signingKeyOf: (by: DeviceRef) => Promise<Uint8Array | undefined>,
): Promise<MembershipChainResult> {
  const sodium = await getSodium();
  const fail = (index: number, reason: MembershipChainFailure): MembershipChainResult => ({
    ok: false,
    index,
    reason,
  });
  if (!Array.isArray(records) || records.length === 0) return fail(0, 'MALFORMED');

  let first: Extract<MembershipRecord, { op: 'create' }> | undefined;
  let previous: SignedMembershipRecord | undefined;
  const members = new Map<string, OfficerRef>();

  for (let i = 0; i < records.length; i++) {
    const parsed = signedMembershipRecordSchema.safeParse(records[i]);
    if (!parsed.success || !sameCanonicalJson(parsed.data, records[i])) return fail(i, 'MALFORMED');
    const signed = parsed.data;
    const { record } = signed;

    if (record.seq !== i + 1) return fail(i, 'SEQUENCE');
    if (previous !== undefined && first !== undefined) {
      if (record.conv !== first.conv || record.prev !== (await hashMembershipRecord(previous))) return fail(i, 'LINK');
    }

    const signer = officerAddress(record.by);
    if (record.op === 'create') {
      if (i !== 0) return fail(i, 'OPERATION_INVALID');
      for (const member of record.members) members.set(officerAddress(member), member);
      if (!members.has(signer)) return fail(i, 'SIGNER_NOT_MEMBER');
      if (members.size !== record.members.length) return fail(i, 'OPERATION_INVALID');
      if (record.kind === 'direct' && members.size !== 2) return fail(i, 'OPERATION_INVALID');
      first = record;
    } else {
      if (first === undefined) return fail(i, 'OPERATION_INVALID');
      if (!members.has(signer)) return fail(i, 'SIGNER_NOT_MEMBER');
      if (first.kind !== 'group') return fail(i, 'OPERATION_INVALID');
      const target = officerAddress(record.member);
      if (record.op === 'add') {
        if (members.has(target) || members.size >= MAX_CONVERSATION_MEMBERS) return fail(i, 'OPERATION_INVALID');
        members.set(target, record.member);
      } else {
        if (!members.has(target) || members.size === 1) return fail(i, 'OPERATION_INVALID');
        members.delete(target);
      }
    }

    const key = await signingKeyOf(record.by);
    if (key === undefined) return fail(i, 'SIGNER_UNKNOWN');
    if (!verifyDetached(sodium, signed.sig, membershipSigningInput(record), key)) return fail(i, 'SIGNATURE_INVALID');
    previous = signed;
  }

  const created = first as Extract<MembershipRecord, { op: 'create' }>;
  return { ok: true, conv: created.conv, kind: created.kind, basis: created.basis, members: [...members.values()] };
}
