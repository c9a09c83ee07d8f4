import type { DeviceAddress, Envelope } from '@ncp-hub/protocol';
import { canonicalBytes, fromBase64url, toBase64url } from '@ncp-hub/protocol';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  CryptoCheckError,
  envelopeSigningInput,
  getSodium,
  type MessageContent,
  openEnvelope,
  type Sodium,
  sealEnvelope,
  type UndecryptableReason,
  verifyEnvelopeSignature,
} from '../src/index.js';
import { randomId, type TestDevice, testDevice } from './fixtures/crypto-test-devices.js';

let sodium: Sodium;
let ivanLaptop: TestDevice;
let ivanPhone: TestDevice;
let annaPhone: TestDevice;
let annaTablet: TestDevice;
let outsider: TestDevice;

const SECRET_TEXT = 'Suspect boarded flight PS101 to Warsaw at 09:40.';
const content: MessageContent = { v: 1, type: 'text', text: SECRET_TEXT };

beforeAll(async () => {
  sodium = await getSodium();
  ivanLaptop = await testDevice('UA-NPU', 'ivan', 'laptop');
  ivanPhone = await testDevice('UA-NPU', 'ivan', 'phone');
  annaPhone = await testDevice('PL-KGP', 'anna', 'phone');
  annaTablet = await testDevice('PL-KGP', 'anna', 'tablet');
  outsider = await testDevice('DE-BKA', 'max', 'laptop');
});

const recipientOf = (device: TestDevice) => ({
  address: device.address,
  encryptionKey: device.keys.encryption.publicKey,
});

async function seal(overrides: { content?: MessageContent; seq?: number } = {}): Promise<Envelope> {
  return sealEnvelope({
    header: {
      id: randomId(),
      conv: randomId(),
      from: ivanLaptop.ref,
      ts: 1_767_225_600_000,
      seq: overrides.seq ?? 1,
      kind: 'chat',
    },
    content: overrides.content ?? content,
    recipients: [recipientOf(annaTablet), recipientOf(ivanPhone), recipientOf(annaPhone)],
    signingSecretKey: ivanLaptop.keys.signing.secretKey,
  });
}

function open(envelope: unknown, device: TestDevice = annaPhone, senderSigningKey = ivanLaptop.keys.signing.publicKey) {
  return openEnvelope({
    envelope,
    recipient: { address: device.address, encryption: device.keys.encryption },
    senderSigningKey,
  });
}

/** The envelope signed again by the sender: what a buggy or malicious sender could send. */
function resign(envelope: Envelope, signingSecretKey = ivanLaptop.keys.signing.secretKey): Envelope {
  return {
    ...envelope,
    sig: toBase64url(sodium.crypto_sign_detached(envelopeSigningInput(envelope), signingSecretKey)),
  };
}

/** Asserts that opening fails with `reason`, and that nothing of the content leaks in the error. */
async function expectRefused(promise: Promise<MessageContent>, reason: UndecryptableReason) {
  const error = await promise.then(
    (content) => {
      throw new Error(`expected ${reason}, got content of type ${content.type}`);
    },
    (error: unknown) => error,
  );
  expect(error).toBeInstanceOf(CryptoCheckError);
  expect((error as CryptoCheckError).reason).toBe(reason);
  expect((error as CryptoCheckError).cause).toBeUndefined();
  expect((error as CryptoCheckError).message).not.toContain('PS101');
}

const clone = (envelope: Envelope): Envelope => structuredClone(envelope);

function flipBit(text: string, byte = 0): string {
  const bytes = fromBase64url(text);
  bytes[byte] = (bytes[byte] as number) ^ 0x01;
  return toBase64url(bytes);
}

