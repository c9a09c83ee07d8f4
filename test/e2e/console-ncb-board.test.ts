/**
 * The NCB desk's board of follow-ups and its desktop notifications, in Chromium against one real
 * hub in development mode. The NCB-UA desk signs in (its device published, so that the statements
 * are sealed to it) and enables desktop notifications from its button; the UA officer, an SDK
 * client in this process, opens three queries on three grounds to the PL officer. The board lists
 * them by next deadline, each linked to its page; acknowledging one in the page moves it live to
 * its formal-request deadline (a policy of 3 s for its ground), already passed: first, marked
 * overdue in words, then by the hub's follow-up (OVERDUE), live; a filter by ground and one by status (a query the officer
 * withdrew leaves the default OPEN board live, and the WITHDRAWN filter finds it). Each notification
 * arriving live raised one desktop notification naming the case and the ground, never the
 * statement; after a reload, the one still pending is raised as one summary only.
 */
import { rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { HubClient, MemoryKeyStore } from '@ncp-hub/client-sdk';
import type { Ground, QueryView } from '@ncp-hub/protocol';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chromiumSkipReason } from '../helpers/browser.js';
import { type ConsoleRig, DESKTOP, LIVE_MS, PHONE, startConsoleRig } from '../helpers/console.js';
import { makeTempDir } from '../helpers/hub.js';

let rig: ConsoleRig;
let policyDir: string | undefined;
const clients: HubClient[] = [];

/** A development identity's SDK client in this process: signed in, connected, its device published. */
async function devClient(agency: string, officer: string): Promise<HubClient> {
  const signIn = async (device?: object): Promise<{ token: string; attestation: string | null }> => {
    const response = await fetch(`${rig.url}/v1/dev/sign-in`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ agency, officer, ...device }),
    });
    expect(response.status).toBe(200);
    return (await response.json()) as { token: string; attestation: string | null };
  };
  const client = await HubClient.create({
    url: rig.url,
    token: async () => (await signIn()).token,
    device: 'node-1',
    store: new MemoryKeyStore(),
  });
  clients.push(client);
  const { attestation } = await signIn(client.publicKeys());
  await client.connect();
  await client.publishDevice(attestation ?? '');
  return client;
}

/**
 * Records every Notification the page constructs, then hands it to the browser's own. Headless
 * Chromium shows no notification UI, so what can be observed is the page's call of the
 * constructor with its title and options; the wrapper keeps the static `permission` and
 * `requestPermission` (inherited), so the page sees the permission Playwright granted.
 */
function recordNotifications(): void {
  const Original = window.Notification;
  const seen: Array<{ title: string; body: string; tag: string }> = [];
  class Recorded extends Original {
    constructor(title: string, options?: NotificationOptions) {
      super(title, options);
      seen.push({ title, body: options?.body ?? '', tag: options?.tag ?? '' });
    }
  }
  Object.assign(window, { Notification: Recorded, recordedNotifications: seen });
}

/** The desktop notifications the page constructed since it loaded. */
function recorded(page: Page): Promise<Array<{ title: string; body: string; tag: string }>> {
  return page.evaluate(() => (window as unknown as { recordedNotifications: [] }).recordedNotifications);
}

/** The board's rows, top to bottom, as their case references. */
async function boardCases(page: Page): Promise<string[]> {
  return (await page.locator('.board-row .board-case').allTextContents()).map((text) => text.replace(/^Case /, ''));
}

const skipReason = chromiumSkipReason();
if (skipReason) console.log(`skipped: the NCB desk's board in Chromium: ${skipReason}`);

