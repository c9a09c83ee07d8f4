/**
 * Fuzzing every HTTP route (issue 9, "Suites that keep it closed"): the routes are read from
 * the hub's HTTP sources (server/src/http), so a new route is fuzzed as soon as it is written.
 * Every method, with hostile paths and parameters (invalid percent-encoding, encoded invalid
 * UTF-8), query strings (repeated, prototype and unknown keys, wrong types), headers (tokens
 * valid, forged and broken; content types, charsets and encodings; origins) and bodies (JSON of
 * hostile values, raw bytes and invalid UTF-8, BOMs, UTF-16, gzip and deflate valid and not,
 * inflating past the limit, over the limit). Every request is answered, never 5xx; an error is
 * a 4xx with `{ error: { code, message } }`, its code one of HUB_ERROR_CODES and not INTERNAL;
 * nothing changes, and the hub and every socket live on.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { Agent, request, validateHeaderName, validateHeaderValue } from 'node:http';
import { join } from 'node:path';
import { deflateSync, gzipSync } from 'node:zlib';
import { errorFamilyOf, type HubErrorCode, hubErrorBodySchema, isHubErrorCode } from '@ncp-hub/protocol';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { describeCase, hostileString, hostileValue } from './arbitraries.js';
import { checkProperty, fuzzTimeout, Invariants, predicate } from './fuzz-run.js';
import { ANSWER_TIMEOUT_MS, type FuzzWorld, startFuzzWorld } from './world.js';

const HTTP_SOURCES = join(import.meta.dirname, '../../server/src/http');

/**
 * Every route the hub's HTTP sources declare (`app.get('/path', ...)` and the like, and the rows
 * of the route table in openapi.ts: `method: 'get', path: '/path'`), with its method.
 */
