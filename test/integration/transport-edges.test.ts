/**
 * The edges of the transport a hostile client reaches below the Socket.IO client and express
 * (issue 9, fuzzer findings; PROTOCOL §1, §8): a client's own DISCONNECT of the namespace
 * closes its Engine.IO connection (it was left open, answering pings, holding a socket); a
 * request Node's HTTP parser refuses is answered `400` with the hub's JSON error body and the
 * connection closed (it was a bare `400 Bad Request`); a packet with more binary attachments
 * than Socket.IO takes (10) closes the connection without an answer, one with 10 is answered.
 * Raw Engine.IO frames and raw TCP against the real hub.
 */
import { once } from 'node:events';
import { connect as connectTcp } from 'node:net';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { tokenFor } from '../helpers/agencies.js';
import { startTestHub, type TestHub } from '../helpers/hub.js';
import { openRawEngine, type RawEngine } from '../helpers/raw-engine.js';
import { waitFor } from '../helpers/wait-for.js';

let hub: TestHub;
const engines: RawEngine[] = [];
beforeAll(async () => {
  hub = await startTestHub();
});
afterEach(() => {
  for (const { engine } of engines.splice(0)) engine.close();
});
afterAll(() => hub?.stop());

let officers = 0;
async function rawConnection(): Promise<RawEngine> {
  officers += 1;
  const token = await tokenFor(hub.agencies['UA-NPU'], { officer: `ua.edges.${officers}` });
  const raw = await openRawEngine(hub.url, { token });
  engines.push(raw);
  return raw;
}

/** The answer to ack id `id` on `raw`, once it came. */
async function answerTo(raw: RawEngine, id: number): Promise<unknown> {
  const answer = await waitFor(() => raw.received.find((message) => message.startsWith(`3${id}[`)));
  return (JSON.parse((answer as string).slice(`3${id}`.length)) as unknown[])[0];
}

/** Sends `request` on a raw TCP connection and resolves with everything the hub wrote before it closed. */
async function rawHttp(request: string | Buffer): Promise<string> {
  const { port } = new URL(hub.url);
  const socket = connectTcp(Number(port), '127.0.0.1');
  await once(socket, 'connect');
  const chunks: Buffer[] = [];
  socket.on('data', (chunk: Buffer) => chunks.push(chunk));
  const closed = once(socket, 'close');
  socket.write(request);
  await closed;
  return Buffer.concat(chunks).toString('utf8');
}

/** The status line, headers (lower-case names) and JSON body of a raw HTTP answer. */
function parseAnswer(raw: string) {
  const [head = '', body = ''] = raw.split('\r\n\r\n');
  const [status, ...lines] = head.split('\r\n');
  const headers = Object.fromEntries(
    lines.map((line) => [line.slice(0, line.indexOf(':')).toLowerCase(), line.slice(line.indexOf(':') + 1).trim()]),
  );
  return { status, headers, body: JSON.parse(body) as unknown };
}

describe('a namespace DISCONNECT from the client', () => {
  it('closes its Engine.IO connection', async () => {
    const raw = await rawConnection();
    raw.engine.send('1');
    await waitFor(() => raw.closed());
    // Another connection is served as before.
    const other = await rawConnection();
    other.engine.send('21["session:whoami",{}]');
    expect(await answerTo(other, 1)).toMatchObject({ ok: true });
  });
});

describe('a request the HTTP parser refuses', () => {
  const malformed: Record<string, string> = {
    'a request line that is not HTTP': 'NOT AN HTTP REQUEST\r\n\r\n',
    'a header line without a colon': 'GET /healthz HTTP/1.1\r\nHost: hub\r\nno colon here\r\n\r\n',
    'a header name with a space': 'GET /healthz HTTP/1.1\r\nHost: hub\r\nBad Name: x\r\n\r\n',
    'a control character in a header value': 'GET /healthz HTTP/1.1\r\nHost: hub\r\nX-Test: a\u0001b\r\n\r\n',
    'headers over the size limit': `GET /healthz HTTP/1.1\r\nHost: hub\r\nX-Big: ${'a'.repeat(20_000)}\r\n\r\n`,
  };
  for (const [what, request] of Object.entries(malformed)) {
    it(`(${what}) is answered 400 with the hub's JSON error body, and the connection closed`, async () => {
      const { status, headers, body } = parseAnswer(await rawHttp(request));
      expect(status).toBe('HTTP/1.1 400 Bad Request');
      expect(headers['content-type']).toBe('application/json; charset=utf-8');
      expect(headers.connection).toBe('close');
      expect(body).toEqual({ error: { code: 'BAD_REQUEST', message: expect.any(String) } });
      // The hub serves the next request as before.
      expect((await fetch(`${hub.url}/healthz`)).status).toBe(200);
    });
  }
});

describe('binary attachments in one packet', () => {
  /** A `session:whoami` whose payload holds `count` binary placeholders, for ack id `id`, then its attachments. */
  function withAttachments(count: number, id: number): Array<string | Buffer> {
    const placeholders = Object.fromEntries(
      Array.from({ length: count }, (_, num) => [`b${num}`, { _placeholder: true, num }]),
    );
    return [
      `5${count}-${id}${JSON.stringify(['session:whoami', placeholders])}`,
      ...Array.from({ length: count }, (_, num) => Buffer.from([num])),
    ];
  }

  it('up to 10 are taken and the packet answered; more close the connection without an answer', async () => {
    const raw = await rawConnection();
    for (const frame of withAttachments(10, 1)) raw.engine.send(frame);
    expect(await answerTo(raw, 1)).toMatchObject({ ok: false, error: { code: 'BAD_REQUEST' } });

    for (const frame of withAttachments(11, 2)) raw.engine.send(frame);
    await waitFor(() => raw.closed());
    expect(raw.received.filter((message) => message.startsWith('32['))).toEqual([]);
  });
});
