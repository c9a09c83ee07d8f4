import {
  type DeviceRef,
  deviceAddress,
  fromBase64url,
  type MembershipRecord,
  type OfficerRef,
  type SignedMembershipRecord,
} from '@ncp-hub/protocol';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  hashMembershipRecord,
  type MembershipChainResult,
  membershipSigningInput,
  signMembershipRecord,
  verifyMembershipChain,
} from '../src/index.js';
import { randomId, type TestDevice, testDevice } from './fixtures/crypto-test-devices.js';

let ivan: TestDevice;
let anna: TestDevice;
let max: TestDevice;
let eve: TestDevice;
let conv: string;
const basis = { type: 'formal-request', reference: 'MLA/2026/0117', caseReference: '12026000000000123' } as const;

beforeAll(async () => {
  ivan = await testDevice('UA-NPU', 'ivan', 'laptop');
  anna = await testDevice('PL-KGP', 'anna', 'phone');
  max = await testDevice('DE-BKA', 'max', 'laptop');
  eve = await testDevice('XX-EVIL', 'eve', 'laptop');
});

/** Keys the directory knows (eve's device is known too: she signs with a real key). */
const keyOf = async (by: DeviceRef) =>
  [ivan, anna, max, eve].find((device) => deviceAddress(device.ref) === deviceAddress(by))?.keys.signing.publicKey;

const verify = (records: SignedMembershipRecord[]) => verifyMembershipChain(records, keyOf);

function create(by: TestDevice, kind: 'direct' | 'group', members: OfficerRef[]): Promise<SignedMembershipRecord> {
  conv = randomId();
  return signMembershipRecord(
    { v: 1, conv, seq: 1, by: by.ref, ts: 1_000, op: 'create', prev: null, kind, basis, members },
    by.keys.signing.secretKey,
  );
}

async function change(
  previous: SignedMembershipRecord,
  by: TestDevice,
  op: 'add' | 'remove',
  member: OfficerRef,
  overrides: Partial<{ seq: number; prev: string; conv: string }> = {},
): Promise<SignedMembershipRecord> {
  const record: MembershipRecord = {
    v: 1,
    conv: overrides.conv ?? previous.record.conv,
    seq: overrides.seq ?? previous.record.seq + 1,
    by: by.ref,
    ts: previous.record.ts + 1,
    op,
    prev: overrides.prev ?? (await hashMembershipRecord(previous)),
    member,
  };
  return signMembershipRecord(record, by.keys.signing.secretKey);
}

const refused = (index: number, reason: string): MembershipChainResult =>
  ({ ok: false, index, reason }) as MembershipChainResult;

/** create {ivan, anna}, ivan adds max, max removes anna. */
async function validChain(): Promise<SignedMembershipRecord[]> {
  const r1 = await create(ivan, 'group', [ivan.officer, anna.officer]);
  const r2 = await change(r1, ivan, 'add', max.officer);
  const r3 = await change(r2, max, 'remove', anna.officer);
  return [r1, r2, r3];
}

describe('membership records', () => {
  it('sign over the context and the canonical record, and hash to 86 characters', async () => {
    const r1 = await create(ivan, 'group', [ivan.officer, anna.officer]);
    const input = membershipSigningInput(r1.record);
    expect(new TextDecoder().decode(input.subarray(0, 22))).toBe('ncp-hub/membership/v1\0');
    expect(fromBase64url(r1.sig)).toHaveLength(64);
    expect(await hashMembershipRecord(r1)).toMatch(/^[A-Za-z0-9_-]{86}$/);
  });

  it('refuses to sign an invalid record', async () => {
    const record = { v: 1, conv: 'short', seq: 1 } as unknown as MembershipRecord;
    await expect(signMembershipRecord(record, ivan.keys.signing.secretKey)).rejects.toThrow(TypeError);
  });
});