function declaredRoutes(): Array<{ method: string; path: string }> {
  const routes: Array<{ method: string; path: string }> = [];
  for (const file of readdirSync(HTTP_SOURCES).filter((name) => name.endsWith('.ts'))) {
    const source = readFileSync(join(HTTP_SOURCES, file), 'utf8');
    for (const match of source.matchAll(/\.(get|post|put|patch|delete|all)\(\s*['"`](\/[^'"`]*)['"`]/g)) {
      routes.push({ method: (match[1] as string).toUpperCase(), path: match[2] as string });
    }
    for (const match of source.matchAll(/method: '(get|post|put|patch|delete)',\s*path: '(\/[^']*)'/g)) {
      routes.push({ method: (match[1] as string).toUpperCase(), path: match[2] as string });
    }
  }
  return routes;
}

const ROUTES = declaredRoutes();

let world: FuzzWorld;
let invariants: Invariants;
const agent = new Agent({ keepAlive: true, maxSockets: 8 });

beforeAll(async () => {
  world = await startFuzzWorld();
  invariants = await new Invariants(world).start();
}, 120_000);
afterAll(async () => {
  agent.destroy();
  await world?.stop();
});

/** One HTTP request as the fuzzer sends it. */
interface HttpCase {
  method: string;
  path: string;
  headers: Record<string, string>;
  body: Buffer | undefined;
}

/** What the hub answered. */
interface HttpAnswer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: Buffer;
}

/**
 * Sends a case; rejects if the connection fails or no answer comes in time (neither may happen).
 * A kept-alive connection the hub closed after its last answer is retried on a new one, once.
 */
function send(url: string, c: HttpCase, retried = false): Promise<HttpAnswer> {
  return new Promise((resolve, reject) => {
    const req = request(
      `${url}${c.path}`,
      { method: c.method, headers: c.headers, agent, timeout: ANSWER_TIMEOUT_MS },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('end', () =>
          resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }),
        );
        res.on('error', reject);
      },
    );
    req.on('timeout', () => req.destroy(new Error(`no answer within ${ANSWER_TIMEOUT_MS} ms`)));
    req.on('error', (error: NodeJS.ErrnoException) => {
      if (req.reusedSocket && error.code === 'ECONNRESET' && !retried) send(url, c, true).then(resolve, reject);
      else reject(error);
    });
    req.end(c.body);
  });
}

/** A string's bytes, percent-encoded one by one (so any bytes, invalid UTF-8 included, fit in a URL). */
function percentEncoded(bytes: Uint8Array): string {
  return [...bytes].map((byte) => `%${byte.toString(16).toUpperCase().padStart(2, '0')}`).join('');
}

/** A string as UTF-8 (lone surrogates as their WTF-8 bytes, which are not UTF-8). */
function wtf8(text: string): Buffer {
  const bytes: number[] = [];
  for (let i = 0; i < text.length; i++) {
    const code = text.codePointAt(i) as number;
    if (code > 0xffff) i += 1;
    if (code >= 0xd800 && code <= 0xdfff)
      bytes.push(0xe0 | (code >> 12), 0x80 | ((code >> 6) & 0x3f), 0x80 | (code & 0x3f));
    else bytes.push(...Buffer.from(String.fromCodePoint(code)));
  }
  return Buffer.from(bytes);
}

/** Bytes that are not UTF-8: lone continuation bytes, overlong forms, encoded surrogates, truncated sequences. */
const INVALID_UTF8 = [
  [0x80],
  [0xbf],
  [0xc0, 0xaf],
  [0xe0, 0x80, 0xaf],
  [0xed, 0xa0, 0x80],
  [0xed, 0xbf, 0xbf],
  [0xf4, 0x90, 0x80, 0x80],
  [0xf8, 0x88, 0x80, 0x80, 0x80],
  [0xfe],
  [0xff],
  [0xe2, 0x82],
  [0xc3],
].map((bytes) => Buffer.from(bytes));

/** A URL component: a hostile string as UTF-8 or WTF-8 bytes, invalid UTF-8, broken escapes, or raw. */
function urlComponent(strings: readonly string[]): fc.Arbitrary<string> {
  const text = hostileString(strings);
  return fc.oneof(
    { weight: 4, arbitrary: text.map((value) => percentEncoded(wtf8(value))) },
    { weight: 3, arbitrary: fc.constantFrom(...strings.filter((value) => /^[\w.:@+-]*$/.test(value))) },
    { weight: 2, arbitrary: fc.constantFrom(...INVALID_UTF8).map(percentEncoded) },
    {
      weight: 2,
      arbitrary: fc.constantFrom('%ZZ', '%', '%0', '%%', '%G0', '%u0041', '%2', '%C0%AF', '%00', '..', '.'),
    },
    { weight: 2, arbitrary: fc.stringMatching(/^[A-Za-z0-9._~!$&'()*+,;=:@-]{0,40}$/) },
    { weight: 1, arbitrary: fc.constantFrom(2_000, 6_000).map((length) => 'A'.repeat(length)) },
  );
}

/** A path: a declared route (its parameters filled with hostile components), changed a little, or none. */
function path(strings: readonly string[]): fc.Arbitrary<string> {
  const component = urlComponent(strings);
  const route = fc
    .tuple(fc.constantFrom(...ROUTES.map((r) => r.path)), fc.array(component, { minLength: 4, maxLength: 4 }))
    .map(([template, parts]) => template.replace(/:[A-Za-z]+/g, () => parts.shift() ?? ''));
  const decorated = fc
    .tuple(
      route,
      fc.oneof(
        { weight: 12, arbitrary: fc.constant('') },
        fc.constantFrom('/', '//', '/.', '/..', '%2F', '/x', '?', '#', ';x'),
      ),
    )
    .map(([base, tail]) => base + tail);
  return fc.oneof(
    { weight: 8, arbitrary: decorated },
    { weight: 1, arbitrary: route.map((base) => base.toUpperCase()) },
    { weight: 1, arbitrary: route.map((base) => base.replace(/^\//, '//').replace(/\//g, '/./')) },
    { weight: 2, arbitrary: fc.array(component, { minLength: 1, maxLength: 4 }).map((parts) => `/${parts.join('/')}`) },
  );
}

/** The parameters the routes read, and some they do not. */
const QUERY_KEYS = [
  'status',
  'overdue',
  'query',
  'officer',
  'from',
  'to',
  'after',
  'limit',
  '__proto__',
  'constructor',
  'prototype',
  'a[b]',
  'status[]',
  '',
];

/** A query string: repeated, unknown and prototype keys, values of any type and encoding. */
function queryString(strings: readonly string[]): fc.Arbitrary<string> {
  const component = urlComponent(strings);
  const key = fc.oneof({ weight: 4, arbitrary: fc.constantFrom(...QUERY_KEYS) }, { weight: 1, arbitrary: component });
  const value = fc.oneof(
    { weight: 3, arbitrary: component },
    {
      weight: 3,
      arbitrary: fc.constantFrom(
        'OPEN',
        'CLOSED',
        'WITHDRAWN',
        'open',
        'true',
        'false',
        '1',
        '0',
        '-1',
        '500',
        '501',
        '1e3',
        '0x10',
        'NaN',
        '9007199254740993',
        '',
      ),
    },
  );
  const pair = fc.oneof(
    { weight: 6, arbitrary: fc.tuple(key, value).map(([k, v]) => `${k}=${v}`) },
    { weight: 1, arbitrary: key },
  );
  return fc.oneof(
    { weight: 2, arbitrary: fc.constant('') },
    { weight: 5, arbitrary: fc.array(pair, { minLength: 1, maxLength: 6 }).map((pairs) => `?${pairs.join('&')}`) },
  );
}

/** A header value Node sends (latin1, no control characters but tab); hostile within that. */
function headerValue(strings: readonly string[]): fc.Arbitrary<string> {
  return fc.oneof(hostileString(strings), fc.stringMatching(/^[\t\x20-\x7e\x80-\xff]{0,60}$/)).filter((value) => {
    try {
      validateHeaderValue('x-fuzz', value);
      return true;
    } catch {
      return false;
    }
  });
}

const CONTENT_TYPES = [
  'application/json',
  'application/json; charset=utf-8',
  'application/json; charset=UTF-16',
  'application/json; charset=latin1',
  'application/json; charset=utf-32',
  'application/json; charset=nonsense',
  'application/json; charset=',
  'application/merge-patch+json',
  'application/*',
  'text/plain',
  'text/html',
  'application/x-www-form-urlencoded',
  'multipart/form-data; boundary=x',
  'application/octet-stream',
  ';;;',
  'application/json, text/plain',
];
const CONTENT_ENCODINGS = [
  'gzip',
  'deflate',
  'br',
  'identity',
  'x-gzip',
  'GZIP',
  'gzip, gzip',
  'gzip, deflate',
  'compress',
  'x-nonsense',
  '',
];

/** What a body is made of before it is encoded. */
type BodyPlan =
  | { kind: 'none' }
  | { kind: 'json'; value: unknown }
  | { kind: 'bytes'; bytes: Buffer }
  | { kind: 'json-with-invalid-utf8'; field: string; bytes: Buffer }
  | { kind: 'bom'; value: unknown }
  | { kind: 'utf16'; value: unknown }
  | { kind: 'deep'; depth: number }
  | { kind: 'huge'; length: number }
  | { kind: 'gzip'; value: unknown; declared: boolean }
  | { kind: 'deflate'; value: unknown }
  | { kind: 'bomb'; length: number }
  | { kind: 'truncated-gzip'; value: unknown };

function bodyPlan(keys: readonly string[], strings: readonly string[]): fc.Arbitrary<BodyPlan> {
  const value = hostileValue({ keys, strings });
  return fc.oneof(
    { weight: 5, arbitrary: fc.constant({ kind: 'none' as const }) },
    { weight: 6, arbitrary: fc.record({ kind: fc.constant('json' as const), value }) },
    {
      weight: 2,
      arbitrary: fc.record({
        kind: fc.constant('bytes' as const),
        bytes: fc.uint8Array({ maxLength: 200 }).map((b) => Buffer.from(b)),
      }),
    },
    {
      weight: 2,
      arbitrary: fc.record({
        kind: fc.constant('json-with-invalid-utf8' as const),
        field: fc.constantFrom(...keys),
        bytes: fc.constantFrom(...INVALID_UTF8),
      }),
    },
    { weight: 1, arbitrary: fc.record({ kind: fc.constant('bom' as const), value }) },
    { weight: 1, arbitrary: fc.record({ kind: fc.constant('utf16' as const), value }) },
    {
      weight: 1,
      arbitrary: fc.record({ kind: fc.constant('deep' as const), depth: fc.constantFrom(1_000, 10_000, 30_000) }),
    },
    {
      weight: 1,
      arbitrary: fc.record({ kind: fc.constant('huge' as const), length: fc.constantFrom(65_000, 66_000, 100_000) }),
    },
    { weight: 2, arbitrary: fc.record({ kind: fc.constant('gzip' as const), value, declared: fc.boolean() }) },
    { weight: 1, arbitrary: fc.record({ kind: fc.constant('deflate' as const), value }) },
    {
      weight: 1,
      arbitrary: fc.record({ kind: fc.constant('bomb' as const), length: fc.constantFrom(100_000, 10_000_000) }),
    },
    { weight: 1, arbitrary: fc.record({ kind: fc.constant('truncated-gzip' as const), value }) },
  );
}

/** The bytes of a body, and the Content-Encoding it really has (when it has one). */
function bodyBytes(plan: BodyPlan): { body: Buffer | undefined; encoding?: string } {
  const json = (value: unknown) => Buffer.from(JSON.stringify(value ?? null));
  switch (plan.kind) {
    case 'none':
      return { body: undefined };
    case 'json':
      return { body: json(plan.value) };
    case 'bytes':
      return { body: plan.bytes };
    case 'json-with-invalid-utf8':
      return { body: Buffer.concat([Buffer.from(`{${JSON.stringify(plan.field)}:"`), plan.bytes, Buffer.from('"}')]) };
    case 'bom':
      return { body: Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), json(plan.value)]) };
    case 'utf16':
      return { body: Buffer.from(JSON.stringify(plan.value ?? null), 'utf16le') };
    case 'deep':
      return { body: Buffer.from(`${'['.repeat(plan.depth)}${']'.repeat(plan.depth)}`) };
    case 'huge':
      return { body: Buffer.from(JSON.stringify({ conv: 'x'.repeat(plan.length) })) };
    case 'gzip':
      return { body: gzipSync(json(plan.value)), ...(plan.declared ? { encoding: 'gzip' } : {}) };
    case 'deflate':
      return { body: deflateSync(json(plan.value)), encoding: 'deflate' };
    case 'bomb':
      // Small on the wire, past the body limit once inflated.
      return { body: gzipSync(Buffer.from(`{"conv":"${'0'.repeat(plan.length)}"}`)), encoding: 'gzip' };
    case 'truncated-gzip': {
      const zipped = gzipSync(json(plan.value));
      return { body: zipped.subarray(0, Math.max(1, zipped.length - 6)), encoding: 'gzip' };
    }
  }
}

/** A whole HTTP case. */
function httpCase(): fc.Arbitrary<HttpCase> {
  const { strings, keys, tokens } = world;
  const hostileHeader = headerValue(strings);
  const authorization = fc.oneof(
    { weight: 3, arbitrary: fc.constant(undefined) },
    { weight: 3, arbitrary: fc.constant(`Bearer ${tokens.officer}`) },
    { weight: 2, arbitrary: fc.constant(`Bearer ${tokens.auditor}`) },
    { weight: 1, arbitrary: fc.constant(`Bearer ${tokens.desk}`) },
    {
      weight: 3,
      arbitrary: fc.oneof(
        hostileHeader,
        hostileHeader.map((value) => `Bearer ${value}`),
        fc.nat().map((at) => {
          // The officer's token with one character changed: a broken signature, header or claim.
          const token = tokens.officer;
          const i = at % token.length;
          return `Bearer ${token.slice(0, i)}${token[i] === 'A' ? 'B' : 'A'}${token.slice(i + 1)}`;
        }),
        fc.constantFrom(
          'Bearer',
          'Bearer ',
          'bearer x',
          'Basic dXNlcjpwYXNz',
          `Bearer  ${tokens.officer}`,
          `Bearer ${tokens.officer} x`,
          `Bearer ${'A'.repeat(9000)}`,
        ),
      ),
    },
  );
  const optional = (values: readonly string[], absent = 3) =>
    fc.oneof(
      { weight: absent, arbitrary: fc.constant(undefined) },
      { weight: 2, arbitrary: fc.constantFrom(...values) },
      { weight: 1, arbitrary: hostileHeader },
    );
  const extraName = fc.constantFrom(
    'accept',
    'accept-encoding',
    'x-forwarded-for',
    'x-real-ip',
    'host',
    'cookie',
    'x-http-method-override',
    'expect',
    'range',
    'if-none-match',
  );
  return fc
    .record({
      method: fc.oneof(
        { weight: 8, arbitrary: fc.constant('GET') },
        { weight: 4, arbitrary: fc.constant('POST') },
        // Methods Node's HTTP parser knows: it answers an unknown one (`FOO`) itself, before the hub.
        { weight: 3, arbitrary: fc.constantFrom('PUT', 'PATCH', 'DELETE', 'HEAD', 'OPTIONS', 'PROPFIND', 'PURGE') },
      ),
      path: path(strings),
      query: queryString(strings),
      authorization,
      contentType: optional(CONTENT_TYPES),
      contentEncoding: optional(CONTENT_ENCODINGS),
      // An Origin the hub does not allow is refused before anything else: one case in six.
      origin: optional(['http://evil.example', 'null', 'file://', 'http://127.0.0.1'], 15),
      extra: fc.array(fc.tuple(extraName, hostileHeader), { maxLength: 2 }),
      plan: bodyPlan(keys, strings),
    })
    .map(({ method, path, query, authorization, contentType, contentEncoding, origin, extra, plan }) => {
      const { body, encoding } = bodyBytes(plan);
      const headers: Record<string, string> = {};
      for (const [name, value] of extra) headers[name] = value;
      // Host and Expect are the client's to set: a wrong one is not an HTTP request this hub can answer.
      delete headers.host;
      delete headers.expect;
      if (authorization !== undefined) headers.authorization = authorization;
      if (contentType !== undefined) headers['content-type'] = contentType;
      else if (body && plan.kind !== 'bytes') headers['content-type'] = 'application/json';
      const declaredEncoding = contentEncoding ?? encoding;
      if (declaredEncoding !== undefined) headers['content-encoding'] = declaredEncoding;
      if (origin !== undefined) headers.origin = origin;
      // Framed by its length (Node sends a GET's body unframed otherwise: the next request, to the hub).
      if (body) headers['content-length'] = String(body.length);
      return { method, path: `${path}${query}`, headers, body };
    })
    .filter((c) => {
      // What Node's own HTTP client and parser would refuse before the hub sees it is no case.
      try {
        for (const [name, value] of Object.entries(c.headers)) {
          validateHeaderName(name);
          validateHeaderValue(name, value);
        }
      } catch {
        return false;
      }
      return c.path.length < 8_000 && !/[^\x21-\x7e]/.test(c.path);
    });
}

function describeHttpCase(c: HttpCase): string {
  const headers = Object.fromEntries(
    Object.entries(c.headers).map(([name, value]) => [name, value.length > 120 ? `${value.slice(0, 120)}…` : value]),
  );
  const body = c.body === undefined ? 'no body' : `${c.body.length} bytes: ${c.body.subarray(0, 200).toString('hex')}`;
  return `${c.method} ${c.path.slice(0, 400)} ${describeCase(headers)} ${body}`;
}

/** A well-formed answer: never 5xx; an error a 4xx with a hub error body whose code is stable and not INTERNAL. */
function assertAnswer(c: HttpCase, answer: HttpAnswer): void {
  const where = () => `${describeHttpCase(c)} answered ${answer.status} ${answer.body.subarray(0, 300).toString()}`;
  if (answer.status >= 500) expect.fail(`a 5xx: ${where()}`);
  if (answer.status < 400) return;
  if (c.method === 'HEAD') return;
  let body: { error?: { code?: unknown } } | undefined;
  try {
    body = JSON.parse(answer.body.toString('utf8'));
  } catch {
    expect.fail(`an error that is not JSON: ${where()}`);
  }
  if (!hubErrorBodySchema.safeParse(body?.error).success || !isHubErrorCode(body?.error?.code)) {
    expect.fail(`an error without a hub error body: ${where()}`);
  }
  if (body?.error?.code === 'INTERNAL') expect.fail(`INTERNAL: ${where()}`);
  if (errorFamilyOf(body?.error?.code as HubErrorCode) === 'client')
    expect.fail(`a code only an SDK raises: ${where()}`);
  count(`${answer.status} ${String(body?.error?.code)}`);
}

const tally = new Map<string, number>();
function count(label: string): void {
  tally.set(label, (tally.get(label) ?? 0) + 1);
}

describe('fuzzing every HTTP route', () => {
  it('reads the routes from the hub sources', () => {
    const paths = ROUTES.map((route) => route.path);
    for (const known of ['/healthz', '/readyz', '/metrics', '/v1/whoami', '/v1/queries', '/v1/queries/:id']) {
      expect(paths).toContain(known);
    }
  });

  it(
    'answers every request (any method, path, query string, headers, body) with a 2xx-4xx, and errors with a coded body',
    async () => {
      await checkProperty(
        'HTTP routes',
        fc.asyncProperty(
          httpCase(),
          predicate(describeHttpCase, async (c: HttpCase) => {
            const answer = await send(world.hub.url, c);
            if (answer.status < 400) count(`${answer.status}`);
            assertAnswer(c, answer);
            await invariants.afterRun({ cases: () => describeHttpCase(c), wrote: false });
          }),
        ),
      );
      await invariants.endBatch();
      console.info(
        `fuzz: HTTP routes (${ROUTES.map((r) => `${r.method} ${r.path}`).join(', ')}): answers by status and code: ${[...tally].map(([label, n]) => `${label}: ${n}`).join(', ')}`,
      );
    },
    fuzzTimeout(30),
  );
});
