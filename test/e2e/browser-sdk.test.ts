/**
 * The SDK in a real browser: bundled for the web, run in headless Chromium, keeping its keys
 * in IndexedDB, talking end to end with an SDK client in Node through a real hub.
 */
import { once } from 'node:events';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { issueDeviceAttestation } from '@ncp-hub/keys';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tokenFor } from '../helpers/agencies.js';
import { bundleSdkForBrowser, chromiumSkipReason, launchChromium } from '../helpers/browser.js';
import { startTestHub, type TestHub } from '../helpers/hub.js';
import { closeAllClients, connectDevice, record, waitForCount } from '../helpers/officers.js';

/** An agency's web page that loads the bundled SDK (as `window.sdk`). */
const PAGE = `<!doctype html><html><head><meta charset="utf-8"><title>ncp-hub SDK</title>
<script type="module">import * as sdk from '/sdk.js'; window.sdk = sdk;</script></head><body>SDK test page</body></html>`;

let site: Server;
let origin: string;
let hub: TestHub;
let browser: Browser;

/** Opens the page and a HubClient in it, keys in IndexedDB; returns its public keys. */
async function openBrowserClient(
  page: Page,
  token: string,
): Promise<{ device: string; encryptionKey: string; signingKey: string }> {
  await page.goto(`${origin}/`);
  await page.waitForFunction(() => 'sdk' in window);
  return page.evaluate(
    async ({ hubUrl, token }) => {
      // biome-ignore lint/suspicious/noExplicitAny: the bundle's exports, untyped in the page
      const sdk = (window as unknown as { sdk: any }).sdk;
      const store = await sdk.IndexedDbKeyStore.open({ name: 'officer-device' });
      const client = await sdk.HubClient.create({ url: hubUrl, token, device: 'browser-1', store });
      const w = window as unknown as Record<string, unknown>;
      w.client = client;
      w.received = [];
      client.on('message', (message: { content: unknown }) => (w.received as unknown[]).push(message.content));
      client.on('error', (e: unknown) => console.log('client error', String(e)));
      await client.connect();
      return client.publicKeys();
    },
    { hubUrl: hub.url, token },
  );
}

// Chromium is a system binary a fresh clone may lack: the suite then says so and is skipped,
// except under CI (which installs it), where it must run.
const skipReason = chromiumSkipReason();
if (skipReason) console.log(`skipped: the SDK in Chromium: ${skipReason}`);

describe.skipIf(skipReason !== undefined)('the SDK in Chromium', () => {
  beforeAll(async () => {
    const sdk = await bundleSdkForBrowser();
    site = createServer((req, res) => {
      if (req.url === '/sdk.js') {
        res.setHeader('content-type', 'text/javascript');
        res.end(sdk);
      } else {
        res.setHeader('content-type', 'text/html');
        res.end(PAGE);
      }
    });
    site.listen(0, '127.0.0.1');
    await once(site, 'listening');
    origin = `http://127.0.0.1:${(site.address() as AddressInfo).port}`;
    hub = await startTestHub({ ALLOWED_ORIGINS: origin });
    browser = await launchChromium();
  }, 120_000);

  afterAll(async () => {
    await closeAllClients();
    await browser?.close();
    await hub?.stop();
    site?.close();
  });

  it('exchanges end-to-end encrypted messages with a Node client, and keeps its device keys in IndexedDB', async () => {
    const page = await browser.newPage();
    page.on('console', (message) => console.log('[page]', message.text()));
    page.on('pageerror', (error) => console.log('[page error]', error.message));
    const officer = 'pl.browser';
    const token = await tokenFor(hub.agencies['PL-KGP'], { officer });
    const keys = await openBrowserClient(page, token);
    const attestation = await issueDeviceAttestation({
      agency: 'PL-KGP',
      officer,
      device: keys.device,
      encryptionKey: keys.encryptionKey,
      signingKey: keys.signingKey,
      privateJwk: hub.agencies['PL-KGP'].key.privateJwk,
    });
    await page.evaluate(async (jws) => {
      await (window as unknown as { client: { publishDevice(j: string): Promise<void> } }).client.publishDevice(jws);
    }, attestation);

    const ua = await connectDevice(hub.url, hub.agencies['UA-NPU'], 'ua.node');
    const uaMessages = record(ua, 'message');
    const conversation = await ua.createConversation({
      kind: 'direct',
      members: [{ agency: 'PL-KGP', officer }],
      basis: { type: 'formal-request', reference: 'MLA/2026/WEB', caseReference: 'WEB-1' },
    });
    await ua.send(conversation.id, 'Hello from a Node agency system');
    await page.waitForFunction(
      () => ((window as unknown as { received: unknown[] }).received ?? []).length > 0,
      undefined,
      {
        timeout: 15_000,
      },
    );
    expect(await page.evaluate(() => (window as unknown as { received: unknown[] }).received)).toEqual([
      { v: 1, type: 'text', text: 'Hello from a Node agency system' },
    ]);

    await page.evaluate(async (conv) => {
      await (window as unknown as { client: { send(c: string, t: string): Promise<unknown> } }).client.send(
        conv,
        'Hello from a browser',
      );
    }, conversation.id);
    const [reply] = await waitForCount(uaMessages, 1);
    expect(reply).toMatchObject({
      from: { agency: 'PL-KGP', officer, device: 'browser-1' },
      content: { text: 'Hello from a browser' },
    });

    // A reload finds the same device keys in IndexedDB.
    await page.evaluate(async () => {
      await (window as unknown as { client: { close(): Promise<void> } }).client.close();
    });
    const again = await openBrowserClient(page, token);
    expect(again).toEqual(keys);
    await page.close();
  });
});