describe('verifyMembershipChain', () => {
  it('accepts create + add + remove and gives the members after the last record', async () => {
    const chain = await validChain();
    const result = await verify(chain);
    expect(result).toEqual({ ok: true, conv, kind: 'group', basis, members: [ivan.officer, max.officer] });
    expect(await verify(chain.slice(0, 2))).toMatchObject({
      ok: true,
      members: [ivan.officer, anna.officer, max.officer],
    });
  });

  it('accepts a member removing themselves, and a direct conversation that never changes', async () => {
    const r1 = await create(ivan, 'group', [ivan.officer, anna.officer]);
    const r2 = await change(r1, anna, 'remove', anna.officer);
    expect(await verify([r1, r2])).toMatchObject({ ok: true, members: [ivan.officer] });
    const direct = await create(anna, 'direct', [ivan.officer, anna.officer]);
    expect(await verify([direct])).toMatchObject({ ok: true, kind: 'direct' });
  });

  it('SIGNATURE_INVALID: a forged signature', async () => {
    const [r1, r2, r3] = await validChain();
    // eve signs a record in ivan's name.
    const forged = await signMembershipRecord({ ...(r2 as SignedMembershipRecord).record }, eve.keys.signing.secretKey);
    expect(await verify([r1 as SignedMembershipRecord, forged])).toEqual(refused(1, 'SIGNATURE_INVALID'));
    // The hub changes a signed record.
    const edited = structuredClone(r3 as SignedMembershipRecord);
    edited.record.ts += 1;
    expect(await verify([r1, r2, edited] as SignedMembershipRecord[])).toEqual(refused(2, 'SIGNATURE_INVALID'));
  });

  it('SIGNER_UNKNOWN: no key for the signer device', async () => {
    const chain = await validChain();
    expect(await verifyMembershipChain(chain, async () => undefined)).toEqual(refused(0, 'SIGNER_UNKNOWN'));
  });

  it('LINK: a broken prev link, or another conversation', async () => {
    const [r1, r2] = (await validChain()) as [SignedMembershipRecord, SignedMembershipRecord];
    const other = await create(anna, 'group', [ivan.officer, anna.officer]);
    const wrongPrev = await change(r1, ivan, 'add', max.officer, { prev: await hashMembershipRecord(other) });
    expect(await verify([r1, wrongPrev])).toEqual(refused(1, 'LINK'));
    const wrongConv = await change(r1, ivan, 'add', max.officer, { conv: randomId() });
    expect(await verify([r1, wrongConv])).toEqual(refused(1, 'LINK'));
    const r3 = await change(r2, ivan, 'remove', anna.officer);
    expect(await verify([r1, wrongPrev, r3])).toEqual(refused(1, 'LINK'));
  });

  it('SEQUENCE: a seq gap, reordered records, a create not numbered 1', async () => {
    const [r1, r2, r3] = (await validChain()) as [
      SignedMembershipRecord,
      SignedMembershipRecord,
      SignedMembershipRecord,
    ];
    const gap = await change(r1, ivan, 'add', max.officer, { seq: 3 });
    expect(await verify([r1, gap])).toEqual(refused(1, 'SEQUENCE'));
    expect(await verify([r1, r3, r2])).toEqual(refused(1, 'SEQUENCE'));
    expect(await verify([r2, r1])).toEqual(refused(0, 'SEQUENCE'));
    const late = await signMembershipRecord({ ...r1.record, seq: 2 }, ivan.keys.signing.secretKey);
    expect(await verify([late])).toEqual(refused(0, 'SEQUENCE'));
  });

  it('SIGNER_NOT_MEMBER: an add by a non-member, a create by someone outside it', async () => {
    const r1 = await create(ivan, 'group', [ivan.officer, anna.officer]);
    const selfInvite = await change(r1, eve, 'add', eve.officer);
    expect(await verify([r1, selfInvite])).toEqual(refused(1, 'SIGNER_NOT_MEMBER'));
    const outsiderCreate = await create(eve, 'group', [ivan.officer, anna.officer]);
    expect(await verify([outsiderCreate])).toEqual(refused(0, 'SIGNER_NOT_MEMBER'));
    const removed = await change(r1, ivan, 'remove', anna.officer);
    const afterRemoval = await change(removed, anna, 'add', max.officer);
    expect(await verify([r1, removed, afterRemoval])).toEqual(refused(2, 'SIGNER_NOT_MEMBER'));
  });

  it('OPERATION_INVALID: a ghost add in a direct conversation, and other impossible changes', async () => {
    const direct = await create(ivan, 'direct', [ivan.officer, anna.officer]);
    const ghost = await change(direct, ivan, 'add', max.officer);
    expect(await verify([direct, ghost])).toEqual(refused(1, 'OPERATION_INVALID'));
    const leaveDirect = await change(direct, ivan, 'remove', anna.officer);
    expect(await verify([direct, leaveDirect])).toEqual(refused(1, 'OPERATION_INVALID'));

    const r1 = await create(ivan, 'group', [ivan.officer, anna.officer]);
    expect(await verify([r1, await change(r1, ivan, 'add', anna.officer)])).toEqual(refused(1, 'OPERATION_INVALID'));
    expect(await verify([r1, await change(r1, ivan, 'remove', max.officer)])).toEqual(refused(1, 'OPERATION_INVALID'));
    const alone = await change(r1, anna, 'remove', anna.officer);
    expect(await verify([r1, alone, await change(alone, ivan, 'remove', ivan.officer)])).toEqual(
      refused(2, 'OPERATION_INVALID'),
    );

    expect(await verify([await create(ivan, 'group', [ivan.officer, anna.officer, ivan.officer])])).toEqual(
      refused(0, 'OPERATION_INVALID'),
    );
    expect(await verify([await create(ivan, 'direct', [ivan.officer, anna.officer, max.officer])])).toEqual(
      refused(0, 'OPERATION_INVALID'),
    );
    expect(await verify([await change(r1, ivan, 'add', max.officer)])).toEqual(refused(0, 'SEQUENCE'));
    const notCreate = await change(r1, ivan, 'add', max.officer, { seq: 1 });
    expect(await verify([notCreate])).toEqual(refused(0, 'OPERATION_INVALID'));
  });

  it('MALFORMED: an empty chain, a record off the schema, or text that is not as signed', async () => {
    expect(await verify([])).toEqual(refused(0, 'MALFORMED'));
    const [r1, r2] = (await validChain()) as [SignedMembershipRecord, SignedMembershipRecord];
    expect(await verify([r1, { ...r2, extra: 1 } as unknown as SignedMembershipRecord])).toEqual(
      refused(1, 'MALFORMED'),
    );
    expect(await verify([{ ...r1, sig: 'x' }])).toEqual(refused(0, 'MALFORMED'));
    // Basis texts may not have surrounding whitespace: a padded copy is refused, not normalised.
    const padded = structuredClone(r1);
    if (padded.record.op === 'create' && padded.record.basis.type === 'formal-request') {
      padded.record.basis.reference = ` ${padded.record.basis.reference} `;
    }
    expect(await verify([padded])).toEqual(refused(0, 'MALFORMED'));
  });
});
