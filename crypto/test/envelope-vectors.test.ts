import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { canonicalJson, type DeviceAddress, fromBase64url, SIGNATURE_CONTEXTS, toBase64url } from '@ncp-hub/protocol';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  decodeContent,
  deviceFingerprint,
  encodeContent,
  getSodium,
  hashMembershipRecord,
  openEnvelope,
  type Sodium,
  safetyNumber,
  sealEnvelope,
  signMembershipRecord,
  signReceipt,
  verifyEnvelopeSignature,
  verifyMembershipChain,
  verifyReceipt,
} from '../src/index.js';
import { buildEnvelopeVectors, type EnvelopeVectors } from './fixtures/build-envelope-vectors.js';

// TEST VECTORS ONLY. Regenerate (after a deliberate format change) with
//   WRITE_VECTORS=1 npx vitest run crypto/test/envelope-vectors.test.ts
//   npx biome format --write crypto/test/fixtures/envelope-v1.json
const FIXTURE = fileURLToPath(new URL('./fixtures/envelope-v1.json', import.meta.url));

let sodium: Sodium;
let vectors: EnvelopeVectors;

const fromHex = (text: string) => Uint8Array.from(text.match(/../g) ?? [], (pair) => Number.parseInt(pair, 16));
const utf8 = (text: string) => new TextEncoder().encode(text);
const u32be = (n: number) => Uint8Array.of(n >>> 24, (n >>> 16) & 0xff, (n >>> 8) & 0xff, n & 0xff);
const concat = (...parts: Uint8Array[]) => Uint8Array.from(parts.flatMap((part) => [...part]));

beforeAll(async () => {
  sodium = await getSodium();
  if (process.env.WRITE_VECTORS) {
    writeFileSync(FIXTURE, `${JSON.stringify(await buildEnvelopeVectors(), null, 2)}\n`);
  }
  vectors = JSON.parse(readFileSync(FIXTURE, 'utf8')) as EnvelopeVectors;
});

