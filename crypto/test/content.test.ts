import { describe, expect, it } from 'vitest';
import {
  CryptoCheckError,
  decodeContent,
  encodeContent,
  getSodium,
  MAX_TEXT_LENGTH,
  type MessageContent,
} from '../src/index.js';

const text = (value: string): MessageContent => ({ v: 1, type: 'text', text: value });

async function expectContentInvalid(bytes: Uint8Array) {
  await expect(decodeContent(bytes)).rejects.toSatisfy(
    (error) => error instanceof CryptoCheckError && error.reason === 'CONTENT_INVALID' && error.cause === undefined,
  );
}

describe('message content', () => {
  it('pads 1-character and 200-character texts to the same length', async () => {
    const short = await encodeContent(text('x'));
    const long = await encodeContent(text('y'.repeat(200)));
    expect(short).toHaveLength(256);
    expect(long).toHaveLength(256);
    expect((await encodeContent(text('z'.repeat(300)))).length).toBe(512);
  });

  it('encodes canonical JSON, then 0x80 and zeros, and decodes back', async () => {
    const bytes = await encodeContent(text('Привіт'));
    const json = '{"text":"Привіт","type":"text","v":1}';
    const length = new TextEncoder().encode(json).length;
    expect(new TextDecoder().decode(bytes.subarray(0, length))).toBe(json);
    expect(bytes[length]).toBe(0x80);
    expect(bytes.subarray(length + 1).every((byte) => byte === 0)).toBe(true);
    expect(await decodeContent(bytes)).toEqual(text('Привіт'));
  });

  it('adds a whole block when the JSON fills one exactly', async () => {
    // 256 - 31 = 225 characters make the JSON exactly 256 bytes.
    const bytes = await encodeContent(text('a'.repeat(225)));
    expect(bytes).toHaveLength(512);
    expect(await decodeContent(bytes)).toEqual(text('a'.repeat(225)));
  });

  it('refuses to encode invalid content', async () => {
    await expect(encodeContent(text(''))).rejects.toThrow(TypeError);
    await expect(encodeContent(text('a'.repeat(MAX_TEXT_LENGTH + 1)))).rejects.toThrow(TypeError);
    await expect(encodeContent(text('lone \ud800 surrogate'))).rejects.toThrow(TypeError);
    await expect(encodeContent({ v: 1, type: 'text', text: 'x', extra: 1 } as MessageContent)).rejects.toThrow(
      TypeError,
    );
    expect(await encodeContent(text('a'.repeat(MAX_TEXT_LENGTH)))).toHaveLength(32_768 + 256);
  });

  it('refuses to decode anything but a valid padded content', async () => {
    const sodium = await getSodium();
    const pad = (value: string) => sodium.pad(new TextEncoder().encode(value), 256);
    await expectContentInvalid(new Uint8Array(0));
    await expectContentInvalid(new Uint8Array(255));
    await expectContentInvalid(new Uint8Array(256));
    await expectContentInvalid(new TextEncoder().encode('{"v":1,"type":"text","text":"x"}'));
    await expectContentInvalid(pad('not json'));
    await expectContentInvalid(pad('{"v":1,"type":"text","text":""}'));
    await expectContentInvalid(pad('{"v":1,"type":"file","name":"x"}'));
    await expectContentInvalid(pad('{"v":1,"type":"text","text":"x","more":1}'));
    await expectContentInvalid(pad('\ufeff{"v":1,"type":"text","text":"x"}'));
    await expectContentInvalid(sodium.pad(new Uint8Array([0x7b, 0xff, 0x7d]), 256));
    expect(await decodeContent(pad('{ "v": 1, "type": "text", "text": "x" }'))).toEqual(text('x'));
  });

  it('refuses content with a member named twice, however the name is written', async () => {
    const sodium = await getSodium();
    const pad = (value: string) => sodium.pad(new TextEncoder().encode(value), 256);
    await expectContentInvalid(pad('{"v":1,"type":"text","text":"a","text":"dup"}'));
    await expectContentInvalid(pad('{"v":1,"type":"text","text":"a","\\u0074ext":"dup"}'));
    await expectContentInvalid(pad('{"v":1,"v":1,"type":"text","text":"a"}'));
    await expectContentInvalid(pad('{ "type" : "text", "v":1, "text":"a" , "type":"text"}'));
    // The same name in a string value, or escaped quotes, is not a member.
    expect(await decodeContent(pad('{"v":1,"type":"text","text":"\\"text\\": \\"x\\", {\\"text\\""}'))).toEqual(
      text('"text": "x", {"text"'),
    );
  });
});
