/**
 * The web console's production sign-in and its device, in Chromium, on a hub that is NOT in
 * development mode (a trust registry of the development agencies' keys, so that the test can sign
 * as each agency's identity system does): the agency's sign-in page hands the token over in the
 * address's fragment (`#token=`), the console takes it out of the address bar, reads agency and
 * officer from its claims and shows the enrolment request (the `ncp-keys attest-device` command
 * line, the same as JSON, the fingerprint); the test attests it as that command does and pastes
 * the attestation; the officer is connected. Then: messages and read marks survive a reload of
 * both pages (kept in the browser), and a device exported under a passphrase from one browser
 * context and imported into a fresh one signs in as the same device (no new device announced to
 * its correspondent) and receives the next message; a wrong passphrase is said in words.
 */
import { parseArgs } from 'node:util';
import {
  DEFAULT_ATTESTATION_TTL_SECONDS,
  ensureDevelopmentAgencies,
  issueDeviceAttestation,
  issueOfficerToken,
  readSigningKey,
} from '@ncp-hub/keys';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chromiumSkipReason } from '../helpers/browser.js';
import { type ConsoleRig, DESKTOP, LIVE_MS, PHONE, startConsoleRig } from '../helpers/console.js';
import { makeTempDir } from '../helpers/hub.js';

/** Argon2id MODERATE (256 MiB, 3 passes) in a page on a loaded machine: seconds, not milliseconds. */
const SEALING_MS = 60_000;

let rig: ConsoleRig;
let keysDir: string;

const skipReason = chromiumSkipReason();
if (skipReason) console.log(`skipped: the console's production sign-in and device in Chromium: ${skipReason}`);

/** What the agency's identity system would sign: an officer token for the hub. */
async function officerToken(agency: string, officer: string, ttlSeconds = 3600): Promise<string> {
  return issueOfficerToken({
    agency,
    officer,
    roles: ['officer'],
    privateJwk: await readSigningKey(keysDir, agency),
    ttlSeconds,
    audience: 'ncp-hub',
  });
}

/**
 * The agency's side of the enrolment: reads the command line the page shows, parses it with the
 * options `ncp-keys attest-device` takes (strictly: an option it does not know fails), and signs
 * with the function that command calls.
 */
async function attestFromPage(page: Page): Promise<{ attestation: string; device: string }> {
  const command = await page.locator('textarea[data-request="command"]').inputValue();
  const [program, name, ...argv] = command.split(' ');
  expect([program, name]).toEqual(['ncp-keys', 'attest-device']);
  const { values } = parseArgs({
    args: argv,
    strict: true,
    options: {
      agency: { type: 'string' },
      officer: { type: 'string' },
      device: { type: 'string' },
      'encryption-key': { type: 'string' },
      'signing-key': { type: 'string' },
    },
  });
  const request = JSON.parse(await page.locator('textarea[data-request="json"]').inputValue());
  expect(request).toEqual({
    agency: values.agency,
    officer: values.officer,
    device: values.device,
    encryptionKey: values['encryption-key'],
    signingKey: values['signing-key'],
    fingerprint: expect.stringMatching(/^\d{5}( \d{5}){11}$/),
  });
  expect(await page.locator('code[data-fingerprint]').textContent()).toBe(request.fingerprint);
  const agency = values.agency ?? '';
  const attestation = await issueDeviceAttestation({
    agency,
    officer: values.officer ?? '',
    device: values.device ?? '',
    encryptionKey: values['encryption-key'] ?? '',
    signingKey: values['signing-key'] ?? '',
    privateJwk: await readSigningKey(keysDir, agency),
    ttlSeconds: DEFAULT_ATTESTATION_TTL_SECONDS,
  });
  return { attestation, device: request.device };
}

/** As after the agency's sign-in page: the console opened at `/#token=<JWT>`. */
async function handOff(page: Page, token: string): Promise<void> {
  // A new document (not a change of fragment in the one already open), as a redirect is.
  await page.goto('about:blank');
  await page.goto(`${rig.url}/#token=${token}`);
  await page.locator('textarea[data-request="command"]').waitFor({ timeout: LIVE_MS });
  // The token is out of the address bar and of the tab's history entry at once.
  expect(page.url()).toBe(`${rig.url}/`);
}