describe('envelope v1 test vectors', () => {
  it('are labelled as test vectors only', () => {
    expect(vectors.description).toMatch(/^TEST VECTORS ONLY/);
  });

  it('are exactly what the SDK builds today (deterministic)', async () => {
    expect(await buildEnvelopeVectors()).toEqual(vectors);
  });

  it('derive every device key from its seed', () => {
    for (const device of Object.values(vectors.devices)) {
      const sign = sodium.crypto_sign_seed_keypair(fromHex(device.signingSeed));
      const box = sodium.crypto_box_seed_keypair(fromHex(device.encryptionSeed));
      expect(toBase64url(sign.publicKey)).toBe(device.signingPublicKey);
      expect(toBase64url(sign.privateKey)).toBe(device.signingSecretKey);
      expect(toBase64url(box.publicKey)).toBe(device.encryptionPublicKey);
      expect(toBase64url(box.privateKey)).toBe(device.encryptionSecretKey);
    }
  });

  it('give the same canonical header, padded plaintext, ct and signature', async () => {
    const { envelope: e, devices } = vectors;
    expect(canonicalJson(e.header)).toBe(e.canonicalHeader);
    expect(e.canonicalHeader.startsWith('{"conv":')).toBe(true);
    expect(canonicalJson(e.content)).toBe(e.canonicalContent);
    expect(toBase64url(await encodeContent(e.content))).toBe(e.paddedPlaintext);
    expect(await decodeContent(fromBase64url(e.paddedPlaintext))).toEqual(e.content);

    const { v: _v, to: _to, ...header } = e.header;
    const sealed = await sealEnvelope({
      header,
      content: e.content,
      recipients: [devices.recipientB, devices.recipientA].map((device) => ({
        address: device.address,
        encryptionKey: fromBase64url(device.encryptionPublicKey),
      })),
      signingSecretKey: fromBase64url(devices.sender.signingSecretKey),
      messageKey: fromBase64url(e.messageKey),
      nonce: fromBase64url(e.nonce),
    });
    expect(sealed.header).toEqual(e.header);
    expect(sealed.nonce).toBe(e.nonce);
    expect(sealed.ct).toBe(e.ct);
    // Its sealed keys are random, so its signature differs; it verifies all the same.
    expect(await verifyEnvelopeSignature(sealed, fromBase64url(devices.sender.signingPublicKey))).toBe(true);

    // The AEAD, by hand.
    const ct = sodium.crypto_aead_xchacha20poly1305_ietf_encrypt(
      fromBase64url(e.paddedPlaintext),
      utf8(e.canonicalHeader),
      null,
      fromBase64url(e.nonce),
      fromBase64url(e.messageKey),
    );
    expect(toBase64url(ct)).toBe(e.ct);

    // The signing input, by hand, from docs/PROTOCOL.md section 9.3.6.
    const H = utf8(e.canonicalHeader);
    const W = utf8(e.canonicalKeys);
    const input = concat(
      utf8(SIGNATURE_CONTEXTS.envelope),
      Uint8Array.of(0),
      u32be(H.length),
      H,
      fromBase64url(e.nonce),
      u32be(ct.length),
      ct,
      u32be(W.length),
      W,
    );
    expect(toBase64url(input)).toBe(e.signingInput);
    expect(canonicalJson(e.envelope.keys)).toBe(e.canonicalKeys);
    expect(toBase64url(sodium.crypto_sign_detached(input, fromBase64url(devices.sender.signingSecretKey)))).toBe(
      e.signature,
    );
    expect(e.envelope.sig).toBe(e.signature);
    expect(e.envelope).toEqual({ header: e.header, nonce: e.nonce, ct: e.ct, keys: e.envelope.keys, sig: e.signature });
  });

  it('seal the message key to each recipient, as crypto_box_seal does', () => {
    const { envelope: e, devices } = vectors;
    for (const device of [devices.recipientA, devices.recipientB]) {
      const vector = e.sealedKeys[device.address];
      if (!vector) throw new Error(`no sealed key for ${device.address}`);
      expect(e.envelope.keys[device.address as DeviceAddress]).toBe(vector.sealed);
      const opened = sodium.crypto_box_seal_open(
        fromBase64url(vector.sealed),
        fromBase64url(device.encryptionPublicKey),
        fromBase64url(device.encryptionSecretKey),
      );
      expect(toBase64url(opened)).toBe(e.messageKey);
      const ephemeral = sodium.crypto_box_seed_keypair(fromHex(vector.ephemeralSeed));
      expect(toBase64url(ephemeral.publicKey)).toBe(vector.ephemeralPublicKey);
      const nonce = sodium.crypto_generichash(
        24,
        concat(ephemeral.publicKey, fromBase64url(device.encryptionPublicKey)),
        null,
      );
      expect(toBase64url(nonce)).toBe(vector.sealNonce);
    }
    expect(Object.keys(e.envelope.keys)).toHaveLength(2);
  });

  it('open for both recipients, the sender’s second device included', async () => {
    const { envelope: e, devices } = vectors;
    for (const device of [devices.recipientA, devices.recipientB]) {
      const content = await openEnvelope({
        envelope: e.envelope,
        recipient: {
          address: device.address,
          encryption: {
            publicKey: fromBase64url(device.encryptionPublicKey),
            secretKey: fromBase64url(device.encryptionSecretKey),
          },
        },
        senderSigningKey: fromBase64url(devices.sender.signingPublicKey),
      });
      expect(content).toEqual(e.content);
    }
  });

  it('sign and hash the membership record', async () => {
    const { membership: m, devices } = vectors;
    expect(canonicalJson(m.record)).toBe(m.canonicalRecord);
    const input = concat(utf8(SIGNATURE_CONTEXTS.membership), Uint8Array.of(0), utf8(m.canonicalRecord));
    expect(toBase64url(input)).toBe(m.signingInput);
    const signed = await signMembershipRecord(m.record, fromBase64url(devices.sender.signingSecretKey));
    expect(signed.sig).toBe(m.signature);
    expect(signed).toEqual(m.signed);
    expect(toBase64url(sodium.crypto_hash(utf8(canonicalJson(m.signed))))).toBe(m.hash);
    expect(await hashMembershipRecord(m.signed)).toBe(m.hash);
    expect(m.hash).toHaveLength(86);
    const chain = await verifyMembershipChain([m.signed], async () => fromBase64url(devices.sender.signingPublicKey));
    expect(chain).toMatchObject({ ok: true, conv: m.record.conv, kind: 'group' });
  });

  it('sign the receipt', async () => {
    const { receipt: r, devices } = vectors;
    expect(canonicalJson(r.receipt)).toBe(r.canonicalReceipt);
    const input = concat(utf8(SIGNATURE_CONTEXTS.receipt), Uint8Array.of(0), utf8(r.canonicalReceipt));
    expect(toBase64url(input)).toBe(r.signingInput);
    const signed = await signReceipt(r.receipt, fromBase64url(devices.recipientA.signingSecretKey));
    expect(signed.sig).toBe(r.signature);
    expect(signed).toEqual(r.signed);
    expect(await verifyReceipt(r.signed, fromBase64url(devices.recipientA.signingPublicKey))).toBe(true);
  });

  it('give the device fingerprint and the safety number', async () => {
    const { fingerprints: f, devices } = vectors;
    expect(await deviceFingerprint(fromBase64url(devices.sender.signingPublicKey))).toBe(f.senderDevice);
    const a = { officer: f.safetyNumber.a.officer, signingKeys: f.safetyNumber.a.signingKeys.map(fromBase64url) };
    const b = { officer: f.safetyNumber.b.officer, signingKeys: f.safetyNumber.b.signingKeys.map(fromBase64url) };
    expect(await safetyNumber(a, b)).toBe(f.safetyNumber.number);
    expect(await safetyNumber(b, a)).toBe(f.safetyNumber.number);
    expect(f.senderDevice).toMatch(/^\d{5}( \d{5}){11}$/);
    expect(f.safetyNumber.number).toMatch(/^\d{5}( \d{5}){11}$/);
  });
});
