import { mkdir, readFile, rm } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { join, resolve } from 'node:path';
import { type Hub, loadConfig, startHub } from '@ncp-hub/server';
import type { Browser, BrowserContext, Locator, Page } from 'playwright-core';
import { build } from 'vite';
import { expect, inject } from 'vitest';
import { launchChromium } from './browser.js';
import { GENEROUS_BUDGETS, makeTempDir } from './hub.js';

/** The console workspace (console/). */
export const CONSOLE_ROOT = resolve(import.meta.dirname, '../../console');

/** Where the browser tests write their screenshots (ignored by git). */
export const TEST_RESULTS_DIR = resolve(import.meta.dirname, '../../test-results');

/** How long a test waits for something to show up live in a page. */
export const LIVE_MS = 15_000;

/** Builds the web console with its own Vite configuration into `outDir`, as `npm run console:build` does into console/dist. */
export async function buildConsole(outDir: string): Promise<void> {
  await build({
    root: CONSOLE_ROOT,
    configFile: join(CONSOLE_ROOT, 'vite.config.ts'),
    logLevel: 'warn',
    build: { outDir, emptyOutDir: true },
  });
}

/** axe-core's source, injected into pages by {@link ConsoleRig.checkAccessibility}. */
let axeSource: string | undefined;
async function loadAxe(): Promise<string> {
  axeSource ??= await readFile(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');
  return axeSource;
}

/** One axe finding, as the tests report it. */
export interface AccessibilityViolation {
  id: string;
  impact: string | null;
  help: string;
  targets: string[];
}

/**
 * One real hub (development mode unless `env` says otherwise) serving a freshly built console,
 * and one Chromium: pages by name, each in a context of its own (its own IndexedDB and
 * sessionStorage), so that a test coming back to a person finds their page and device.
 */
export interface ConsoleRig {
  hub: Hub;
  url: string;
  /** The hub's data folder (development keys, hub key). */
  dataDir: string;
  browser: Browser;
  /** What the pages said that shows a problem: CSP violations, uncaught errors. */
  problems: string[];
  /** The page of `name` (made on first use, in English unless `locale` says otherwise), resized to `viewport`. */
  open(name: string, viewport?: { width: number; height: number }, locale?: string): Promise<Page>;
  /** The context of a page opened by {@link open}. */
  contextOf(name: string): BrowserContext | undefined;
  /** Signs in with the development identity's one button; resolves on its home view (`home`: the level-1 heading). */
  signIn(page: Page, officer: string, home?: string): Promise<void>;
  /** A screenshot of the viewport in test-results/console/ (for a reviewer; never compared). */
  screenshot(page: Page, name: string): Promise<void>;
  /** axe-core in the page: the serious and critical violations of what it shows now (none expected). */
  checkAccessibility(page: Page): Promise<AccessibilityViolation[]>;
  /** Expects {@link checkAccessibility} to find nothing on what `page` shows now. */
  expectAccessible(page: Page): Promise<void>;
  stop(): Promise<void>;
}

/**
 * Presses Tab (Shift+Tab with `backwards`) until `target` has the focus, as a person with a
 * keyboard alone would: fails after `max` presses (the control cannot be reached that way).
 */
export async function tabTo(page: Page, target: Locator, { max = 80, backwards = false } = {}): Promise<void> {
  await target.waitFor({ timeout: LIVE_MS });
  for (let i = 0; i < max; i++) {
    if (await target.evaluate((element) => element === document.activeElement)) return;
    await page.keyboard.press(backwards ? 'Shift+Tab' : 'Tab');
  }
  throw new Error(`not reachable with ${max} presses of Tab: ${target}`);
}

/** Goes to the page's home view (`home`: its level-1 heading), as the console's own links do. */
export async function goHome(page: Page, home: string): Promise<void> {
  await page.evaluate(() => {
    location.hash = '#/';
  });
  await page.getByRole('heading', { level: 1, name: home }).waitFor({ timeout: LIVE_MS });
}

/** The id of the query whose page is on screen (`#/q/<id>`). */
export async function queryIdOf(page: Page): Promise<string> {
  const id = /^#\/q\/([A-Za-z0-9_-]+)$/.exec(await page.evaluate(() => location.hash))?.[1];
  if (!id) throw new Error('not on a query page');
  return id;
}

/** What the operational query form is filled with (see {@link openQueryWithForm}). */
export interface QueryForm {
  caseReference: string;
  /** The ground's radio, by its name (e.g. /Risk the suspect absconds/). */
  ground: RegExp;
  statement: string;
  question: string;
  /** The counterpart's option in the directory's choice. */
  counterpart?: string;
}

/**
 * Opens an operational query through the console's form, as the officer of `page` (from the
 * home view); resolves on the query's page with the query's id.
 */
export async function openQueryWithForm(page: Page, form: QueryForm): Promise<string> {
  await goHome(page, 'Conversations');
  await page.getByRole('link', { name: 'New operational query' }).click();
  await page.getByRole('heading', { level: 1, name: 'New operational query' }).waitFor({ timeout: LIVE_MS });
  await page.getByLabel('Officer of another state').selectOption(form.counterpart ?? 'PL-KGP/pl.officer');
  await page.getByLabel('National case reference').fill(form.caseReference);
  await page.getByRole('radio', { name: form.ground }).check();
  await page.getByLabel('Statement of the specific grounds').fill(form.statement);
  await page.getByLabel('Question').fill(form.question);
  await page.getByRole('button', { name: 'Open the query' }).click();
  await page
    .getByRole('heading', { level: 1, name: `Operational query, case ${form.caseReference}` })
    .waitFor({ timeout: LIVE_MS });
  return queryIdOf(page);
}

export const DESKTOP = { width: 1024, height: 768 };
export const PHONE = { width: 390, height: 844 };

/** Starts a {@link ConsoleRig}: builds the console, starts the hub on the suite's Redis, launches Chromium. */
export async function startConsoleRig(env: Record<string, string> = {}): Promise<ConsoleRig> {
  const dataDir = await makeTempDir();
  const consoleDir = join(dataDir, 'console');
  const screenshots = join(TEST_RESULTS_DIR, 'console');
  await buildConsole(consoleDir);
  await mkdir(screenshots, { recursive: true });
  // No TRUST_REGISTRY: the hub makes its development agencies and mounts the development sign-in.
  const hub = await startHub(
    loadConfig({
      NODE_ENV: 'development',
      HOST: '127.0.0.1',
      PORT: '0',
      LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'silent',
      DATA_DIR: dataDir,
      CONSOLE_DIR: consoleDir,
      REDIS_URL: inject('redisUrl'),
      REDIS_PREFIX: `ncp-console-${process.pid}-${Math.random().toString(36).slice(2, 8)}:`,
      ...GENEROUS_BUDGETS,
      ...env,
    }),
  );
  const browser = await launchChromium();
  const problems: string[] = [];
  const pages = new Map<string, { page: Page; context: BrowserContext }>();

  const rig: ConsoleRig = {
    hub,
    url: hub.url,
    dataDir,
    browser,
    problems,
    async open(name, viewport = DESKTOP, locale = 'en-GB') {
      const known = pages.get(name);
      if (known) {
        await known.page.setViewportSize(viewport);
        return known.page;
      }
      const context = await browser.newContext({ viewport, locale });
      const page = await context.newPage();
      page.on('console', (message) => {
        // On a hub not in development mode, the sign-in page's GET /v1/dev/identities is answered
        // 404 by design (PROTOCOL 8.1), which Chromium logs as an error: not a problem.
        const devProbe = new URL(message.location().url || 'about:blank', hub.url).pathname === '/v1/dev/identities';
        if (message.type() === 'error' && !(devProbe && hub.development === undefined)) {
          problems.push(`[${name}] ${message.text()}`);
        }
      });
      page.on('pageerror', (error) => problems.push(`[${name}] ${error.message}`));
      await page.goto(`${hub.url}/`);
      pages.set(name, { page, context });
      return page;
    },
    contextOf(name) {
      return pages.get(name)?.context;
    },
    async signIn(page, officer, home = 'Conversations') {
      // A page already signed in (an earlier test's) goes to its home view.
      if (await page.getByText(new RegExp(`^Signed in as ${officer.replaceAll('.', '\\.')} \\(`)).isVisible()) {
        await page.evaluate(() => {
          location.hash = '#/';
        });
        await page.getByRole('heading', { level: 1, name: home }).waitFor({ timeout: LIVE_MS });
        return;
      }
      await page.locator(`button[data-officer="${officer}"]`).click({ timeout: LIVE_MS });
      const listed = page.getByRole('heading', { level: 1, name: home });
      // A failed sign-in says why on the page: fail with that rather than with a timeout.
      await listed.or(page.locator('.error')).first().waitFor({ timeout: LIVE_MS });
      if (!(await listed.isVisible())) {
        throw new Error(`${officer}: ${await page.locator('.error').first().textContent()}`);
      }
      await page.locator('.status.ready').waitFor({ timeout: LIVE_MS });
    },
    async screenshot(page, name) {
      await page.screenshot({ path: join(screenshots, `${name}.png`), animations: 'disabled' });
    },
    async checkAccessibility(page) {
      // Evaluated through the DevTools protocol, which the page's CSP does not govern (an injected
      // <script> would be refused, as it should be).
      if (!(await page.evaluate(() => 'axe' in window))) await page.evaluate(await loadAxe());
      return page.evaluate(async () => {
        // biome-ignore lint/suspicious/noExplicitAny: axe is injected above, untyped in the page.
        const axe = (window as any).axe;
        const result = await axe.run(document, { resultTypes: ['violations'] });
        return (
          result.violations as Array<{
            id: string;
            impact: string | null;
            help: string;
            nodes: Array<{ target: string[] }>;
          }>
        )
          .filter((v) => v.impact === 'serious' || v.impact === 'critical')
          .map((v) => ({ id: v.id, impact: v.impact, help: v.help, targets: v.nodes.map((n) => n.target.join(' ')) }));
      });
    },
    async expectAccessible(page) {
      expect(await rig.checkAccessibility(page)).toEqual([]);
    },
    async stop() {
      for (const { context } of pages.values()) await context.close().catch(() => {});
      await browser.close().catch(() => {});
      await hub.stop();
      await rm(dataDir, { recursive: true, force: true });
    },
  };
  return rig;
}
