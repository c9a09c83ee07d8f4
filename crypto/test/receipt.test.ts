import type { Receipt } from '@ncp-hub/protocol';
import { canonicalBytes, fromBase64url, toBase64url } from '@ncp-hub/protocol';
import { beforeAll, describe, expect, it } from 'vitest';
import { getSodium, receiptSigningInput, signReceipt, verifyReceipt } from '../src/index.js';
import { randomId, type TestDevice, testDevice } from './fixtures/crypto-test-devices.js';

const concatContext = (context: string, bytes: Uint8Array) =>
  Uint8Array.from([...new TextEncoder().encode(context), 0, ...bytes]);

let anna: TestDevice;
let ivan: TestDevice;
let receipt: Receipt;

beforeAll(async () => {
  anna = await testDevice('PL-KGP', 'anna', 'phone');
  ivan = await testDevice('UA-NPU', 'ivan', 'laptop');
  receipt = {
    v: 1,
    conv: randomId(),
    type: 'read',
    ids: [randomId(), randomId()],
    by: anna.ref,
    ts: 1_767_225_660_000,
  };
});

describe('receipts', () => {
  it('sign over the context and the canonical receipt, and verify with the signer key only', async () => {
    const signed = await signReceipt(receipt, anna.keys.signing.secretKey);
    expect(signed.receipt).toEqual(receipt);
    expect(fromBase64url(signed.sig)).toHaveLength(64);
    expect(new TextDecoder().decode(receiptSigningInput(receipt).subarray(0, 19))).toBe('ncp-hub/receipt/v1\0');
    expect(await verifyReceipt(signed, anna.keys.signing.publicKey)).toBe(true);
    expect(await verifyReceipt(signed, ivan.keys.signing.publicKey)).toBe(false);
  });

  it('do not verify once tampered', async () => {
    const signed = await signReceipt(receipt, anna.keys.signing.secretKey);
    const key = anna.keys.signing.publicKey;
    expect(await verifyReceipt({ ...signed, receipt: { ...receipt, type: 'delivered' } }, key)).toBe(false);
    expect(await verifyReceipt({ ...signed, receipt: { ...receipt, ids: [randomId()] } }, key)).toBe(false);
    expect(await verifyReceipt({ ...signed, receipt: { ...receipt, ts: receipt.ts + 1 } }, key)).toBe(false);
    expect(await verifyReceipt({ ...signed, receipt: { ...receipt, by: ivan.ref } }, key)).toBe(false);
    const sig = fromBase64url(signed.sig);
    sig[0] = (sig[0] as number) ^ 1;
    expect(await verifyReceipt({ ...signed, sig: toBase64url(sig) }, key)).toBe(false);
    expect(await verifyReceipt({ ...signed, extra: 1 } as typeof signed, key)).toBe(false);
    expect(await verifyReceipt(null as unknown as typeof signed, key)).toBe(false);
    expect(await verifyReceipt(signed, new Uint8Array(1))).toBe(false);
    // The same canonical bytes signed under another context (here: membership) do not verify.
    const sodium = await getSodium();
    const otherContext = concatContext('ncp-hub/membership/v1', canonicalBytes(receipt));
    const crossSig = toBase64url(sodium.crypto_sign_detached(otherContext, anna.keys.signing.secretKey));
    expect(await verifyReceipt({ receipt, sig: crossSig }, key)).toBe(false);
  });

  it('refuses to sign an invalid receipt', async () => {
    await expect(signReceipt({ ...receipt, ids: [] }, anna.keys.signing.secretKey)).rejects.toThrow(TypeError);
    await expect(signReceipt(receipt, new Uint8Array(32))).rejects.toThrow(TypeError);
  });
});
