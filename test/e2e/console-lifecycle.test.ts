/**
 * An operational query's whole life in the web console, five people in five browser contexts
 * of one real Chromium against one real hub in development mode (real Redis, real follow-up
 * workers, libsodium in every page):
 *
 * 1. the UA officer opens a query on ABSCONDING_RISK to the PL officer;
 * 2. the PL officer reads the question (decrypted in the PL page) and answers;
 * 3. the NCB-UA desk sees the notification live, the statement decrypted in its page, and
 *    acknowledges;
 * 4. the UA officer registers the formal request through UA-PGO;
 * 5. the UA-PGO central authority confirms it;
 * 6. every context shows the query CLOSED (the officers' follow-ups, the desk's board, the
 *    authority's list, the auditor's log);
 * 7. the auditor exports the trail and verifies it in the browser.
 *
 * Then the same life walked with the keyboard alone (Tab, Shift+Tab, Enter, Space, typing), and
 * a device key changed behind the UA officer's back (the PL officer's device republished with
 * other keys) shown as a warning in words.
 */
import { HubClient, MemoryKeyStore } from '@ncp-hub/client-sdk';
import { redisKeys } from '@ncp-hub/server';
import { Redis } from 'ioredis';
import type { Locator, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { chromiumSkipReason } from '../helpers/browser.js';
import {
  type ConsoleRig,
  goHome,
  LIVE_MS,
  openQueryWithForm,
  PHONE,
  queryIdOf,
  startConsoleRig,
  tabTo,
} from '../helpers/console.js';

let rig: ConsoleRig;

/** Presses Tab until `target` has the focus, then `key` (Enter by default). */
async function press(page: Page, target: Locator, key = 'Enter'): Promise<void> {
  await tabTo(page, target);
  await page.keyboard.press(key);
}

/** Whether `control` (focused) draws its focus: an outline or a box shadow. */
function visibleFocus(control: Locator): Promise<boolean> {
  return control.evaluate((element) => {
    const style = getComputedStyle(element);
    return element === document.activeElement && (style.outlineStyle !== 'none' || style.boxShadow !== 'none');
  });
}

/** Reaches `field` with Tab and types `text` into it. */
async function typeInto(page: Page, field: Locator, text: string): Promise<void> {
  await tabTo(page, field);
  await page.keyboard.type(text);
}

/** Reaches a <select> with Tab and moves its choice with the arrow keys until its value is `value`. */
async function chooseWithKeys(page: Page, select: Locator, value: string): Promise<void> {
  await tabTo(page, select);
  await select.locator(`option[value="${value}"]`).waitFor({ state: 'attached', timeout: LIVE_MS });
  const options = await select.locator('option').evaluateAll((all) => all.map((o) => (o as HTMLOptionElement).value));
  const from = options.indexOf(await select.inputValue());
  const to = options.indexOf(value);
  for (let i = from; i !== to; i += to > from ? 1 : -1) await page.keyboard.press(to > from ? 'ArrowDown' : 'ArrowUp');
  expect(await select.inputValue()).toBe(value);
}

const HOMES = {
  officer: 'Conversations',
  desk: 'NCB desk: notifications',
  authority: 'Central authority: formal requests',
  auditor: 'Audit log',
} as const;

const skipReason = chromiumSkipReason();
if (skipReason) console.log(`skipped: an operational query's life in the console, in Chromium: ${skipReason}`);

describe.skipIf(skipReason !== undefined)("an operational query's life in the console, five people in Chromium", () => {
  beforeAll(async () => {
    rig = await startConsoleRig();
    // Every reader has a published device before a query opens: the statement is sealed to the
    // NCB desk's devices, the question to the counterpart's.
    await rig.signIn(await rig.open('ncb-ua'), 'ua.ncb.desk', HOMES.desk);
    await rig.signIn(await rig.open('pl'), 'pl.officer', HOMES.officer);
    await rig.signIn(await rig.open('ua', PHONE), 'ua.officer', HOMES.officer);
    await rig.signIn(await rig.open('pgo'), 'ua.pgo.clerk', HOMES.authority);
    await rig.signIn(await rig.open('auditor'), 'ua.auditor', HOMES.auditor);
  }, 120_000);

  afterAll(async () => {
    await rig?.stop();
  });

  it('opened on ABSCONDING_RISK, answered, acknowledged live, filed, confirmed: closed for all five, the trail verified in the browser', async () => {
    const [ua, pl, desk, pgo, auditor] = await Promise.all([
      rig.open('ua', PHONE),
      rig.open('pl'),
      rig.open('ncb-ua'),
      rig.open('pgo'),
      rig.open('auditor'),
    ]);
    const caseReference = '12026100000000777';
    const statement = 'The suspect booked a flight Warsaw-Istanbul for tonight under his own name.';
    const question = 'Is Taras Melnyk registered at a hotel in Warsaw?';

    // 1. The UA officer opens the query.
    const id = await openQueryWithForm(ua, {
      caseReference,
      ground: /Risk the suspect absconds or can no longer be identified/,
      statement,
      question,
    });
    const uaTimeline = ua.locator('.timeline');

    // 2. The PL officer: the query's conversation in the list, the question decrypted, an answer.
    const plQuery = pl.locator('.conversation-link').filter({ hasText: `Operational query, case ${caseReference}` });
    await plQuery.click({ timeout: LIVE_MS });
    await pl.locator('.message.theirs').filter({ hasText: question }).waitFor({ timeout: LIVE_MS });
    await pl.getByRole('textbox', { name: 'Message' }).fill('Yes: Hotel Bristol, room 214, until tomorrow.');
    await pl.getByRole('textbox', { name: 'Message' }).press('Enter');
    await ua.locator('[data-event="ANSWERED"]').waitFor({ timeout: LIVE_MS });

    // 3. The desk: the notification live, the statement decrypted in its page; acknowledged.
    const notification = desk.locator(`.notification[data-query="${id}"]`);
    await notification.locator('.statement').waitFor({ timeout: LIVE_MS });
    expect(await notification.locator('.statement').textContent()).toBe(statement);
    expect(await notification.locator('[data-ground]').getAttribute('data-ground')).toBe('ABSCONDING_RISK');
    await rig.screenshot(desk, 'lifecycle-ncb-notification');
    await rig.expectAccessible(desk);
    await notification.getByRole('button', { name: 'Acknowledge' }).click();
    await ua.locator('[data-track="ncb"][data-state="ACKNOWLEDGED"]').waitFor({ timeout: LIVE_MS });

    // 4. The UA officer registers the formal request through UA-PGO.
    const form = ua.locator('form[data-form="filing"]');
    await form.getByLabel('Reference of the formal request').fill('MLA/2026/0777');
    await form.getByLabel('Instrument').selectOption('MLA_REQUEST');
    await form.getByLabel('Central authority').selectOption('UA-PGO');
    await form.getByRole('button', { name: 'Register the formal request' }).click();
    await ua.locator('[data-track="formal-request"][data-state="FILED"]').waitFor({ timeout: LIVE_MS });

    // 5. The central authority: the request arrives live; confirmed.
    const request = pgo.locator('[data-list="waiting"] li[data-query]').filter({ hasText: caseReference });
    await request.getByRole('button', { name: 'Confirm receipt' }).click({ timeout: LIVE_MS });

    // 6. Closed, in every context.
    await ua.locator('dd[data-status="CLOSED"]').waitFor({ timeout: LIVE_MS });
    // The timeline is fetched again on each event of the query: it may come a moment after the status.
    await uaTimeline.locator('[data-event="CLOSED"]').waitFor({ timeout: LIVE_MS });
    expect(await uaTimeline.locator('li').evaluateAll((items) => items.map((li) => li.dataset.event))).toEqual([
      'OPENED',
      'NCB_NOTIFIED',
      'ANSWERED',
      'NCB_ACKNOWLEDGED',
      'FILED',
      'CONFIRMED',
      'CLOSED',
    ]);
    await rig.screenshot(ua, 'lifecycle-officer-closed-390px');
    await rig.expectAccessible(ua);
    await pl.getByRole('link', { name: `The follow-up of the operational query, case ${caseReference}` }).click();
    await pl.locator('dd[data-status="CLOSED"]').waitFor({ timeout: LIVE_MS });
    await pgo
      .locator('[data-list="done"] li[data-query]')
      .filter({ hasText: caseReference })
      .locator('dd[data-status="CLOSED"]')
      .waitFor({ timeout: LIVE_MS });
    const boardRow = desk.locator(`.board-row[data-query="${id}"]`);
    await desk.getByLabel('Status', { exact: true }).selectOption('CLOSED');
    await boardRow.and(desk.locator('[data-status="CLOSED"]')).waitFor({ timeout: LIVE_MS });
    await rig.screenshot(desk, 'lifecycle-ncb-board-closed');
    await rig.expectAccessible(desk);

    // The auditor: the query's entries, the closing among them.
    await auditor.getByLabel('Query id').fill(id);
    await auditor.getByRole('button', { name: 'Apply the filters' }).click();
    const types = () => auditor.locator('.audit-table tbody tr').evaluateAll((rows) => rows.map((r) => r.textContent));
    await expect
      .poll(async () => (await types()).some((text) => text?.includes('query.CLOSED')), {
        timeout: LIVE_MS,
      })
      .toBe(true);
    for (const event of ['OPENED', 'NCB_ACKNOWLEDGED', 'ANSWERED', 'FILED', 'CONFIRMED']) {
      expect((await types()).some((text) => text?.includes(`query.${event}`))).toBe(true);
    }
    // Content never enters the log: neither the statement nor the question.
    expect(await auditor.locator('.audit-table').textContent()).not.toContain('Warsaw');

    // 7. The export verified in the auditor's browser, against the hub's key.
    await auditor.getByRole('button', { name: 'Verify in this browser' }).click();
    const verdict = auditor.locator('.audit-verdict');
    await verdict.waitFor({ timeout: LIVE_MS });
    expect(await verdict.getAttribute('data-ok')).toBe('true');
    expect(await verdict.locator('.audit-verdict-line').textContent()).toMatch(
      /^✓ OK: \d+ entries \(\d+ of other agencies redacted\), [1-9]\d* signed checkpoints/,
    );
    await rig.screenshot(auditor, 'lifecycle-auditor-verified');
    await rig.expectAccessible(auditor);

    for (const page of [ua, pl, desk]) expect(await page.locator('.warnings li').allTextContents()).toEqual([]);
    expect(rig.problems).toEqual([]);
  }, 120_000);

  it('the same life walked with the keyboard alone', async () => {
    const [ua, pl, desk, pgo] = await Promise.all([
      rig.open('ua', PHONE),
      rig.open('pl'),
      rig.open('ncb-ua'),
      rig.open('pgo'),
    ]);
    const caseReference = '12026100000000888';
    for (const [page, home] of [
      [ua, HOMES.officer],
      [pl, HOMES.officer],
      [desk, HOMES.desk],
      [pgo, HOMES.authority],
    ] as const) {
      await goHome(page, home);
      await page.locator('body').focus();
    }

    // The officer: from the top of the page to the query form, every field by Tab. The control
    // reached shows its focus (an outline or a ring: :focus-visible).
    const newQuery = ua.getByRole('link', { name: 'New operational query' });
    await tabTo(ua, newQuery);
    expect(await visibleFocus(newQuery)).toBe(true);
    await ua.keyboard.press('Enter');
    await ua.getByRole('heading', { level: 1, name: 'New operational query' }).waitFor({ timeout: LIVE_MS });
    await chooseWithKeys(ua, ua.getByLabel('Officer of another state'), 'PL-KGP/pl.officer');
    await typeInto(ua, ua.getByLabel('National case reference'), caseReference);
    // The grounds are one radio group: Tab enters it, the arrows move within it.
    const grounds = ua.getByRole('radio');
    await tabTo(ua, grounds.first());
    await ua.keyboard.press('Space');
    const absconding = ua.getByRole('radio', { name: /Risk the suspect absconds/ });
    for (let i = 0; i < 3 && !(await absconding.isChecked()); i++) await ua.keyboard.press('ArrowDown');
    expect(await absconding.isChecked()).toBe(true);
    await typeInto(ua, ua.getByLabel('Statement of the specific grounds'), 'A one-way ticket for tonight.');
    await typeInto(ua, ua.getByLabel('Question'), 'Is he still at the address in Krakow?');
    await press(ua, ua.getByRole('button', { name: 'Open the query' }));
    await ua
      .getByRole('heading', { level: 1, name: `Operational query, case ${caseReference}` })
      .waitFor({ timeout: LIVE_MS });
    const id = await queryIdOf(ua);

    // The desk acknowledges with the keyboard.
    const acknowledge = desk.locator(`.notification[data-query="${id}"]`).getByRole('button', { name: 'Acknowledge' });
    await press(desk, acknowledge);
    await ua.locator('[data-track="ncb"][data-state="ACKNOWLEDGED"]').waitFor({ timeout: LIVE_MS });

    // The officer registers the formal request with the keyboard.
    const form = ua.locator('form[data-form="filing"]');
    await typeInto(ua, form.getByLabel('Reference of the formal request'), 'MLA/2026/0888');
    await chooseWithKeys(ua, form.getByLabel('Instrument'), 'EUROPEAN_INVESTIGATION_ORDER');
    await chooseWithKeys(ua, form.getByLabel('Central authority'), 'UA-PGO');
    await press(ua, form.getByRole('button', { name: 'Register the formal request' }));
    await ua.locator('[data-track="formal-request"][data-state="FILED"]').waitFor({ timeout: LIVE_MS });

    // The central authority confirms with the keyboard.
    const confirm = pgo
      .locator('[data-list="waiting"] li[data-query]')
      .filter({ hasText: caseReference })
      .getByRole('button', { name: 'Confirm receipt' });
    await tabTo(pgo, confirm);
    expect(await visibleFocus(confirm)).toBe(true);
    await pgo.keyboard.press('Enter');
    await ua.locator('dd[data-status="CLOSED"]').waitFor({ timeout: LIVE_MS });

    expect(rig.problems).toEqual([]);
  }, 120_000);

  it("a device key changed behind the officer's back is shown as a warning in words", async () => {
    const ua = await rig.open('ua', PHONE);
    const pl = await rig.open('pl');
    // The UA officer compared the safety number with the PL officer by phone, and marked it verified.
    await goHome(ua, HOMES.officer);
    const conversation = ua
      .locator('.conversation-link')
      .filter({ hasText: 'Operational query, case 12026100000000777' });
    await conversation.click();
    const safety = ua.locator('.safety-number');
    await safety.locator('summary').click();
    await safety.getByRole('button', { name: 'I compared it with them: mark as verified' }).click();
    await safety.and(ua.locator('[data-verification="verified"]')).waitFor({ timeout: LIVE_MS });
    expect(await safety.locator('summary').textContent()).toContain('✓ verified');

    // The PL officer's device id, from the PL page's device view.
    await pl.evaluate(() => {
      location.hash = '#/device';
    });
    const device = (await pl.locator('code[data-device]').getAttribute('data-device', { timeout: LIVE_MS })) ?? '';
    expect(device).toMatch(/^web-/);

    // Someone with write access to the hub's Redis (a compromised hub) swaps that device's entry
    // in the directory for an attestation of other keys, valid and signed by PL-KGP's key (the
    // development sign-in attests whatever keys it is given, as a compromised agency could). The
    // hub itself would refuse to publish it: a device's keys never change.
    const impostor = await HubClient.create({ url: rig.url, device, store: new MemoryKeyStore(), token: 'unused' });
    const { encryptionKey, signingKey } = impostor.publicKeys();
    const signedIn = await fetch(`${rig.url}/v1/dev/sign-in`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ agency: 'PL-KGP', officer: 'pl.officer', device, encryptionKey, signingKey }),
    });
    const { attestation } = (await signedIn.json()) as { attestation: string };
    const redis = new Redis(inject('redisUrl'));
    const key = redisKeys(rig.hub.config.redisPrefix).directory('PL-KGP/pl.officer');
    const original = (await redis.hget(key, device)) ?? 'null';
    const stored = JSON.parse(original) as { expiresAt: number };
    expect(stored).not.toBeNull();
    await redis.hset(key, device, JSON.stringify({ ...stored, jws: attestation, encryptionKey, signingKey }));

    // Later (a reload: nothing cached but what the browser keeps), the UA officer writes in the
    // first query's conversation with the PL officer: the SDK refuses the device that came with
    // other keys, says so in words, and seals nothing to it: with no device of the PL officer left
    // to seal to, the message is not sent.
    await ua.reload();
    await ua.locator('.status.ready').waitFor({ timeout: LIVE_MS });
    await goHome(ua, HOMES.officer);
    await conversation.click();
    // The safety number is not the one marked verified any more: said, the details open.
    await safety.and(ua.locator('[data-verification="changed"]')).waitFor({ timeout: LIVE_MS });
    expect(await safety.getAttribute('open')).not.toBeNull();
    expect(await safety.textContent()).toContain('changed since you marked it verified');
    await ua.getByRole('textbox', { name: 'Message' }).fill('Are you still there?');
    await ua.getByRole('textbox', { name: 'Message' }).press('Enter');
    const warning = ua.locator('.warnings li').filter({ hasText: 'a known device came with other keys' });
    await warning.waitFor({ timeout: LIVE_MS });
    expect(await warning.textContent()).toBe(
      'A device of pl.officer (PL-KGP) was refused (a known device came with other keys): it is never encrypted to.',
    );
    const mine = ua.locator('.message.mine').filter({ hasText: 'Are you still there?' });
    await mine.locator('.mark.error').waitFor({ timeout: LIVE_MS });
    expect(await mine.locator('.mark.error').textContent()).toMatch(/^Not sent: /);
    await rig.screenshot(ua, 'lifecycle-device-key-changed-390px');
    await rig.expectAccessible(ua);

    // The directory put right: after a reload the message that was not sent is still there, kept
    // in the browser with its failure, and "Send again" sends it (the same id) to the PL officer.
    await redis.hset(key, device, original);
    redis.disconnect();
    await ua.reload();
    await ua.locator('.status.ready').waitFor({ timeout: LIVE_MS });
    await mine.locator('.mark.error').getByRole('button', { name: 'Send again' }).click({ timeout: LIVE_MS });
    await mine.locator('[data-mark]').waitFor({ timeout: LIVE_MS });
    await goHome(pl, HOMES.officer);
    await pl.locator('.conversation-link').filter({ hasText: 'Operational query, case 12026100000000777' }).click();
    await pl.locator('.message.theirs').filter({ hasText: 'Are you still there?' }).waitFor({ timeout: LIVE_MS });
    expect(rig.problems).toEqual([]);
  }, 90_000);
});
