/**
 * `GET /openapi.json` against real hubs (one with a trust registry, one in development mode):
 * an OpenAPI 3.1 document whose operations are exactly the routes the hub serves (each one
 * requested, and the table of docs/PROTOCOL.md §8), and whose schemas the hub's real answers
 * validate against (read back from the document's JSON Schema with zod's `fromJSONSchema`,
 * not from the hub's own zod schemas). The hub itself refuses to start when a route it
 * registers has no row of the table the document is written from (assertRoutesListed).
 */
import { readFile, rm } from 'node:fs/promises';
import { type Hub, loadConfig, startHub } from '@ncp-hub/server';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { z } from 'zod';
import { tokenFor } from '../helpers/agencies.js';
import { makeTempDir, startTestHub, type TestHub } from '../helpers/hub.js';
import { closeAllClients, connectDevice } from '../helpers/officers.js';

type Json = Record<string, unknown>;
interface Operation {
  operationId: string;
  parameters?: Array<{ name: string; in: string; required: boolean; schema: Json }>;
  requestBody?: { content: Record<string, { schema: Json }> };
  responses: Record<string, { content?: Record<string, { schema?: Json }>; $ref?: string }>;
  security: unknown[];
  'x-roles'?: string[];
  'x-development-only'?: boolean;
}
interface OpenApi {
  openapi: string;
  info: { title: string; version: string };
  paths: Record<string, Record<string, Operation>>;
  components: { schemas: Record<string, Json> };
}

let registryHub: TestHub;
let devHub: Hub;
let devDataDir: string;

beforeAll(async () => {
  registryHub = await startTestHub();
  devDataDir = await makeTempDir();
  devHub = await startHub(
    loadConfig({
      PORT: '0',
      HOST: '127.0.0.1',
      LOG_LEVEL: 'silent',
      DATA_DIR: devDataDir,
      REDIS_URL: inject('redisUrl'),
      REDIS_PREFIX: `ncp-test-openapi-${Date.now()}:`,
    }),
  );
});
afterAll(async () => {
  await closeAllClients();
  await registryHub?.stop();
  await devHub?.stop();
  if (devDataDir) await rm(devDataDir, { recursive: true, force: true });
});

async function documentOf(url: string): Promise<OpenApi> {
  const response = await fetch(`${url}/openapi.json`);
  expect(response.status).toBe(200);
  expect(response.headers.get('content-type')).toContain('application/json');
  return (await response.json()) as OpenApi;
}

/** `METHOD /path/{param}` of every operation of the document. */
function operationsOf(document: OpenApi): string[] {
  return Object.entries(document.paths)
    .flatMap(([path, item]) => Object.keys(item).map((method) => `${method.toUpperCase()} ${path}`))
    .sort();
}

/** The document's schema for an answer, `$ref`s to its components resolved. */
function validatorOf(document: OpenApi, schema: Json): z.ZodType {
  const resolve = (value: unknown): unknown => {
    if (Array.isArray(value)) return value.map(resolve);
    if (value === null || typeof value !== 'object') return value;
    const ref = (value as Json).$ref;
    if (typeof ref === 'string') {
      return resolve(document.components.schemas[ref.replace('#/components/schemas/', '')]);
    }
    return Object.fromEntries(Object.entries(value).map(([key, inner]) => [key, resolve(inner)]));
  };
  return z.fromJSONSchema(resolve(schema) as Parameters<typeof z.fromJSONSchema>[0]);
}

/** Checks `response` against the operation's answer for its status: the status is listed, and a JSON body validates. */
async function expectDocumented(document: OpenApi, path: string, method: string, response: Response): Promise<unknown> {
  const operation = document.paths[path]?.[method];
  expect(operation, `${method} ${path} in the document`).toBeDefined();
  const answer = operation?.responses[String(response.status)];
  expect(answer, `${method} ${path} answered ${response.status}, a status the document lists`).toBeDefined();
  const [mediaType, content] = Object.entries(answer?.content ?? {})[0] ?? [];
  expect(response.headers.get('content-type') ?? '').toContain(String(mediaType).split(';')[0]);
  if (!content?.schema) return response.text();
  const body: unknown = await response.json();
  const parsed = validatorOf(document, content.schema).safeParse(body);
  expect(parsed.error?.issues, `${method} ${path}: the answer validates against the document`).toBeUndefined();
  return body;
}

