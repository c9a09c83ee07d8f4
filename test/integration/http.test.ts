import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestHub, type TestHub } from '../helpers/hub.js';

let testHub: TestHub;

beforeAll(async () => {
  testHub = await startTestHub();
});
afterAll(() => testHub?.stop());

describe('the HTTP API', () => {
  it('GET /healthz answers 200 with security headers and no caching', async () => {
    const response = await fetch(`${testHub.url}/healthz`);
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ status: 'ok' });
    expect(response.headers.get('x-content-type-options')).toBe('nosniff');
    expect(response.headers.get('strict-transport-security')).toContain('max-age');
    expect(response.headers.get('cache-control')).toBe('no-store');
    expect(response.headers.get('x-powered-by')).toBeNull();
  });

  it('GET /readyz answers 200 while Redis and the registry are in place', async () => {
    const response = await fetch(`${testHub.url}/readyz`);
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({
      status: 'ready',
      ready: true,
      checks: { redis: true, registry: true },
    });
  });

  it('an unknown route is a JSON 404 with NOT_FOUND', async () => {
    const response = await fetch(`${testHub.url}/v1/nothing-here`);
    expect(response.status).toBe(404);
    expect(await response.json()).toEqual({ error: { code: 'NOT_FOUND', message: expect.any(String) } });
  });

  it('a body over the limit is refused with PAYLOAD_TOO_LARGE', async () => {
    const response = await fetch(`${testHub.url}/v1/whoami`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ padding: 'x'.repeat(100 * 1024) }),
    });
    expect(response.status).toBe(413);
    expect(((await response.json()) as { error: { code: string } }).error.code).toBe('PAYLOAD_TOO_LARGE');
  });

  it('a body that is not JSON is refused with BAD_REQUEST', async () => {
    const response = await fetch(`${testHub.url}/v1/whoami`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{"unterminated',
    });
    expect(response.status).toBe(400);
    expect(((await response.json()) as { error: { code: string } }).error.code).toBe('BAD_REQUEST');
  });

  it('GET /metrics serves Prometheus text that counts HTTP requests by route', async () => {
    await fetch(`${testHub.url}/healthz`);
    const response = await fetch(`${testHub.url}/metrics`);
    expect(response.headers.get('content-type')).toContain('text/plain');
    const text = await response.text();
    expect(text).toMatch(/ncp_hub_http_requests_total\{method="GET",route="\/healthz",status="200"\} [1-9]/);
    expect(text).toContain('# TYPE ncp_hub_connected_sockets gauge');
  });
});