describe('sealEnvelope and openEnvelope', () => {
  it('round trip to several recipients, the sender’s second device included', async () => {
    const envelope = await seal();
    expect(envelope.header.v).toBe(1);
    expect(envelope.header.to).toEqual([annaPhone.address, annaTablet.address, ivanPhone.address]);
    expect(Object.keys(envelope.keys).sort()).toEqual(envelope.header.to);
    for (const device of [annaPhone, annaTablet, ivanPhone]) {
      expect(await open(envelope, device)).toEqual(content);
    }
    // The envelope survives a JSON round trip (as on the wire).
    expect(await open(JSON.parse(JSON.stringify(envelope)), ivanPhone)).toEqual(content);
  });

  it('keeps the hub-visible envelope free of the text', async () => {
    const envelope = await seal();
    expect(JSON.stringify(envelope)).not.toContain('PS101');
    expect(fromBase64url(envelope.ct)).toHaveLength(256 + 16);
    expect(fromBase64url(envelope.nonce)).toHaveLength(24);
    for (const sealed of Object.values(envelope.keys)) expect(fromBase64url(sealed)).toHaveLength(80);
    expect(fromBase64url(envelope.sig)).toHaveLength(64);
  });

  it('uses a new message key and nonce for every envelope', async () => {
    const [a, b] = [await seal(), await seal()];
    expect(a.nonce).not.toBe(b.nonce);
    expect(a.ct).not.toBe(b.ct);
  });

  it('merges duplicate recipients, refuses one address with two keys, and validates the header', async () => {
    const header = { id: randomId(), conv: randomId(), from: ivanLaptop.ref, ts: 1, seq: 1, kind: 'chat' as const };
    const signingSecretKey = ivanLaptop.keys.signing.secretKey;
    const merged = await sealEnvelope({
      header,
      content,
      recipients: [recipientOf(annaPhone), recipientOf(annaPhone)],
      signingSecretKey,
    });
    expect(merged.header.to).toEqual([annaPhone.address]);
    await expect(
      sealEnvelope({
        header,
        content,
        recipients: [
          recipientOf(annaPhone),
          { address: annaPhone.address, encryptionKey: outsider.keys.encryption.publicKey },
        ],
        signingSecretKey,
      }),
    ).rejects.toThrow(TypeError);
    await expect(sealEnvelope({ header, content, recipients: [], signingSecretKey })).rejects.toThrow(/to/);
    await expect(
      sealEnvelope({ header: { ...header, seq: 0 }, content, recipients: [recipientOf(annaPhone)], signingSecretKey }),
    ).rejects.toThrow(/seq/);
    await expect(
      sealEnvelope({
        header,
        content: { v: 1, type: 'text', text: '' },
        recipients: [recipientOf(annaPhone)],
        signingSecretKey,
      }),
    ).rejects.toThrow(/text/);
  });

  it('verifyEnvelopeSignature accepts the sender key only', async () => {
    const envelope = await seal();
    expect(await verifyEnvelopeSignature(envelope, ivanLaptop.keys.signing.publicKey)).toBe(true);
    expect(await verifyEnvelopeSignature(envelope, ivanPhone.keys.signing.publicKey)).toBe(false);
    expect(await verifyEnvelopeSignature({ ...envelope, sig: 'AAAA' }, ivanLaptop.keys.signing.publicKey)).toBe(false);
    expect(await verifyEnvelopeSignature(envelope, new Uint8Array(3))).toBe(false);
  });
});

