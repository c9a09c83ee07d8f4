/**
 * The console's auditor view in Chromium, on a hub in development mode: after two officers of
 * two states chat (the UA officer's entries in full for UA-NPU's auditor, the PL officer's
 * sign-in redacted), ua.auditor signs in on their home, the audit log: the entries listed,
 * filtered at the hub (officer) and in the page (type), paged with Load more. The export is
 * downloaded from a Blob URL; "Verify in this browser" runs the verifier of `ncp-keys audit
 * verify` in the page, and says what verifyAuditExport in Node says of the very same export; the
 * downloaded file chosen with the file input verifies too, and an edited copy shows `altered` at
 * the edited line. No CSP violation, no serious accessibility violation, at 390 px too.
 */
import { type AuditVerification, type HubKeySet, verifyAuditExport } from '@ncp-hub/keys/audit';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chromiumSkipReason } from '../helpers/browser.js';
import { type ConsoleRig, DESKTOP, LIVE_MS, PHONE, startConsoleRig } from '../helpers/console.js';
import { closeAllSockets, connectOfficer } from '../helpers/sockets.js';

let rig: ConsoleRig;
const HOME = 'Audit log';

const skipReason = chromiumSkipReason();
if (skipReason) console.log(`skipped: the console's auditor view in Chromium: ${skipReason}`);

/** The sentence the view shows for a verification that passed, as the catalogue words it. */
function okSentence(result: AuditVerification): string {
  if (!result.ok) throw new Error(`not ok: line ${result.line}: ${result.problem}: ${result.message}`);
  return `OK: ${result.entries} entries (${result.redacted} of other agencies redacted), ${result.checkpoints} signed checkpoints`;
}

async function hubKeys(): Promise<HubKeySet> {
  return (await (await fetch(`${rig.url}/v1/hub-keys`)).json()) as HubKeySet;
}

/** The rows of the entries' table: their seq and type. */
async function rows(page: Page): Promise<Array<{ seq: number; type: string }>> {
  return page
    .locator('.audit-table tbody tr')
    .evaluateAll((trs) =>
      trs.map((tr) => ({ seq: Number(tr.getAttribute('data-seq')), type: tr.getAttribute('data-type') ?? '' })),
    );
}