describe.skipIf(skipReason !== undefined)("the NCB desk's board and desktop notifications in Chromium", () => {
  beforeAll(async () => {
    // IRREVERSIBLE_LOSS's formal request is due 3 s after the opening (no reminders fit in that):
    // once its query is acknowledged, its next deadline has passed.
    policyDir = await makeTempDir();
    const policyFile = join(policyDir, 'policy.json');
    await writeFile(
      policyFile,
      JSON.stringify({ grounds: { IRREVERSIBLE_LOSS: { formalRequestDeadline: '3s', reminders: [] } } }),
    );
    rig = await startConsoleRig({ POLICY_FILE: policyFile });
  }, 120_000);

  afterAll(async () => {
    await Promise.all(clients.map((client) => client.close()));
    await rig?.stop();
    if (policyDir) await rm(policyDir, { recursive: true, force: true });
  });

  it('lists every query by next deadline, filters, follows acknowledgement live, and raises desktop notifications', async () => {
    const desk = await rig.open('ncb-ua', DESKTOP);
    await desk.addInitScript(recordNotifications);
    await desk.reload();
    await rig.signIn(desk, 'ua.ncb.desk', 'NCB desk: notifications');

    // Not yet permitted: the button, which asks the browser from the click.
    const enable = desk.getByRole('button', { name: 'Enable desktop notifications' });
    await enable.waitFor({ timeout: LIVE_MS });
    expect(await desk.locator('.board').textContent()).toContain('Shown: 0 of 0');
    expect(await rig.checkAccessibility(desk)).toEqual([]);
    await rig.contextOf('ncb-ua')?.grantPermissions(['notifications'], { origin: rig.url });
    await enable.click();
    await desk.getByText('Desktop notifications are on: one for each new notification.').waitFor({ timeout: LIVE_MS });
    expect(await enable.count()).toBe(0);

    const ua = await devClient('UA-NPU', 'ua.officer');
    await devClient('PL-KGP', 'pl.officer'); // the counterpart: the question is sealed to its device
    const opened: Record<string, QueryView> = {};
    const cases: Array<[string, Ground]> = [
      ['12026100000000101', 'THREAT_TO_LIFE'],
      ['12026100000000102', 'IRREVERSIBLE_LOSS'],
      ['12026100000000103', 'ABSCONDING_RISK'],
    ];
    const statement = 'A secret the desktop notification must not carry.';
    for (const [caseReference, ground] of cases) {
      const { query } = await ua.openQuery({
        counterpart: { agency: 'PL-KGP', officer: 'pl.officer' },
        caseReference,
        ground,
        statement,
        question: `Question of case ${caseReference}`,
      });
      opened[caseReference] = query;
    }
    const [first, second, third] = cases.map(([reference]) => reference) as [string, string, string];

    // All three notified and unacknowledged: the NCB deadlines (4 h from each opening) in the order opened.
    await desk.locator('[data-pending="3"]').waitFor({ timeout: LIVE_MS });
    await desk.locator('.board [data-shown="3"]').waitFor({ timeout: LIVE_MS });
    expect(await boardCases(desk)).toEqual([first, second, third]);
    const secondRow = desk.locator(`.board-row[data-query="${opened[second]?.id}"]`);
    expect(await secondRow.locator('.board-next').getAttribute('data-track')).toBe('ncb');
    expect(await secondRow.textContent()).toContain('Irreversible loss of important information');
    expect(await secondRow.getByRole('link').getAttribute('href')).toBe(`#/q/${opened[second]?.id}`);
    await rig.screenshot(desk, 'ncb-board');
    expect(await rig.checkAccessibility(desk)).toEqual([]);

    // One desktop notification per notification that arrived live: the case and the ground, not the statement.
    await expect.poll(async () => (await recorded(desk)).length, { timeout: LIVE_MS }).toBe(3);
    const live = await recorded(desk);
    expect(live.map((n) => n.title)).toEqual(cases.map(([reference]) => `Operational query, case ${reference}`));
    expect(live[0]?.body).toBe('Ground: Threat to life or health. Open the NCB desk to read and acknowledge it.');
    for (const notification of live) expect(JSON.stringify(notification)).not.toContain(statement);

    // Acknowledged in the page: the row shows it live, and its next deadline is now the formal
    // request's (3 s after the opening), passed: first, overdue in words and with its icon.
    await desk
      .locator('.notification')
      .filter({ hasText: `case ${second}` })
      .getByRole('button', { name: 'Acknowledge' })
      .click();
    await secondRow.and(desk.locator('[data-ncb="ACKNOWLEDGED"]')).waitFor({ timeout: LIVE_MS });
    const secondNext = secondRow.locator('.board-next');
    expect(await secondNext.getAttribute('data-track')).toBe('formal-request');
    expect(await boardCases(desk)).toEqual([second, first, third]);
    // The hub's follow-up makes it OVERDUE (its escalation reaches the desk): the row says so, live.
    await secondRow.and(desk.locator('[data-formal="OVERDUE"]')).waitFor({ timeout: LIVE_MS });
    expect(await secondNext.getAttribute('data-overdue')).toBe('true');
    expect(await secondNext.textContent()).toMatch(/^⚠ Overdue: Formal request due \d+ min ago/);
    expect(await secondRow.textContent()).toContain('Formal request overdue');
    expect(await boardCases(desk)).toEqual([second, first, third]);
    await secondRow.scrollIntoViewIfNeeded();
    await rig.screenshot(desk, 'ncb-board-overdue');

    // By ground: the one of that ground.
    await desk.getByLabel('Ground', { exact: true }).selectOption('ABSCONDING_RISK');
    await desk.locator('.board [data-shown="1"]').waitFor({ timeout: LIVE_MS });
    expect(await boardCases(desk)).toEqual([third]);
    expect(await desk.locator('.board').textContent()).toContain('Shown: 1 of 3');
    await rig.screenshot(desk, 'ncb-board-filtered');
    expect(await rig.checkAccessibility(desk)).toEqual([]);
    await desk.getByRole('button', { name: 'Show all open queries' }).click();
    await desk.locator('.board [data-shown="3"]').waitFor({ timeout: LIVE_MS });

    // By status: a withdrawn query leaves the default (open) board live; the WITHDRAWN filter finds it.
    await ua.withdrawQuery(opened[third]?.id ?? '', 'The suspect was arrested in Ukraine.');
    await desk.locator('.board [data-shown="2"]').waitFor({ timeout: LIVE_MS });
    expect(await boardCases(desk)).toEqual([second, first]);
    await desk.getByLabel('Status', { exact: true }).selectOption('WITHDRAWN');
    await desk.locator('.board [data-shown="1"]').waitFor({ timeout: LIVE_MS });
    expect(await boardCases(desk)).toEqual([third]);
    const withdrawn = desk.locator('.board-row').first();
    expect(await withdrawn.textContent()).toContain('Withdrawn');
    expect(await withdrawn.textContent()).toContain('Nothing due');

    // On a phone (390 px): nothing wider than the screen.
    await desk.setViewportSize(PHONE);
    expect(await desk.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(390);
    await rig.screenshot(desk, 'ncb-board-filtered-390px');
    expect(await rig.checkAccessibility(desk)).toEqual([]);

    // In Ukrainian: the board's words, the filter kept.
    await desk.locator('header select').selectOption('uk');
    await desk.getByRole('heading', { level: 2, name: 'Контроль виконання' }).waitFor({ timeout: LIVE_MS });
    expect(await desk.locator('.board').textContent()).toContain('Показано: 1 з 3');
    expect(await desk.getByLabel('Підстава', { exact: true }).textContent()).toContain('Будь-який');
    await desk.locator('header select').selectOption('en');
    await desk.setViewportSize(DESKTOP);

    // A reload signs in again: the one still pending (the first) is raised as one summary, not by case.
    await desk.reload();
    await desk.locator('.status.ready').waitFor({ timeout: LIVE_MS });
    await desk.locator('[data-pending="1"]').waitFor({ timeout: LIVE_MS });
    await expect.poll(async () => (await recorded(desk)).length, { timeout: LIVE_MS }).toBe(1);
    expect(await recorded(desk)).toEqual([
      { title: 'NCB desk', body: 'Waiting for acknowledgement since you signed in: 1.', tag: 'ncp-pending' },
    ]);
    expect(rig.problems).toEqual([]);
  }, 120_000);
});
