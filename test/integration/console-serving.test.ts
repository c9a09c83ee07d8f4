/**
 * The hub serves the built web console (CONSOLE_DIR) at `/` under a strict
 * Content-Security-Policy, with index.html for the console's own paths; the API's paths keep
 * their answers; a missing folder says how to build it (docs/PROTOCOL.md section 8).
 */
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { get } from 'node:http';
import { join } from 'node:path';
import { loadConfig, startHub } from '@ncp-hub/server';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { createTestRegistry } from '../helpers/agencies.js';
import { makeTempDir, startTestHub, type TestHub } from '../helpers/hub.js';

const INDEX_HTML =
  '<!doctype html><html><head><script type="module" src="/assets/app-1a2b3c.js"></script></head><body>console</body></html>';
const APP_JS = 'document.body.dataset.ready = "yes";\n';

let consoleDir: string;
let testHub: TestHub;

beforeAll(async () => {
  consoleDir = await makeTempDir('ncp-hub-console-');
  await mkdir(join(consoleDir, 'assets'));
  await writeFile(join(consoleDir, 'index.html'), INDEX_HTML);
  await writeFile(join(consoleDir, 'assets', 'app-1a2b3c.js'), APP_JS);
  testHub = await startTestHub({ CONSOLE_DIR: consoleDir });
});
afterAll(async () => {
  await testHub?.stop();
  await rm(consoleDir, { recursive: true, force: true });
});

/** A GET of `path` exactly as written (fetch would resolve its dot segments). */
function rawGet(url: string, path: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const request = get(new URL(url), { path }, (response) => {
      let body = '';
      response.setEncoding('utf8');
      response.on('data', (chunk: string) => {
        body += chunk;
      });
      response.on('end', () => resolve({ status: response.statusCode ?? 0, body }));
    });
    request.on('error', reject);
  });
}

/** The CSP directives of a response, by name. */
function directives(response: Response): Map<string, string> {
  const header = response.headers.get('content-security-policy') ?? '';
  return new Map(
    header
      .split(';')
      .map((part) => part.trim())
      .filter(Boolean)
      .map((part) => {
        const [name, ...sources] = part.split(/\s+/);
        return [name as string, sources.join(' ')];
      }),
  );
}

/** The console's policy, as section 8 states it, for the hub at `host`. */
function expectConsolePolicy(response: Response, host: string): void {
  const csp = directives(response);
  expect(Object.fromEntries(csp)).toEqual({
    'default-src': "'self'",
    'script-src': "'self' 'wasm-unsafe-eval'",
    'style-src': "'self'",
    'img-src': "'self' data:",
    'connect-src': `'self' ws://${host} wss://${host}`,
    'object-src': "'none'",
    'base-uri': "'none'",
    'frame-ancestors': "'none'",
    'form-action': "'self'",
  });
  // No inline script or style, in any form, and no eval() (WebAssembly compilation aside, for libsodium).
  expect(response.headers.get('content-security-policy')).not.toMatch(/'unsafe-inline'|'unsafe-eval'|'nonce-|'sha\d+-/);
}