describe.skipIf(skipReason !== undefined)("the console's auditor view in Chromium", () => {
  beforeAll(async () => {
    rig = await startConsoleRig();
    // Activity to audit: UA and PL officers sign in, UA starts a conversation and writes.
    const ua = await rig.open('ua', DESKTOP);
    const pl = await rig.open('pl', DESKTOP);
    await rig.signIn(ua, 'ua.officer');
    await rig.signIn(pl, 'pl.officer');
    await ua.getByRole('link', { name: 'New conversation' }).click();
    await ua.getByLabel('Officer of another agency').selectOption('PL-KGP/pl.officer');
    await ua.getByRole('button', { name: 'Start the conversation' }).click();
    await ua.getByRole('textbox', { name: 'Message' }).waitFor({ timeout: LIVE_MS });
    await ua.getByRole('textbox', { name: 'Message' }).fill('For the audit: case DEV-AUDIT-1');
    await ua.getByRole('textbox', { name: 'Message' }).press('Enter');
    // PL reads it: PL's receipts (delivered, read) are entries of UA's conversation too.
    await pl.locator('.conversation-link').filter({ hasText: 'ua.officer (UA-NPU)' }).click({ timeout: LIVE_MS });
    await ua.locator('.message.mine [data-mark="read"]').waitFor({ timeout: LIVE_MS });
    // More than a page of entries (100): another UA officer's socket connections, each audited
    // (auth.accepted) as it is accepted.
    const signedIn = await fetch(`${rig.url}/v1/dev/sign-in`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ agency: 'UA-NPU', officer: 'ua.officer.2' }),
    });
    const { token } = (await signedIn.json()) as { token: string };
    for (let i = 0; i < 11; i++) {
      const connected = await Promise.all(Array.from({ length: 10 }, () => connectOfficer(rig.url, token)));
      for (const { socket } of connected) socket.close();
    }
  }, 180_000);

  afterAll(async () => {
    closeAllSockets();
    await rig?.stop();
  });

  it('lists the entries of its agency, filtered at the hub and in the page, and pages with Load more', async () => {
    const page = await rig.open('auditor', DESKTOP);
    await rig.signIn(page, 'ua.auditor', HOME);
    const status = page.locator('p[role="status"][data-loaded]');
    // A first page of 100, then the rest with Load more.
    await expect.poll(async () => (await rows(page)).length, { timeout: LIVE_MS }).toBe(100);
    expect(await status.textContent()).toBe(
      '100 of 100 loaded entries shown. More entries follow: load more to see them.',
    );
    const first = await rows(page);
    await page.getByRole('button', { name: 'Load more' }).click();
    await expect.poll(async () => (await rows(page)).length, { timeout: LIVE_MS }).toBeGreaterThan(100);
    const all = await rows(page);
    expect(all.slice(0, 100)).toEqual(first);
    expect(new Set(all.map((row) => row.seq)).size).toBe(all.length);
    expect(all.map((row) => row.type)).toEqual(
      expect.arrayContaining(['auth.accepted', 'conversation.created', 'message.relayed']),
    );
    expect(all.map((row) => row.seq)).toEqual([...all.map((row) => row.seq)].sort((a, b) => a - b));
    // Each time: in the auditor's time zone, the absolute time on hover.
    const time = page.locator('.audit-table tbody tr').first().locator('time');
    expect(await time.getAttribute('title')).toMatch(/\d{4}/);
    expect(await page.locator('.audit-table').textContent()).toContain('ua.officer (UA-NPU');

    // At the hub: one officer (the actor, or the officer an entry is about).
    await page.getByLabel('Officer').fill('pl.officer');
    await page.getByRole('button', { name: 'Apply the filters' }).click();
    await expect
      .poll(async () => (await rows(page)).map((row) => row.type), { timeout: LIVE_MS })
      .toContain('receipt.relayed');
    const ofPl = await rows(page);
    expect(ofPl.length).toBeLessThan(all.length);
    // PL's read receipt in UA's conversation; not the UA officer's message, nor another's sign-in.
    expect(ofPl.map((row) => row.type)).toContain('receipt.relayed');
    expect(ofPl.map((row) => row.type)).not.toContain('message.relayed');
    expect(await page.locator('.audit-table').textContent()).not.toContain('ua.officer.2');

    // At the hub: dates, as days of the auditor's time zone (the page's).
    await page.getByLabel('Officer').fill('');
    // From yesterday: the entries of this run, even one that began before midnight.
    const [yesterday, today, tomorrow] = await page.evaluate(() => {
      const day = (date: Date) =>
        `${date.getFullYear()}-${String(date.getMonth() + 1).padStart(2, '0')}-${String(date.getDate()).padStart(2, '0')}`;
      const now = new Date();
      const shifted = (days: number) => day(new Date(now.getFullYear(), now.getMonth(), now.getDate() + days));
      return [shifted(-1), day(now), shifted(1)];
    });
    await page.getByLabel('From (date)').fill(tomorrow as string);
    await page.getByRole('button', { name: 'Apply the filters' }).click();
    await expect.poll(() => status.textContent(), { timeout: LIVE_MS }).toBe('No entry matches. The end of the log.');
    await page.getByLabel('From (date)').fill(yesterday as string);
    await page.getByLabel('To (date)').fill(today as string);
    await page.getByRole('button', { name: 'Apply the filters' }).click();
    await expect.poll(async () => (await rows(page)).length, { timeout: LIVE_MS }).toBe(100);

    // In the page: one type among the loaded entries (the first page again, after Clear).
    await page.getByRole('button', { name: 'Clear' }).click();
    await expect.poll(async () => rows(page), { timeout: LIVE_MS }).toEqual(first);
    await page.getByLabel('Type (among the loaded entries)').selectOption('message.relayed');
    const relayed = await rows(page);
    expect(relayed.length).toBeGreaterThan(0);
    expect(relayed.every((row) => row.type === 'message.relayed')).toBe(true);
    expect(await status.textContent()).toMatch(
      /^\d+ of 100 loaded entries shown\. More entries follow: load more to see them\.$/,
    );
    await page.getByLabel('Type (among the loaded entries)').selectOption('');

    await page.locator('.audit-table').scrollIntoViewIfNeeded();
    await rig.screenshot(page, 'auditor');
    expect(await rig.checkAccessibility(page)).toEqual([]);
  });

  it('verifies the export in the page as verifyAuditExport does in Node, and shows an edited file altered at its line', async () => {
    const page = await rig.open('auditor', DESKTOP);
    await rig.signIn(page, 'ua.auditor', HOME);
    const verdict = page.locator('.audit-verdict');

    // The hub's export, verified in this browser; Node verifies the very bytes the page got.
    const answered = page.waitForResponse((response) => response.url().endsWith('/v1/audit/export'));
    await page.getByRole('button', { name: 'Verify in this browser' }).click();
    const served = await (await answered).text();
    await verdict.waitFor({ timeout: LIVE_MS });
    const inNode = await verifyAuditExport(served, await hubKeys());
    expect(inNode).toMatchObject({ ok: true });
    expect(inNode.ok && inNode.redacted).toBeGreaterThan(0);
    expect(await verdict.getAttribute('data-ok')).toBe('true');
    expect(await verdict.locator('.audit-verdict-line').textContent()).toContain(okSentence(inNode));

    // The export downloaded from its Blob URL, then chosen as a file: the same verdict as in Node.
    await page.getByRole('button', { name: 'Export', exact: true }).click();
    const link = page.locator('a[data-export="file"]');
    await link.waitFor({ timeout: LIVE_MS });
    expect(await link.getAttribute('href')).toMatch(/^blob:/);
    const downloading = page.waitForEvent('download', { timeout: LIVE_MS });
    await link.click();
    const download = await downloading;
    expect(download.suggestedFilename()).toBe('ncp-hub-audit-UA-NPU.jsonl');
    const saved = Buffer.concat(await (await download.createReadStream()).toArray()).toString('utf8');
    const savedInNode = await verifyAuditExport(saved, await hubKeys());
    const input = page.getByLabel('Verify an export file (e.g. one saved earlier)');
    await input.setInputFiles({ name: 'saved.jsonl', mimeType: 'application/x-ndjson', buffer: Buffer.from(saved) });
    await verdict.filter({ hasText: 'The file saved.jsonl' }).waitFor({ timeout: LIVE_MS });
    expect(await verdict.locator('.audit-verdict-line').textContent()).toContain(okSentence(savedInNode));

    // One field of one full entry edited: altered, at that line.
    const lines = saved.split('\n');
    const edited = lines.findIndex((line) => line.includes('"type":"message.relayed"'));
    expect(edited).toBeGreaterThan(0);
    lines[edited] = (lines[edited] as string).replace(/"bytes":(\d+)/, (_m, n: string) => `"bytes":${Number(n) + 1}`);
    const tampered = lines.join('\n');
    expect(await verifyAuditExport(tampered, await hubKeys())).toMatchObject({
      ok: false,
      problem: 'altered',
      line: edited + 1,
    });
    await input.setInputFiles({
      name: 'tampered.jsonl',
      mimeType: 'application/x-ndjson',
      buffer: Buffer.from(tampered),
    });
    const bad = verdict.filter({ hasText: 'The file tampered.jsonl' });
    await bad.waitFor({ timeout: LIVE_MS });
    expect(await bad.getAttribute('data-problem')).toBe('altered');
    expect(await bad.getAttribute('data-line')).toBe(String(edited + 1));
    expect(await bad.locator('.audit-verdict-line').textContent()).toMatch(
      new RegExp(`FAILED at line ${edited + 1} \\(entry \\d+\\): altered`),
    );

    await rig.screenshot(page, 'auditor-verify');
    expect(await rig.checkAccessibility(page)).toEqual([]);
    // On a phone: the same view, still accessible (the table scrolls sideways).
    await page.setViewportSize(PHONE);
    await rig.screenshot(page, 'auditor-390px');
    expect(await rig.checkAccessibility(page)).toEqual([]);
    expect(rig.problems).toEqual([]);
  });
});
