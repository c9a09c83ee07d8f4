/**
 * The web console end to end: built with its Vite configuration, served by one real hub in
 * development mode (CONSOLE_DIR), in two Chromium contexts (two tabs of two states). Each signs
 * in with one click (device keys made and kept in the page's IndexedDB, attested by the
 * development sign-in); the UA officer starts a conversation with the PL officer and writes,
 * the PL officer sees it live (unread in the list) and replies, the UA officer sees the reply
 * and its own message marked read. Then an operational query: the UA officer opens one on
 * ABSCONDING_RISK (a first try without a statement is refused, the reason said in words), the
 * NCB-UA desk sees the notification live with the statement decrypted in its page, again after
 * a reload (pending since sign-in), and acknowledges, and the UA officer's follow-up shows the NCB track acknowledged, live.
 * No page breaks the hub's Content-Security-Policy.
 */
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chromiumSkipReason } from '../helpers/browser.js';
import { type ConsoleRig, DESKTOP, LIVE_MS, PHONE, startConsoleRig } from '../helpers/console.js';

let rig: ConsoleRig;
let problems: string[];
const openConsole = (name: string, viewport: { width: number; height: number }): Promise<Page> =>
  rig.open(name, viewport);
const signIn = (page: Page, officer: string, home?: string): Promise<void> => rig.signIn(page, officer, home);
const screenshot = (page: Page, name: string): Promise<void> => rig.screenshot(page, name);

const skipReason = chromiumSkipReason();
if (skipReason) console.log(`skipped: the web console in Chromium: ${skipReason}`);