/** The `METHOD /path` of the rows of docs/PROTOCOL.md §8's table (the console's row left out). */
async function protocolTableRoutes(): Promise<string[]> {
  const text = await readFile(new URL('../../docs/PROTOCOL.md', import.meta.url), 'utf8');
  const section = text.slice(text.indexOf('\n## 8. HTTP'), text.indexOf('\n### 8.1 '));
  return [...section.matchAll(/^\| `(GET|POST|PUT|DELETE|PATCH) (\/[^`?\s]*)/gm)]
    .map(([, method, path]) => `${method} ${(path as string).replace(/:([A-Za-z0-9_]+)/g, '{$1}')}`)
    .filter((route) => route !== 'GET /')
    .sort();
}

describe('GET /openapi.json', () => {
  it('is an OpenAPI 3.1 document of every route, development-only ones only in development mode and marked', async () => {
    const production = await documentOf(registryHub.url);
    expect(production.openapi).toMatch(/^3\.1\.\d+$/);
    expect(production.info).toMatchObject({ title: expect.any(String), version: expect.any(String) });
    const development = await documentOf(devHub.url);

    const table = await protocolTableRoutes();
    expect(operationsOf(development)).toEqual(table);
    const developmentOnly = ['GET /v1/dev/identities', 'POST /v1/dev/sign-in'];
    expect(operationsOf(production)).toEqual(table.filter((route) => !developmentOnly.includes(route)));
    expect(development.paths['/v1/dev/identities']?.get?.['x-development-only']).toBe(true);
    expect(development.paths['/v1/dev/sign-in']?.post?.['x-development-only']).toBe(true);
    expect(development.paths['/v1/queries']?.get?.['x-development-only']).toBeUndefined();

    // Parameters, bodies, auth and roles as the routes parse and check them.
    const queries = production.paths['/v1/queries']?.get;
    expect(queries?.parameters?.map(({ name, in: where }) => `${where}:${name}`)).toEqual([
      'query:status',
      'query:overdue',
    ]);
    expect(queries?.parameters?.[0]?.schema).toMatchObject({ enum: ['OPEN', 'CLOSED', 'WITHDRAWN'] });
    expect(queries?.security).toEqual([{ officerToken: [] }]);
    expect(production.paths['/v1/queries/{id}']?.get?.parameters).toEqual([
      expect.objectContaining({
        name: 'id',
        in: 'path',
        required: true,
        schema: expect.objectContaining({ type: 'string' }),
      }),
    ]);
    const audit = production.paths['/v1/audit/entries']?.get;
    expect(audit?.['x-roles']).toEqual(['auditor']);
    expect(audit?.parameters?.map(({ name }) => name)).toEqual(['query', 'officer', 'from', 'to', 'after', 'limit']);
    expect(audit?.parameters?.find(({ name }) => name === 'limit')?.schema).toMatchObject({ maximum: 500 });
    expect(production.paths['/healthz']?.get?.security).toEqual([]);
    const signIn = development.paths['/v1/dev/sign-in']?.post;
    expect(signIn?.requestBody?.content['application/json']?.schema).toMatchObject({
      required: ['agency', 'officer'],
      additionalProperties: false,
    });
    // Every operation documents its answers with a schema or a media type.
    for (const [path, item] of Object.entries(development.paths)) {
      for (const [method, operation] of Object.entries(item)) {
        expect(operation.responses['200'], `${method} ${path}`).toBeDefined();
      }
    }
  });

  it("a real answer of every route validates against the document's schema", async () => {
    const document = await documentOf(registryHub.url);
    const agencies = registryHub.agencies;
    // A real query, so that the lists and the query's page have something to validate.
    const ua = await connectDevice(registryHub.url, agencies['UA-NPU'], 'ua.openapi');
    await connectDevice(registryHub.url, agencies['PL-KGP'], 'pl.openapi');
    const { query } = await ua.openQuery({
      counterpart: { agency: 'PL-KGP', officer: 'pl.openapi' },
      caseReference: '12026100000000042',
      ground: 'ABSCONDING_RISK',
      statement: 'The suspect bought a one-way ticket.',
      question: 'Is he registered at a hotel in Warsaw?',
    });
    const officer = { authorization: `Bearer ${await tokenFor(agencies['UA-NPU'], { officer: 'ua.openapi' })}` };
    const auditor = {
      authorization: `Bearer ${await tokenFor(agencies['UA-NPU'], { officer: 'ua.auditor', roles: ['auditor'] })}`,
    };
    const get = (path: string, headers: Record<string, string> = {}) => fetch(`${registryHub.url}${path}`, { headers });

    await expectDocumented(document, '/healthz', 'get', await get('/healthz'));
    expect(await expectDocumented(document, '/readyz', 'get', await get('/readyz'))).toMatchObject({ ready: true });
    await expectDocumented(document, '/metrics', 'get', await get('/metrics'));
    await expectDocumented(document, '/openapi.json', 'get', await get('/openapi.json'));
    const keys = await expectDocumented(document, '/v1/hub-keys', 'get', await get('/v1/hub-keys'));
    expect((keys as { keys: unknown[] }).keys).toHaveLength(1);
    await expectDocumented(document, '/v1/whoami', 'get', await get('/v1/whoami', officer));
    const list = await expectDocumented(document, '/v1/queries', 'get', await get('/v1/queries?status=OPEN', officer));
    expect((list as { queries: Array<{ id: string }> }).queries.map(({ id }) => id)).toContain(query.id);
    const one = await expectDocumented(
      document,
      '/v1/queries/{id}',
      'get',
      await get(`/v1/queries/${query.id}`, officer),
    );
    expect((one as { timeline: unknown[] }).timeline.length).toBeGreaterThan(0);
    const entries = await expectDocumented(
      document,
      '/v1/audit/entries',
      'get',
      await get('/v1/audit/entries', auditor),
    );
    expect((entries as { entries: unknown[] }).entries.length).toBeGreaterThan(0);
    const exported = await expectDocumented(
      document,
      '/v1/audit/export',
      'get',
      await get('/v1/audit/export', auditor),
    );
    expect(String(exported).split('\n')[0]).toContain('"kind":"entry"');

    // The refusals the document lists, with its error schema.
    await expectDocumented(document, '/v1/queries', 'get', await get('/v1/queries?status=NOPE', officer));
    await expectDocumented(document, '/v1/whoami', 'get', await get('/v1/whoami'));
    await expectDocumented(document, '/v1/audit/entries', 'get', await get('/v1/audit/entries', officer));
    await expectDocumented(document, '/v1/queries/{id}', 'get', await get('/v1/queries/not-an-id', officer));

    // The document's schemas are not empty shells: they refuse a body of another shape.
    const readiness = document.paths['/readyz']?.get?.responses['200']?.content?.['application/json']?.schema;
    expect(validatorOf(document, readiness as Json).safeParse({ status: 'maybe', ready: 1 }).success).toBe(false);
  });

  it('in development mode, the development routes answer as documented', async () => {
    const document = await documentOf(devHub.url);
    const identities = await expectDocumented(
      document,
      '/v1/dev/identities',
      'get',
      await fetch(`${devHub.url}/v1/dev/identities`),
    );
    const [first] = (identities as { identities: Array<{ agency: string; officer: string }> }).identities;
    const signIn = await fetch(`${devHub.url}/v1/dev/sign-in`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ agency: first?.agency, officer: first?.officer }),
    });
    expect(await expectDocumented(document, '/v1/dev/sign-in', 'post', signIn)).toMatchObject({ attestation: null });
    const refused = await fetch(`${devHub.url}/v1/dev/sign-in`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ agency: first?.agency }),
    });
    await expectDocumented(document, '/v1/dev/sign-in', 'post', refused);
  });
});
