/**
 * Requests express or its body parser cannot take are the client's fault: 400 `BAD_REQUEST`
 * (413 `PAYLOAD_TOO_LARGE` over the limit), never 500 `INTERNAL` (issue 9, item 9): a path
 * parameter that is not valid percent-encoding, a body whose `Content-Encoding` it does not
 * decode as, an encoding or a charset the hub does not read.
 */
import { request as httpRequest } from 'node:http';
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tokenFor } from '../helpers/agencies.js';
import { startTestHub, type TestHub } from '../helpers/hub.js';

let testHub: TestHub;
let token: string;

beforeAll(async () => {
  testHub = await startTestHub();
  token = await tokenFor(testHub.agencies['UA-NPU']);
});
afterAll(() => testHub?.stop());

/**
 * Sends a raw request (the path as it is, no client-side normalisation or encoding) and
 * resolves with the status and the JSON body.
 */
function send(
  method: string,
  path: string,
  headers: Record<string, string> = {},
  body?: Buffer | string,
): Promise<{ status: number; body: unknown }> {
  const { hostname, port } = new URL(testHub.url);
  return new Promise((resolve, reject) => {
    const req = httpRequest({ hostname, port, method, path, headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString();
        resolve({ status: res.statusCode ?? 0, body: text ? JSON.parse(text) : undefined });
      });
    });
    req.on('error', reject);
    req.end(body);
  });
}

const badRequest = { status: 400, body: { error: { code: 'BAD_REQUEST', message: expect.any(String) } } };

describe('a path that is not valid percent-encoding', () => {
  it('GET /v1/queries/%ZZ is BAD_REQUEST, with a token or without', async () => {
    expect(await send('GET', '/v1/queries/%ZZ')).toEqual(badRequest);
    expect(await send('GET', '/v1/queries/%ZZ', { authorization: `Bearer ${token}` })).toEqual(badRequest);
    expect(await send('GET', '/v1/queries/%E0%A4%A', { authorization: `Bearer ${token}` })).toEqual(badRequest);
    expect(await send('GET', '/v1/queries/%')).toEqual(badRequest);
  });

  it('elsewhere, an odd percent-encoding is no server error either', async () => {
    for (const path of ['/%ZZ', '/v1/%ZZ', '/v1/queries?status=%ZZ', '/v1/queries/%00']) {
      const { status } = await send('GET', path, { authorization: `Bearer ${token}` });
      expect([400, 404], path).toContain(status);
    }
  });
});

describe('a body that does not decode', () => {
  const json = { 'content-type': 'application/json' };

  it('Content-Encoding: gzip with a body that is not gzip is BAD_REQUEST', async () => {
    expect(await send('POST', '/v1/whoami', { ...json, 'content-encoding': 'gzip' }, '{"a":1}')).toEqual(badRequest);
    // Gzip cut short.
    const cut = gzipSync(Buffer.from(JSON.stringify({ a: 'x'.repeat(1000) }))).subarray(0, 30);
    expect(await send('POST', '/v1/whoami', { ...json, 'content-encoding': 'gzip' }, cut)).toEqual(badRequest);
    expect(await send('POST', '/v1/whoami', { ...json, 'content-encoding': 'deflate' }, 'not deflate')).toEqual(
      badRequest,
    );
    expect(await send('POST', '/v1/whoami', { ...json, 'content-encoding': 'br' }, 'not brotli')).toEqual(badRequest);
  });

  it('a gzip body that decodes is read (the route answers), and one that inflates past the limit is PAYLOAD_TOO_LARGE', async () => {
    const good = gzipSync(Buffer.from(JSON.stringify({ a: 1 })));
    expect(await send('POST', '/v1/whoami', { ...json, 'content-encoding': 'gzip' }, good)).toMatchObject({
      status: 404,
      body: { error: { code: 'NOT_FOUND' } },
    });
    const bomb = gzipSync(Buffer.from(JSON.stringify({ a: 'x'.repeat(1024 * 1024) })));
    expect(bomb.length).toBeLessThan(64 * 1024);
    expect(await send('POST', '/v1/whoami', { ...json, 'content-encoding': 'gzip' }, bomb)).toMatchObject({
      status: 413,
      body: { error: { code: 'PAYLOAD_TOO_LARGE' } },
    });
  });

  it('an encoding or a charset the hub does not read, or a body that is not JSON, is BAD_REQUEST', async () => {
    expect(await send('POST', '/v1/whoami', { ...json, 'content-encoding': 'compress' }, '{}')).toEqual(badRequest);
    expect(await send('POST', '/v1/whoami', { 'content-type': 'application/json; charset=koi8-r' }, '{}')).toEqual(
      badRequest,
    );
    expect(await send('POST', '/v1/whoami', json, '{"a":')).toEqual(badRequest);
  });
});