/** The whole production sign-in of an officer: hand-off, enrolment attested, connected. */
async function signInProduction(page: Page, agency: string, officer: string, token?: string): Promise<string> {
  await handOff(page, token ?? (await officerToken(agency, officer)));
  expect(
    await page
      .getByRole('textbox', { name: /^Agency/ })
      .first()
      .inputValue(),
  ).toBe(agency);
  expect(
    await page
      .getByRole('textbox', { name: /^Officer \(/ })
      .first()
      .inputValue(),
  ).toBe(officer);
  const { attestation, device } = await attestFromPage(page);
  await page.getByLabel('Device attestation (JWS) from your agency').fill(attestation);
  await page.getByRole('button', { name: 'Connect' }).click();
  await page.getByRole('heading', { level: 1, name: 'Conversations' }).waitFor({ timeout: LIVE_MS });
  await page.locator('.status.ready').waitFor({ timeout: LIVE_MS });
  return device;
}

/** The texts the page's browser keeps for the identity (its history database, one record per conversation). */
async function keptTexts(page: Page, agency: string, officer: string): Promise<string[]> {
  return page.evaluate(
    (name) =>
      new Promise<string[]>((resolve, reject) => {
        const open = indexedDB.open(name);
        open.onerror = () => reject(open.error);
        open.onsuccess = () => {
          const request = open.result.transaction('entries').objectStore('entries').getAll();
          request.onerror = () => reject(request.error);
          request.onsuccess = () => {
            open.result.close();
            const records = request.result as Array<{ messages: Array<{ text: string }> }>;
            resolve(records.flatMap((record) => record.messages.map((m) => m.text)));
          };
        };
      }),
    `ncp-console-history:${agency}:${officer}`,
  );
}

/** The messages a page shows in the conversation it is on, as text. */
async function shownMessages(page: Page): Promise<string[]> {
  return page.locator('.message').allTextContents();
}

describe.skipIf(skipReason !== undefined)("the console's production sign-in and its device", () => {
  let uaDevice: string;

  beforeAll(async () => {
    const dev = await ensureDevelopmentAgencies(await makeTempDir());
    keysDir = dev.keysDir;
    // No clock tolerance: a token's session ends at its exp, so that a test can see it end.
    rig = await startConsoleRig({ TRUST_REGISTRY: dev.registryDir, CLOCK_TOLERANCE_SECONDS: '0' });
    expect(rig.hub.development).toBeUndefined();
  }, 120_000);

  afterAll(async () => {
    await rig?.stop();
  });

  it('signs in by the hand-off: agency and officer from the token, the enrolment request attested and pasted', async () => {
    expect((await fetch(`${rig.url}/v1/dev/identities`)).status).toBe(404);
    const ua = await rig.open('ua', PHONE);
    await handOff(ua, await officerToken('UA-NPU', 'ua.officer'));
    // The claims prefill the fields, read-only: the hub will take them from the token anyway.
    const agency = ua.getByRole('textbox', { name: /^Agency/ }).first();
    expect(await agency.inputValue()).toBe('UA-NPU');
    expect(await agency.getAttribute('readonly')).not.toBeNull();
    await rig.screenshot(ua, 'sign-in-production-390px');
    expect(await rig.checkAccessibility(ua)).toEqual([]);

    const { attestation, device } = await attestFromPage(ua);
    uaDevice = device;
    await ua.getByLabel('Device attestation (JWS) from your agency').fill(attestation);
    await ua.getByRole('button', { name: 'Connect' }).click();
    await ua.getByRole('heading', { level: 1, name: 'Conversations' }).waitFor({ timeout: LIVE_MS });
    await ua.locator('.status.ready').waitFor({ timeout: LIVE_MS });
    expect(await ua.getByText('Signed in as ua.officer (UA-NPU)').isVisible()).toBe(true);
    expect(rig.problems).toEqual([]);
  });

  it('keeps the messages and their marks across a reload of both pages', async () => {
    const ua = await rig.open('ua', DESKTOP);
    const pl = await rig.open('pl', DESKTOP);
    await signInProduction(pl, 'PL-KGP', 'pl.officer');

    await ua.getByRole('link', { name: 'New conversation' }).click();
    await ua.getByLabel('Officer of another agency').selectOption('PL-KGP/pl.officer', { timeout: LIVE_MS });
    await ua.getByLabel('Formal request reference').fill('MLA/2026/17');
    await ua.getByLabel('National case reference').fill('12026100000000017');
    await ua.getByRole('button', { name: 'Start the conversation' }).click();
    await ua
      .getByRole('heading', { level: 1, name: 'Conversation with pl.officer (PL-KGP)' })
      .waitFor({ timeout: LIVE_MS });
    await ua.getByRole('textbox', { name: 'Message' }).fill('First from Kyiv');
    await ua.getByRole('textbox', { name: 'Message' }).press('Enter');

    await pl.locator('.conversation-link').filter({ hasText: 'ua.officer (UA-NPU)' }).click({ timeout: LIVE_MS });
    await pl.locator('.message.theirs').filter({ hasText: 'First from Kyiv' }).waitFor({ timeout: LIVE_MS });
    await pl.getByRole('textbox', { name: 'Message' }).fill('Reply from Warsaw');
    await pl.getByRole('button', { name: 'Send' }).click();
    await ua.locator('.message.theirs').filter({ hasText: 'Reply from Warsaw' }).waitFor({ timeout: LIVE_MS });
    const uaMine = ua.locator('.message.mine').filter({ hasText: 'First from Kyiv' });
    await uaMine.locator('[data-mark="read"]').waitFor({ timeout: LIVE_MS });
    const before = { ua: await shownMessages(ua), pl: await shownMessages(pl) };
    // Where the README says: each identity's history database, written as the messages came.
    await expect.poll(() => keptTexts(ua, 'UA-NPU', 'ua.officer')).toEqual(['First from Kyiv', 'Reply from Warsaw']);
    await expect.poll(() => keptTexts(pl, 'PL-KGP', 'pl.officer')).toEqual(['First from Kyiv', 'Reply from Warsaw']);

    // A reload signs in again with the same token, and the conversation shows what it showed.
    await Promise.all([ua.reload(), pl.reload()]);
    for (const page of [ua, pl]) {
      await page.locator('.status.ready').waitFor({ timeout: LIVE_MS });
      await page.locator('.message').nth(1).waitFor({ timeout: LIVE_MS });
    }
    expect(await shownMessages(ua)).toEqual(before.ua);
    expect(await shownMessages(pl)).toEqual(before.pl);
    await uaMine.locator('[data-mark="read"]').waitFor({ timeout: LIVE_MS });
    expect(await ua.locator('.message.theirs').filter({ hasText: 'Reply from Warsaw' }).count()).toBe(1);
  });

  it('exports the device under a passphrase and imports it into a fresh browser, which is the same device', async () => {
    const ua = await rig.open('ua', DESKTOP);
    const pl = await rig.open('pl', DESKTOP);

    await ua.getByRole('link', { name: 'This device' }).click();
    await ua.getByRole('heading', { level: 1, name: 'This device' }).waitFor({ timeout: LIVE_MS });
    expect(await ua.locator('code[data-device]').textContent()).toBe(uaDevice);
    await ua.locator('code[data-fingerprint]').waitFor({ timeout: LIVE_MS });
    const fingerprint = await ua.locator('code[data-fingerprint]').textContent();

    // Too short, then two that differ: refused in words before anything is sealed.
    await ua.getByLabel('Passphrase', { exact: true }).fill('short');
    expect(await ua.locator('#passphrase-strength').textContent()).toMatch(/^Strength: weak/);
    await ua.getByRole('button', { name: 'Export the device' }).click();
    expect(await ua.getByRole('alert').textContent()).toBe('The passphrase needs at least 12 characters.');
    const passphrase = 'amber lantern quietly 42 rivers';
    await ua.getByLabel('Passphrase', { exact: true }).fill(passphrase);
    expect(await ua.locator('#passphrase-strength').textContent()).toBe('Strength: strong.');
    await ua.getByLabel('Passphrase again').fill(`${passphrase}!`);
    await ua.getByRole('button', { name: 'Export the device' }).click();
    expect(await ua.getByRole('alert').textContent()).toBe('The two passphrases differ.');
    await ua.getByLabel('Passphrase again').fill(passphrase);
    await rig.screenshot(ua, 'device');
    expect(await rig.checkAccessibility(ua)).toEqual([]);

    const downloading = ua.waitForEvent('download', { timeout: SEALING_MS });
    await ua.getByRole('button', { name: 'Export the device' }).click();
    const download = await downloading;
    expect(download.suggestedFilename()).toBe(`ncp-device-UA-NPU-ua.officer-${uaDevice}.json`);
    const exported = await (await download.createReadStream()).toArray();
    const file = Buffer.concat(exported);
    expect(JSON.parse(file.toString('utf8'))).toMatchObject({ v: 1, kdf: { alg: 'argon2id13' } });
    expect(file.toString('utf8')).not.toContain(uaDevice);
    await ua.getByRole('link', { name: /^Download .* again$/ }).waitFor();
    expect(await rig.checkAccessibility(ua)).toEqual([]);

    // A move: the old browser signs out (the device stays there, unused).
    await ua.getByRole('button', { name: 'Sign out' }).click();
    await ua.getByRole('heading', { level: 1, name: 'Sign in' }).waitFor({ timeout: LIVE_MS });

    // A fresh browser: the hand-off, then the import (a wrong passphrase first), then connect.
    const moved = await rig.open('ua-moved', DESKTOP);
    await handOff(moved, await officerToken('UA-NPU', 'ua.officer'));
    await moved.getByText('Import an exported device').click();
    const importForm = moved.locator('.import-device');
    await importForm
      .getByLabel('Exported file')
      .setInputFiles({ name: download.suggestedFilename(), mimeType: 'application/json', buffer: file });
    await importForm.getByLabel('Its passphrase').fill('not the passphrase at all');
    await importForm.getByRole('button', { name: 'Import into this browser' }).click();
    await importForm.getByRole('alert').waitFor({ timeout: SEALING_MS });
    expect(await importForm.getByRole('alert').textContent()).toBe(
      'The file does not open: the passphrase is wrong, or the file is damaged or not an export (KEY_EXPORT_INVALID).',
    );
    await importForm.getByLabel('Its passphrase').fill(passphrase);
    await importForm.getByRole('button', { name: 'Import into this browser' }).click();
    await importForm
      .getByText(`Device ${uaDevice} imported for ua.officer (UA-NPU): sign in to use it.`)
      .waitFor({ timeout: SEALING_MS });
    // The enrolment now shows the imported device, which the hub already holds: no new attestation.
    await moved.getByText(`The hub already holds the attestation of this device (${uaDevice})`).waitFor({
      timeout: LIVE_MS,
    });
    expect(await moved.locator('code[data-fingerprint]').textContent()).toBe(fingerprint);
    await moved.getByRole('button', { name: 'Connect' }).click();
    await moved.locator('.status.ready').waitFor({ timeout: LIVE_MS });

    // PL writes; the moved device reads it, and its history is its own (a fresh browser: none before).
    await pl.getByRole('textbox', { name: 'Message' }).fill('After the move');
    await pl.getByRole('button', { name: 'Send' }).click();
    await moved.evaluate(() => {
      location.hash = '#/';
    });
    await moved.locator('.conversation-link').filter({ hasText: 'pl.officer (PL-KGP)' }).click({ timeout: LIVE_MS });
    await moved.locator('.message.theirs').filter({ hasText: 'After the move' }).waitFor({ timeout: LIVE_MS });
    await pl
      .locator('.message.mine')
      .filter({ hasText: 'After the move' })
      .locator('[data-mark="read"]')
      .waitFor({ timeout: LIVE_MS });
    await moved.getByRole('link', { name: 'This device' }).click();
    expect(await moved.locator('code[data-device]').textContent()).toBe(uaDevice);
    // The correspondent was told of no new device.
    expect(await pl.locator('.warnings').textContent()).not.toContain('A new device');
    expect(rig.problems).toEqual([]);
  }, 180_000);

  it('says in words that a token expired: live, on a reload, and when handed over expired', async () => {
    const page = await rig.open('short', DESKTOP);
    const token = await officerToken('UA-NPU', 'ua.short', 6);
    await signInProduction(page, 'UA-NPU', 'ua.short', token);
    // The hub ends the session at exp; the console returns to the sign-in page and says why.
    await page.getByRole('heading', { level: 1, name: 'Sign in' }).waitFor({ timeout: LIVE_MS });
    const ended = 'Your token has expired, so the session ended: sign in again with a new token.';
    expect(await page.getByRole('alert').first().textContent()).toBe(ended);
    // The tab forgot the identity: a reload is the sign-in page, not a sign-in with the dead token.
    await page.reload();
    await page.getByRole('heading', { level: 1, name: 'Sign in' }).waitFor({ timeout: LIVE_MS });
    expect(await page.getByText('Signed in as').count()).toBe(0);
    // Handed over once expired: said before anything is asked of the hub, with the time.
    await page.goto('about:blank');
    await page.goto(`${rig.url}/#token=${token}`);
    await page
      .getByRole('alert')
      .filter({ hasText: /^Your token expired at .+: ask your agency/ })
      .waitFor({
        timeout: LIVE_MS,
      });
    expect(await page.locator('textarea[data-request="command"]').count()).toBe(0);
    expect(rig.problems).toEqual([]);
  }, 60_000);

  it('signs in again with the same token on a reload while it is valid, and ends it once expired', async () => {
    const page = await rig.open('reload', DESKTOP);
    const token = await officerToken('UA-NPU', 'ua.reload', 8);
    await signInProduction(page, 'UA-NPU', 'ua.reload', token);
    await page.reload();
    await page.locator('.status.ready').waitFor({ timeout: LIVE_MS });
    expect(await page.getByText('Signed in as ua.reload (UA-NPU)').isVisible()).toBe(true);
    // Closed before its exp, reopened after: the tab's token is dead, said without asking the hub.
    const exp = JSON.parse(Buffer.from(token.split('.')[1] ?? '', 'base64url').toString('utf8')).exp as number;
    await page.goto('about:blank');
    await new Promise((resolve) => setTimeout(resolve, Math.max(0, exp * 1000 - Date.now() + 500)));
    await page.goto(`${rig.url}/`);
    await page.getByRole('heading', { level: 1, name: 'Sign in' }).waitFor({ timeout: LIVE_MS });
    expect(await page.getByRole('alert').first().textContent()).toBe(
      'Your token has expired, so the session ended: sign in again with a new token.',
    );
    expect(rig.problems).toEqual([]);
  }, 60_000);
});
