import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { chainAuditEvent, hashAuditEntry } from '../src/audit-chain.js';
import { AUDIT_EVENT_TYPES, type AuditEvent, digestAuditEntry, GENESIS_HASH } from '../src/audit-entry.js';

const scalar = fc.oneof(
  fc.string(),
  fc.integer(),
  fc.double({ noNaN: true, noDefaultInfinity: true }),
  fc.boolean(),
  fc.constant(null),
);
const event: fc.Arbitrary<AuditEvent> = fc.record({
  at: fc.nat(),
  type: fc.constantFrom(...AUDIT_EVENT_TYPES),
  actor: fc.oneof(
    fc.constant('hub' as const),
    fc.record({ agency: fc.string({ minLength: 1 }), officer: fc.string({ minLength: 1 }) }),
  ),
  agencies: fc.array(fc.string({ minLength: 1 }), { maxLength: 3 }),
  data: fc.dictionary(fc.string(), scalar, { maxKeys: 5 }),
});

describe('the two hashes of an audit entry', () => {
  it('agree: the hub chains with the Node hash what the verifier checks with WebCrypto', async () => {
    await fc.assert(
      fc.asyncProperty(event, fc.integer({ min: 1, max: 1_000_000 }), async (value, seq) => {
        const entry = chainAuditEvent(value, seq, GENESIS_HASH);
        expect(await digestAuditEntry(entry)).toBe(entry.hash);
        expect(await digestAuditEntry(entry)).toBe(hashAuditEntry(entry));
      }),
      { numRuns: 200 },
    );
  });

  it('is the SHA-256 of the canonical JSON without hash (a fixed vector, computed with sha256sum)', async () => {
    const entry = {
      hash: 'not covered by itself',
      type: 'auth.accepted',
      seq: 1,
      prev: GENESIS_HASH,
      at: 1,
      actor: 'hub',
      agencies: [],
      data: {},
    } as const;
    const expected = '8a00f47c3cb9c60b676be79f15ec67eb6fd4cf7b765dc590e66cdd7d2908d363';
    expect(await digestAuditEntry({ ...entry, agencies: [], data: {} })).toBe(expected);
    expect(hashAuditEntry({ ...entry, agencies: [], data: {} })).toBe(expected);
  });
});
