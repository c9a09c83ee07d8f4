/**
 * The web console end to end: built with its Vite configuration, served by one real hub in
 * development mode (CONSOLE_DIR), in two Chromium contexts (two tabs of two states). Each signs
 * in with one click (device keys made and kept in the page's IndexedDB, attested by the
 * development sign-in); the UA officer starts a conversation with the PL officer and writes,
 * the PL officer sees it live (unread in the list) and replies, the UA officer sees the reply
 * and its own message marked read. No page breaks the hub's Content-Security-Policy.
 */
import { mkdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { type Hub, loadConfig, startHub } from '@ncp-hub/server';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { chromiumSkipReason, launchChromium } from '../helpers/browser.js';
import { buildConsole, TEST_RESULTS_DIR } from '../helpers/console.js';
import { GENEROUS_BUDGETS, makeTempDir } from '../helpers/hub.js';

const SCREENSHOTS = join(TEST_RESULTS_DIR, 'console');
const LIVE_MS = 15_000;

let dataDir: string;
let hub: Hub;
let browser: Browser;
const contexts: BrowserContext[] = [];
/** What the pages said that shows a problem: CSP violations, uncaught errors. */
const problems: string[] = [];

/** A page in a context of its own (its own IndexedDB and sessionStorage), in English. */
async function openConsole(name: string, viewport: { width: number; height: number }): Promise<Page> {
  const context = await browser.newContext({ viewport, locale: 'en-GB' });
  contexts.push(context);
  const page = await context.newPage();
  page.on('console', (message) => {
    if (message.type() === 'error') problems.push(`[${name}] ${message.text()}`);
  });
  page.on('pageerror', (error) => problems.push(`[${name}] ${error.message}`));
  await page.goto(`${hub.url}/`);
  return page;
}

/** Signs in with the development identity's one button; resolves on the conversations list. */
async function signIn(page: Page, officer: string): Promise<void> {
  await page.locator(`button[data-officer="${officer}"]`).click();
  const listed = page.getByRole('heading', { level: 1, name: 'Conversations' });
  // A failed sign-in says why on the page: fail with that rather than with a timeout.
  await listed.or(page.locator('.error')).first().waitFor({ timeout: LIVE_MS });
  if (!(await listed.isVisible())) throw new Error(`${officer}: ${await page.locator('.error').first().textContent()}`);
  await page.locator('.status.ready').waitFor({ timeout: LIVE_MS });
}

/** Screenshots of the viewport for a reviewer to look at (not compared), in test-results/ (ignored by git). */
function screenshot(page: Page, name: string): Promise<Buffer> {
  return page.screenshot({ path: join(SCREENSHOTS, `${name}.png`), animations: 'disabled' });
}

const skipReason = chromiumSkipReason();
if (skipReason) console.log(`skipped: the web console in Chromium: ${skipReason}`);

describe.skipIf(skipReason !== undefined)('the web console in Chromium', () => {
  beforeAll(async () => {
    dataDir = await makeTempDir();
    const consoleDir = join(dataDir, 'console');
    await buildConsole(consoleDir);
    await mkdir(SCREENSHOTS, { recursive: true });
    // No TRUST_REGISTRY: the hub makes its development agencies and mounts the development sign-in.
    hub = await startHub(
      loadConfig({
        NODE_ENV: 'development',
        HOST: '127.0.0.1',
        PORT: '0',
        LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'silent',
        DATA_DIR: dataDir,
        CONSOLE_DIR: consoleDir,
        REDIS_URL: inject('redisUrl'),
        REDIS_PREFIX: `ncp-console-e2e-${process.pid}:`,
        ...GENEROUS_BUDGETS,
      }),
    );
    expect(hub.development).toBeDefined();
    browser = await launchChromium();
  }, 120_000);

  afterAll(async () => {
    for (const context of contexts) await context.close().catch(() => {});
    await browser?.close();
    await hub?.stop();
    if (dataDir) await rm(dataDir, { recursive: true, force: true });
  });

  it('two officers of two states sign in with one click each and chat end to end, with delivered and read marks', async () => {
    // The UA officer on a phone-sized screen (390 px), the PL officer on a desktop one.
    const ua = await openConsole('ua', { width: 390, height: 844 });
    const pl = await openConsole('pl', { width: 1024, height: 768 });

    await ua.locator('button[data-officer="ua.officer"]').waitFor({ timeout: LIVE_MS });
    await screenshot(ua, 'sign-in-390px');
    await signIn(ua, 'ua.officer');
    await signIn(pl, 'pl.officer');

    // UA: a new conversation with the PL officer, picked from the development identities.
    await ua.getByRole('link', { name: 'New conversation' }).click();
    await ua.getByLabel('Officer of another agency').selectOption('PL-KGP/pl.officer');
    await ua.getByRole('button', { name: 'Start the conversation' }).click();
    await ua
      .getByRole('heading', { level: 1, name: 'Conversation with pl.officer (PL-KGP)' })
      .waitFor({ timeout: LIVE_MS });
    // The send box is reached and used with the keyboard alone.
    await ua.getByRole('textbox', { name: 'Message' }).fill('Hello from Kyiv: case DEV-CASE-1');
    await ua.getByRole('textbox', { name: 'Message' }).press('Enter');
    const uaMine = ua.locator('.message.mine').filter({ hasText: 'Hello from Kyiv' });
    await uaMine.locator('[data-mark]').waitFor({ timeout: LIVE_MS });

    // PL: the conversation appears live in the list, one unread; opening it reads the message.
    const plLink = pl.locator('.conversation-link').filter({ hasText: 'ua.officer (UA-NPU)' });
    await plLink.locator('.badge[data-unread="1"]').waitFor({ timeout: LIVE_MS });
    expect(await plLink.locator('.badge').textContent()).toBe('1 unread');
    await plLink.click();
    await pl
      .locator('.message.theirs')
      .filter({ hasText: 'Hello from Kyiv: case DEV-CASE-1' })
      .waitFor({ timeout: LIVE_MS });
    await pl.getByRole('textbox', { name: 'Message' }).fill('Dzień dobry from Warsaw');
    await pl.getByRole('button', { name: 'Send' }).click();

    // UA: the reply live, and its own message read by the PL officer.
    await ua.locator('.message.theirs').filter({ hasText: 'Dzień dobry from Warsaw' }).waitFor({ timeout: LIVE_MS });
    await uaMine.locator('[data-mark="read"]').waitFor({ timeout: LIVE_MS });
    // PL's reply: the UA officer has it on screen, so it is read too.
    await pl
      .locator('.message.mine')
      .filter({ hasText: 'Dzień dobry from Warsaw' })
      .locator('[data-mark="read"]')
      .waitFor({ timeout: LIVE_MS });

    // Both see the same safety number: 60 digits in groups of five.
    await ua.locator('.safety-number summary').click();
    await pl.locator('.safety-number summary').click();
    const uaNumber = await ua.locator('[data-safety-number]').getAttribute('data-safety-number', { timeout: LIVE_MS });
    const plNumber = await pl.locator('[data-safety-number]').getAttribute('data-safety-number', { timeout: LIVE_MS });
    expect(uaNumber).toMatch(/^(?:\d{5} ){11}\d{5}$/);
    expect(plNumber).toBe(uaNumber);

    // Nothing wider than the 390 px screen.
    expect(await ua.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(390);
    await screenshot(ua, 'conversation-390px');
    await screenshot(pl, 'conversation-desktop');

    // A reload signs the PL tab in again as the same officer with the same device (its keys from
    // IndexedDB): the UA officer's next message reaches it, and no new device is announced to UA.
    await pl.reload();
    await pl.getByText('Signed in as pl.officer (PL-KGP)').waitFor({ timeout: LIVE_MS });
    await pl.locator('.status.ready').waitFor({ timeout: LIVE_MS });
    await ua.getByRole('textbox', { name: 'Message' }).fill('Still there?');
    await ua.getByRole('textbox', { name: 'Message' }).press('Enter');
    await pl.locator('.message.theirs').filter({ hasText: 'Still there?' }).waitFor({ timeout: LIVE_MS });
    await ua
      .locator('.message.mine')
      .filter({ hasText: 'Still there?' })
      .locator('[data-mark="read"]')
      .waitFor({ timeout: LIVE_MS });
    expect(await ua.locator('.warnings li').allTextContents()).toEqual([]);

    // The switch turns the console to Ukrainian.
    await ua.getByLabel('Language').selectOption('uk');
    await ua.getByRole('button', { name: 'Надіслати' }).waitFor();
    expect(await ua.evaluate(() => document.documentElement.lang)).toBe('uk');

    // Sign-out forgets the tab's identity: back to the sign-in page.
    await ua.getByRole('button', { name: 'Вийти' }).click();
    await ua.getByRole('heading', { level: 1, name: 'Вхід' }).waitFor({ timeout: LIVE_MS });
    expect(await ua.evaluate(() => sessionStorage.length)).toBe(0);

    expect(problems).toEqual([]);
  }, 90_000);
});