describe('the web console at /', () => {
  it('/ serves index.html under the strict policy', async () => {
    const response = await fetch(`${testHub.url}/`);
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toBe('text/html; charset=utf-8');
    expect(await response.text()).toBe(INDEX_HTML);
    expectConsolePolicy(response, new URL(testHub.url).host);
    expect(response.headers.get('cache-control')).toBe('no-cache');
    expect(response.headers.get('x-content-type-options')).toBe('nosniff');
  });

  it('an asset is served with its type, cached for good, under the same policy', async () => {
    const response = await fetch(`${testHub.url}/assets/app-1a2b3c.js`);
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toBe('text/javascript; charset=utf-8');
    expect(response.headers.get('cache-control')).toBe('public, max-age=31536000, immutable');
    expect(await response.text()).toBe(APP_JS);
    expectConsolePolicy(response, new URL(testHub.url).host);
  });

  it('a console path that is no file falls back to index.html; a missing file with an extension is NOT_FOUND', async () => {
    for (const path of ['/conversations', '/conversations/abc/messages', '/sign-in?next=%2F']) {
      const response = await fetch(`${testHub.url}${path}`);
      expect(response.status, path).toBe(200);
      expect(await response.text(), path).toBe(INDEX_HTML);
      expectConsolePolicy(response, new URL(testHub.url).host);
    }
    const missing = await fetch(`${testHub.url}/assets/gone-000000.js`);
    expect(missing.status).toBe(404);
    expect(await missing.json()).toEqual({ error: { code: 'NOT_FOUND', message: 'no such route' } });
    // A path that is not valid percent-encoding, as on the API's routes.
    for (const path of ['/%ZZ', '/assets/%E0%A4%A', '/%']) {
      const odd = await rawGet(testHub.url, path);
      expect(odd.status, path).toBe(400);
      expect(JSON.parse(odd.body), path).toEqual({
        error: { code: 'BAD_REQUEST', message: 'the path is not valid percent-encoding' },
      });
    }
    // Never a file outside the folder, whatever the path says.
    for (const path of [
      '/..%2f..%2f..%2fetc%2fpasswd',
      '/assets/..%2f..%2f..%2fetc%2fpasswd',
      '/%2e%2e/%2e%2e/etc/passwd',
    ]) {
      const outside = await rawGet(testHub.url, path);
      expect(outside.body, path).not.toContain('root:');
      expect([200, 404], path).toContain(outside.status);
      if (outside.status === 200) expect(outside.body, path).toBe(INDEX_HTML);
    }
  });

  it('the API paths keep their answers and their policy: never index.html', async () => {
    const api = await fetch(`${testHub.url}/v1/unknown`);
    expect(api.status).toBe(404);
    expect(await api.json()).toEqual({ error: { code: 'NOT_FOUND', message: 'no such route' } });
    for (const path of ['/v1', '/v1/dev/identities', '/healthz/more', '/readyz/x', '/metrics/x', '/socket.io']) {
      const response = await fetch(`${testHub.url}${path}`, { headers: { accept: 'text/html' } });
      expect(response.status, path).toBe(404);
      expect(await response.json(), path).toEqual({ error: { code: 'NOT_FOUND', message: 'no such route' } });
    }
    // The API's policy is helmet's default, as before the console (not the console's).
    const health = await fetch(`${testHub.url}/healthz`);
    expect(await health.json()).toEqual({ status: 'ok' });
    expect(health.headers.get('content-security-policy')).toBe(
      "default-src 'self';base-uri 'self';font-src 'self' https: data:;form-action 'self';frame-ancestors 'self';" +
        "img-src 'self' data:;object-src 'none';script-src 'self';script-src-attr 'none';" +
        "style-src 'self' https: 'unsafe-inline';upgrade-insecure-requests",
    );
    expect(api.headers.get('content-security-policy')).toBe(health.headers.get('content-security-policy'));
    // Engine.IO still answers its own path (a request without a transport).
    const engine = await fetch(`${testHub.url}/socket.io/`);
    expect(engine.status).toBe(400);
    expect(await engine.json()).toEqual({ code: 0, message: 'Transport unknown' });
    // Only GET and HEAD are the console's.
    const post = await fetch(`${testHub.url}/`, { method: 'POST' });
    expect(post.status).toBe(404);
    expect(await post.json()).toEqual({ error: { code: 'NOT_FOUND', message: 'no such route' } });
  });
});

describe('without a built console', () => {
  it('says how to build it, as HTML to a browser and as NOT_FOUND otherwise, and logs it once at start', async () => {
    const dataDir = await makeTempDir();
    const lines: Array<{ msg: string; consoleDir?: string }> = [];
    const logger = pino({ level: 'warn' }, { write: (line: string) => lines.push(JSON.parse(line)) });
    const missingDir = join(dataDir, 'no-console');
    await createTestRegistry(join(dataDir, 'registry'));
    const hub = await startHub(
      loadConfig({
        PORT: '0',
        NODE_ENV: 'test',
        REDIS_URL: inject('redisUrl'),
        REDIS_PREFIX: `ncp-console-${process.pid}:`,
        DATA_DIR: dataDir,
        TRUST_REGISTRY: join(dataDir, 'registry'),
        CONSOLE_DIR: missingDir,
      }),
      { logger },
    );
    try {
      expect(lines.filter((line) => line.msg.includes('npm run console:build'))).toEqual([
        expect.objectContaining({ consoleDir: missingDir }),
      ]);
      const page = await fetch(`${hub.url}/`, { headers: { accept: 'text/html,application/xhtml+xml,*/*;q=0.8' } });
      expect(page.status).toBe(404);
      expect(page.headers.get('content-type')).toBe('text/html; charset=utf-8');
      expect(await page.text()).toContain('<code>npm run console:build</code>');
      expectConsolePolicy(page, new URL(hub.url).host);
      const json = await fetch(`${hub.url}/conversations`);
      expect(json.status).toBe(404);
      expect(await json.json()).toEqual({
        error: { code: 'NOT_FOUND', message: 'the web console is not built: run npm run console:build, then reload' },
      });

      // Built after the hub started: served without a restart.
      await mkdir(missingDir);
      await writeFile(join(missingDir, 'index.html'), INDEX_HTML);
      const built = await fetch(`${hub.url}/`);
      expect(built.status).toBe(200);
      expect(await built.text()).toBe(INDEX_HTML);
    } finally {
      await hub.stop();
      await rm(dataDir, { recursive: true, force: true });
    }
  });
});