describe.skipIf(skipReason !== undefined)('the web console in Chromium', () => {
  beforeAll(async () => {
    rig = await startConsoleRig();
    problems = rig.problems;
    expect(rig.hub.development).toBeDefined();
  }, 120_000);

  afterAll(async () => {
    await rig?.stop();
  });

  it('two officers of two states sign in with one click each and chat end to end, with delivered and read marks', async () => {
    // The UA officer on a phone-sized screen (390 px), the PL officer on a desktop one.
    const ua = await openConsole('ua', PHONE);
    const pl = await openConsole('pl', DESKTOP);

    await ua.locator('button[data-officer="ua.officer"]').waitFor({ timeout: LIVE_MS });
    await screenshot(ua, 'sign-in-390px');
    await rig.expectAccessible(ua);
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
    await rig.expectAccessible(ua);
    await rig.expectAccessible(pl);
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

  it('an officer opens an operational query, the NCB desk reads the statement live and acknowledges, the follow-up shows it', async () => {
    // Every reader has a published device before the query opens: the statement is sealed to the
    // NCB desks' devices, the question to the counterpart's.
    // The officers' pages of the chat above when it ran (their devices, no new one to announce).
    const desk = await openConsole('ncb-ua', DESKTOP);
    const pl = await openConsole('pl', DESKTOP);
    const ua = await openConsole('ua', PHONE);
    await ua.locator('header select').selectOption('en'); // the chat above left it in Ukrainian
    await signIn(desk, 'ua.ncb.desk', 'NCB desk: notifications');
    await signIn(pl, 'pl.officer');
    await signIn(ua, 'ua.officer');
    expect(await desk.title()).toBe('NCP Hub console');

    await ua.getByRole('link', { name: 'New operational query' }).click();
    await ua.getByRole('heading', { level: 1, name: 'New operational query' }).waitFor({ timeout: LIVE_MS });
    await ua.getByLabel('Officer of another state').selectOption('PL-KGP/pl.officer');
    await ua.getByLabel('National case reference').fill('12026100000000042');
    // Each ground with its legal wording (the seed's words).
    const absconding = ua.getByRole('radio', { name: /Risk the suspect absconds or can no longer be identified/ });
    expect(await ua.locator('fieldset.grounds').textContent()).toContain(
      'Real grounds for the suspect to abscond, or his subsequent identification will be impossible.',
    );
    await absconding.check();
    await ua.getByLabel('Question').fill('Is Ivan Horbenko registered at a hotel in Warsaw?');
    // No statement: refused, and the refusal said in words (QUERY_STATEMENT_REQUIRED from the catalogue).
    await ua.getByRole('button', { name: 'Open the query' }).click();
    const refusal = ua.getByRole('alert');
    await refusal.waitFor({ timeout: LIVE_MS });
    expect(await refusal.textContent()).toBe(
      'The query was not opened: the statement of the specific grounds is required: say why this case meets the ground.',
    );
    expect(await ua.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(390);
    await screenshot(ua, 'query-form-refused-390px');
    await rig.expectAccessible(ua);

    const statement = 'The suspect bought a one-way ticket Warsaw-Dubai for tonight.';
    await ua.getByLabel('Statement of the specific grounds').fill(statement);
    await ua.getByRole('button', { name: 'Open the query' }).click();
    await ua
      .getByRole('heading', { level: 1, name: 'Operational query, case 12026100000000042' })
      .waitFor({ timeout: LIVE_MS });
    const uaNcbTrack = ua.locator('[data-track="ncb"]');
    await uaNcbTrack.and(ua.locator('[data-state="NOTIFIED"]')).waitFor({ timeout: LIVE_MS });
    expect(await uaNcbTrack.textContent()).toContain('Notified, awaiting acknowledgement');
    expect(await ua.locator('[data-track="formal-request"]').textContent()).toContain('Awaiting the formal request');
    // The deadline counts down, its absolute time on hover.
    const deadline = ua.locator('[data-track="formal-request"] time');
    expect(await deadline.textContent()).toMatch(/^in \d+/);
    expect(await deadline.getAttribute('title')).toMatch(/\d/);

    // The desk: the notification live, the statement decrypted in its page, the count in the title.
    const notification = desk.locator('.notification').filter({ hasText: 'case 12026100000000042' });
    await notification.locator('.statement').waitFor({ timeout: LIVE_MS });
    expect(await notification.locator('.statement').textContent()).toBe(statement);
    expect(await notification.locator('[data-ground]').getAttribute('data-ground')).toBe('ABSCONDING_RISK');
    expect(await notification.textContent()).toContain('ua.officer (UA-NPU, UA)');
    expect(await notification.textContent()).toContain('pl.officer (PL-KGP, PL)');
    await desk.locator('[data-pending="1"]').waitFor({ timeout: LIVE_MS });
    expect(await desk.title()).toBe('(1) NCP Hub console');
    await screenshot(desk, 'ncb-desk');
    await rig.expectAccessible(desk);
    // A reload (the same device): the notification, still unacknowledged, is there again (the hub's
    // pending list at sign-in; the SDK delivers each event once per device), its statement decrypted.
    await desk.reload();
    await desk.locator('.status.ready').waitFor({ timeout: LIVE_MS });
    await notification.locator('.statement').waitFor({ timeout: LIVE_MS });
    expect(await notification.locator('.statement').textContent()).toBe(statement);
    await desk.locator('[data-pending="1"]').waitFor({ timeout: LIVE_MS });
    expect(await desk.title()).toBe('(1) NCP Hub console');
    // Acknowledged with the keyboard.
    await notification.getByRole('button', { name: 'Acknowledge' }).focus();
    await desk.keyboard.press('Enter');
    await desk.locator('[data-pending="0"]').waitFor({ timeout: LIVE_MS });
    await notification.locator('[data-track="ncb"][data-state="ACKNOWLEDGED"]').waitFor({ timeout: LIVE_MS });
    expect(await desk.title()).toBe('NCP Hub console');

    // The UA officer's follow-up: the NCB track acknowledged, live (the SDK's query event).
    await uaNcbTrack.and(ua.locator('[data-state="ACKNOWLEDGED"]')).waitFor({ timeout: LIVE_MS });
    expect(await uaNcbTrack.textContent()).toContain('Acknowledged — by ua.ncb.desk (NCB-UA)');
    await screenshot(ua, 'query-follow-up-390px');
    await rig.expectAccessible(ua);

    // The counterpart: the query's conversation in the list, the question decrypted, and from it
    // the follow-up (the hub lets the counterpart's agency see the query).
    await pl.evaluate(() => {
      location.hash = '#/';
    });
    const plQuery = pl.locator('.conversation-link').filter({ hasText: 'Operational query, case 12026100000000042' });
    await plQuery.click({ timeout: LIVE_MS });
    await pl
      .locator('.message.theirs')
      .filter({ hasText: 'Is Ivan Horbenko registered at a hotel in Warsaw?' })
      .waitFor({ timeout: LIVE_MS });
    await pl.getByRole('link', { name: 'The follow-up of the operational query, case 12026100000000042' }).click();
    await pl.locator('[data-track="ncb"][data-state="ACKNOWLEDGED"]').waitFor({ timeout: LIVE_MS });
    expect(await ua.locator('.warnings li').allTextContents()).toEqual([]);

    // The follow-up in Ukrainian: the catalogue's words for the tracks and the ground.
    await ua.locator('header select').selectOption('uk');
    await ua
      .getByRole('heading', { level: 1, name: 'Оперативний запит, справа 12026100000000042' })
      .waitFor({ timeout: LIVE_MS });
    expect(await uaNcbTrack.textContent()).toContain('Підтверджено');
    expect(await ua.locator('.facts').textContent()).toContain(
      'Ризик, що підозрюваний переховуватиметься або його не вдасться встановити',
    );
    expect(problems).toEqual([]);
  }, 90_000);
});