describe('openEnvelope refuses', () => {
  it('MALFORMED: not an envelope, extra fields, keys not matching header.to, non-canonical base64url', async () => {
    const envelope = await seal();
    await expectRefused(open(null), 'MALFORMED');
    await expectRefused(open('envelope'), 'MALFORMED');
    await expectRefused(open({ ...envelope, extra: 1 }), 'MALFORMED');
    await expectRefused(open({ ...envelope, header: { ...envelope.header, v: 2 } }), 'MALFORMED');
    await expectRefused(
      open({ ...envelope, header: { ...envelope.header, to: [...envelope.header.to].reverse() } }),
      'MALFORMED',
    );
    const withoutKey = clone(envelope);
    delete withoutKey.keys[annaTablet.address];
    await expectRefused(open(withoutKey), 'MALFORMED');
    // ct is 272 bytes: 363 characters, the last with 2 unused bits. Setting one gives another
    // encoding of the same bytes, which a lenient decoder would accept.
    const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
    expect(envelope.ct).toHaveLength(363);
    const last = alphabet.indexOf(envelope.ct.at(-1) as string);
    await expectRefused(open({ ...envelope, ct: `${envelope.ct.slice(0, -1)}${alphabet[last | 1]}` }), 'MALFORMED');
    await expectRefused(open({ ...envelope, ct: `${envelope.ct}=` }), 'MALFORMED');
  });

  it('SIGNATURE_INVALID: a flipped bit of ct', async () => {
    const envelope = await seal();
    await expectRefused(open({ ...envelope, ct: flipBit(envelope.ct, 10) }), 'SIGNATURE_INVALID');
  });

  it('SIGNATURE_INVALID: a changed header.ts, header.from, header.conv or header.seq', async () => {
    const envelope = await seal();
    const h = envelope.header;
    await expectRefused(open({ ...envelope, header: { ...h, ts: h.ts + 1 } }), 'SIGNATURE_INVALID');
    await expectRefused(open({ ...envelope, header: { ...h, from: ivanPhone.ref } }), 'SIGNATURE_INVALID');
    await expectRefused(open({ ...envelope, header: { ...h, conv: randomId() } }), 'SIGNATURE_INVALID');
    await expectRefused(open({ ...envelope, header: { ...h, seq: h.seq + 1 } }), 'SIGNATURE_INVALID');
    // header.from names the phone, but the laptop signed: the phone's key does not verify.
    await expectRefused(
      open({ ...envelope, header: { ...h, from: ivanPhone.ref } }, annaPhone, ivanPhone.keys.signing.publicKey),
      'SIGNATURE_INVALID',
    );
  });

  it('SIGNATURE_INVALID: a recipient removed from both header.to and keys', async () => {
    const envelope = await seal();
    const fewer = clone(envelope);
    delete fewer.keys[annaTablet.address];
    fewer.header.to = fewer.header.to.filter((address) => address !== annaTablet.address);
    await expectRefused(open(fewer), 'SIGNATURE_INVALID');
    await expectRefused(open(fewer, annaTablet), 'SIGNATURE_INVALID');
  });

  it('SIGNATURE_INVALID: a sealed key replaced by one sealed to another key', async () => {
    const envelope = await seal();
    const swapped = clone(envelope);
    swapped.keys[annaPhone.address] = toBase64url(
      sodium.crypto_box_seal(sodium.crypto_aead_xchacha20poly1305_ietf_keygen(), annaPhone.keys.encryption.publicKey),
    );
    await expectRefused(open(swapped), 'SIGNATURE_INVALID');
  });

  it('SIGNATURE_INVALID: the signature of another envelope, or the wrong sender key', async () => {
    const [a, b] = [await seal(), await seal()];
    await expectRefused(open({ ...a, sig: b.sig }), 'SIGNATURE_INVALID');
    await expectRefused(open(a, annaPhone, outsider.keys.signing.publicKey), 'SIGNATURE_INVALID');
    await expectRefused(open(a, annaPhone, new Uint8Array(5)), 'SIGNATURE_INVALID');
  });

  it('NOT_A_RECIPIENT: a device that is not in header.to', async () => {
    const envelope = await seal();
    await expectRefused(open(envelope, outsider), 'NOT_A_RECIPIENT');
    await expectRefused(open(envelope, ivanLaptop), 'NOT_A_RECIPIENT');
  });

  it('DECRYPT_FAILED: signed by the sender, but a sealed key for another key', async () => {
    const envelope = await seal();
    const wrong = clone(envelope);
    wrong.keys[annaPhone.address] = envelope.keys[annaTablet.address] as string;
    await expectRefused(open(resign(wrong)), 'DECRYPT_FAILED');
    // The other recipients are not affected.
    expect(await open(resign(wrong), annaTablet)).toEqual(content);
  });

  it('DECRYPT_FAILED: signed by the sender, but ct or the header (the AD) changed', async () => {
    const envelope = await seal();
    await expectRefused(open(resign({ ...envelope, ct: flipBit(envelope.ct, 3) })), 'DECRYPT_FAILED');
    await expectRefused(open(resign({ ...envelope, ct: flipBit(envelope.ct, 260) })), 'DECRYPT_FAILED');
    await expectRefused(
      open(resign({ ...envelope, header: { ...envelope.header, ts: envelope.header.ts + 1 } })),
      'DECRYPT_FAILED',
    );
    await expectRefused(open(resign({ ...envelope, nonce: flipBit(envelope.nonce) })), 'DECRYPT_FAILED');
  });

  it('CONTENT_INVALID: a correctly encrypted plaintext that is not a valid content', async () => {
    const envelope = await seal();
    const messageKey = sodium.crypto_box_seal_open(
      fromBase64url(envelope.keys[annaPhone.address] as string),
      annaPhone.keys.encryption.publicKey,
      annaPhone.keys.encryption.secretKey,
    );
    const encryptAs = (plaintext: Uint8Array) =>
      resign({
        ...envelope,
        ct: toBase64url(
          sodium.crypto_aead_xchacha20poly1305_ietf_encrypt(
            plaintext,
            canonicalBytes(envelope.header),
            null,
            fromBase64url(envelope.nonce),
            messageKey,
          ),
        ),
      });
    const padded = (text: string) => sodium.pad(new TextEncoder().encode(text), 256);
    await expectRefused(open(encryptAs(new TextEncoder().encode('PS101 unpadded'))), 'CONTENT_INVALID');
    await expectRefused(open(encryptAs(padded('PS101 not json'))), 'CONTENT_INVALID');
    await expectRefused(open(encryptAs(padded('{"v":1,"type":"image","text":"PS101"}'))), 'CONTENT_INVALID');
    await expectRefused(open(encryptAs(padded('{"v":2,"type":"text","text":"PS101"}'))), 'CONTENT_INVALID');
    await expectRefused(open(encryptAs(new Uint8Array(256))), 'CONTENT_INVALID');
    expect(await open(encryptAs(padded('{"v":1,"type":"text","text":"ok"}')))).toEqual({
      v: 1,
      type: 'text',
      text: 'ok',
    });
  });

  it('each check in order: malformed before signature, signature before recipient', async () => {
    const envelope = await seal();
    const tampered = { ...envelope, ct: flipBit(envelope.ct, 10) };
    await expectRefused(open(tampered, outsider), 'SIGNATURE_INVALID');
    await expectRefused(open({ ...tampered, extra: true }, outsider), 'MALFORMED');
  });

  it('throws a TypeError for own keys of the wrong size', async () => {
    const envelope = await seal();
    await expect(
      openEnvelope({
        envelope,
        recipient: {
          address: annaPhone.address as DeviceAddress,
          encryption: { publicKey: new Uint8Array(2), secretKey: new Uint8Array(2) },
        },
        senderSigningKey: ivanLaptop.keys.signing.publicKey,
      }),
    ).rejects.toThrow(TypeError);
  });
});
