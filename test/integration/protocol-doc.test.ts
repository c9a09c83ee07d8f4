/**
 * docs/PROTOCOL.md states the protocol without reference to the code; this test keeps the two
 * in step. It reads the markdown and checks, against the exports of the packages:
 *
 * - the limits table (§9.9) against every `MAX_*` / `DEFAULT_*` constant of @ncp-hub/protocol,
 *   both ways, and the table of other limits against @ncp-hub/crypto and @ncp-hub/keys;
 * - the error codes of §10, family by family, against `ERROR_CODES_BY_FAMILY`, both ways, with
 *   their HTTP status against the hub's table (read as text: it is not exported), and the reasons
 *   of `UNDECRYPTABLE`;
 * - the event tables (§4.3, §4.5) against `CLIENT_EVENTS` and `SERVER_EVENTS`;
 * - every `<!-- example: … -->` payload against its schema, and its signatures against the test
 *   vectors' public keys (crypto/test/fixtures/envelope-v1.json). The examples that are not in
 *   the vectors (§9.5's `add` record, §6.2's `query:open` record) are signed with the vectors'
 *   sender signing secret key (`signMembershipRecord`); re-sign them if the vectors change.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import * as crypto from '@ncp-hub/crypto';
import { DEFAULT_ATTESTATION_TTL_SECONDS } from '@ncp-hub/keys/attestation';
import * as protocol from '@ncp-hub/protocol';
import {
  CLIENT_EVENT_SPEC,
  CLIENT_EVENTS,
  type ClientEventName,
  type DeviceAddress,
  ERROR_CODES_BY_FAMILY,
  fromBase64url,
  HUB_ERROR_CODES,
  type HubErrorFamily,
  SERVER_EVENTS,
  type SignedMembershipRecord,
  type SignedReceipt,
  signedMembershipRecordSchema,
  UNDECRYPTABLE_REASONS,
} from '@ncp-hub/protocol';
import { describe, expect, it } from 'vitest';

const read = (path: string) => readFileSync(fileURLToPath(new URL(path, import.meta.url)), 'utf8');
const DOC = read('../../docs/PROTOCOL.md');
/** The hub's HTTP status of each code, read from its table (server/src/http/http-errors.ts) as text. */
const HTTP_STATUS_BY_CODE: Record<string, number> = Object.fromEntries(
  [...read('../../server/src/http/http-errors.ts').matchAll(/^\s+([A-Z_]+): (\d{3}),$/gm)].map((match) => [
    match[1] as string,
    Number(match[2]),
  ]),
);
const VECTORS = JSON.parse(read('../../crypto/test/fixtures/envelope-v1.json')) as {
  devices: Record<
    'sender' | 'recipientA',
    { address: string; signingPublicKey: string; encryptionPublicKey: string; encryptionSecretKey: string }
  >;
  envelope: { envelope: protocol.Envelope; content: crypto.MessageContent };
  membership: { signed: SignedMembershipRecord; hash: string };
  receipt: { signed: SignedReceipt };
};

/** The text of the section whose heading starts with `heading`, up to the next heading of its level or above. */
function section(heading: string): string {
  const lines = DOC.split('\n');
  const start = lines.findIndex((line) => line.startsWith(`${heading}`));
  if (start < 0) throw new Error(`docs/PROTOCOL.md has no heading "${heading}"`);
  const level = (heading.match(/^#+/) as RegExpMatchArray)[0].length;
  const end = lines.findIndex((line, i) => i > start && /^#+ /.test(line) && line.indexOf(' ') <= level);
  return lines.slice(start, end < 0 ? undefined : end).join('\n');
}

/** The rows of the markdown tables in `text` (header rows included, separator rows left out), as cells. */
function tables(text: string): string[][][] {
  const found: string[][][] = [];
  let current: string[][] | undefined;
  for (const line of text.split('\n')) {
    const trimmed = line.trim();
    if (!trimmed.startsWith('|')) {
      current = undefined;
      continue;
    }
    if (/^\|[\s|:-]+\|$/.test(trimmed)) continue;
    const cells = trimmed
      .slice(1, -1)
      .split(/(?<!\\)\|/)
      .map((cell) => cell.trim());
    if (!current) {
      current = [];
      found.push(current);
    }
    current.push(cells);
  }
  return found;
}

/** The names in backticks in a cell (`` `NAME` ``, or several separated by commas). */
function namesIn(cell: string | undefined): string[] {
  return [...(cell ?? '').matchAll(/`([^`]+)`/g)].map((match) => match[1] as string);
}

/** The names in the first column of a table's body rows. */
function firstColumn(table: string[][]): string[] {
  return table.slice(1).flatMap((row) => namesIn(row[0]));
}

/** An integer written with thousands separators (`1,000,000`), and nothing after it but words. */
function integerOf(cell: string): number {
  const match = /^([\d,]+)/.exec(cell);
  if (!match) throw new Error(`not a number: "${cell}"`);
  return Number((match[1] as string).replaceAll(',', ''));
}

/** The JSON of every `<!-- example: NAME -->` code block. */
function examples(): Map<string, unknown> {
  const found = new Map<string, unknown>();
  for (const match of DOC.matchAll(/<!-- example: ([\w:.-]+) -->\s*```json\n([\s\S]*?)```/g)) {
    found.set(match[1] as string, JSON.parse(match[2] as string));
  }
  return found;
}

describe('docs/PROTOCOL.md', () => {
  it('§9.9 states every limit of @ncp-hub/protocol with its value, and no other', () => {
    const [limits, others] = tables(section('### 9.9 '));
    if (!limits || !others) throw new Error('§9.9 has two tables');
    const documented = new Map(limits.slice(1).map((row) => [namesIn(row[0])[0], integerOf(row[1] as string)]));
    const exported = Object.entries(protocol).filter(
      ([name, value]) => /^(MAX|DEFAULT)_/.test(name) && typeof value === 'number',
    );
    expect(exported.length).toBeGreaterThan(10);
    expect([...documented.keys()].sort()).toEqual(exported.map(([name]) => name).sort());
    for (const [name, value] of exported) expect({ name, value: documented.get(name) }).toEqual({ name, value });

    const other = new Map(others.slice(1).map((row) => [namesIn(row[0])[0], row[1] as string]));
    for (const name of other.keys()) expect(name === undefined || !(name in protocol)).toBe(true);
    expect(integerOf(other.get('MAX_TEXT_LENGTH') as string)).toBe(crypto.MAX_TEXT_LENGTH);
    expect(integerOf(other.get('CONTENT_PADDING_BLOCK') as string)).toBe(crypto.CONTENT_PADDING_BLOCK);
    expect(integerOf(other.get('DEFAULT_ATTESTATION_TTL_SECONDS') as string)).toBe(DEFAULT_ATTESTATION_TTL_SECONDS);
  });

  it('§10 lists every error code, family by family, with its HTTP status, and no other', () => {
    const errors = section('## 10. ');
    expect(Object.keys(HTTP_STATUS_BY_CODE).sort()).toEqual([...HUB_ERROR_CODES].sort());
    const all: string[] = [];
    for (const family of Object.keys(ERROR_CODES_BY_FAMILY) as HubErrorFamily[]) {
      const heading = errors.split('\n').find((line) => line.startsWith('### 10.') && line.includes(`\`${family}\``));
      if (!heading) throw new Error(`§10 has no section for the family ${family}`);
      const rows = tables(section(heading)).flatMap((table) => table.slice(1));
      const codes = rows.map((row) => namesIn(row[0])[0] as string);
      expect({ family, codes: [...codes].sort() }).toEqual({
        family,
        codes: [...ERROR_CODES_BY_FAMILY[family]].sort(),
      });
      for (const row of rows) {
        const code = namesIn(row[0])[0] as string;
        const status = family === 'client' ? '—' : String(HTTP_STATUS_BY_CODE[code]);
        expect({ code, status: row[1] }).toEqual({ code, status });
      }
      all.push(...codes);
    }
    expect(new Set(all).size).toBe(all.length);
    expect([...all].sort()).toEqual([...HUB_ERROR_CODES].sort());
  });

  it('§10.9 lists the reasons of UNDECRYPTABLE in the order of §9.4', () => {
    const [reasons] = tables(section('### 10.9 '));
    const listed = firstColumn(reasons ?? []);
    expect([...listed].sort()).toEqual([...UNDECRYPTABLE_REASONS].sort());
    const [checks] = tables(section('### 9.4 '));
    const inChecks = (checks ?? []).slice(1).flatMap((row) => namesIn(row.at(-1)));
    expect([...new Set(inChecks)]).toEqual(listed);
  });

  it('§4.3 and §4.5 list every client and hub event, and no other; §4.4 gives each client event its needs once', () => {
    const [client] = tables(section('### 4.3 '));
    const [server] = tables(section('### 4.5 '));
    const [needs] = tables(section('### 4.4 '));
    expect(firstColumn(client ?? [])).toEqual([...CLIENT_EVENTS]);
    expect([...firstColumn(server ?? [])].sort()).toEqual([...SERVER_EVENTS].sort());
    expect([...firstColumn(needs ?? [])].sort()).toEqual([...CLIENT_EVENTS].sort());
  });

  it('refers to no code path that moved, and to no document outside the repository', () => {
    for (const gone of ['client-sdk/src/protocol', 'client-sdk/src/crypto', 'client-sdk/test/fixtures', 'DESIGN.md']) {
      expect(DOC).not.toContain(gone);
    }
  });

  it('gives examples that match their schemas and verify with the test vectors', async () => {
    const found = examples();
    expect([...found.keys()].sort()).toEqual(
      ['conversation:change', 'conversation:create', 'message:send', 'query:open.conversation', 'receipt:send'].sort(),
    );
    for (const [name, payload] of found) {
      const schema =
        name in CLIENT_EVENT_SPEC
          ? CLIENT_EVENT_SPEC[name as ClientEventName].request
          : name === 'query:open.conversation'
            ? signedMembershipRecordSchema
            : undefined;
      expect({ name, valid: schema?.safeParse(payload).success }).toEqual({ name, valid: true });
    }
    const { sender, recipientA } = VECTORS.devices;
    const senderKey = fromBase64url(sender.signingPublicKey);

    const create = (found.get('conversation:create') as { record: SignedMembershipRecord }).record;
    const add = (found.get('conversation:change') as { record: SignedMembershipRecord }).record;
    expect(create).toEqual(VECTORS.membership.signed);
    expect(await crypto.hashMembershipRecord(create)).toBe(VECTORS.membership.hash);
    expect(DOC).toContain(`Its hash is \`${VECTORS.membership.hash}\``);
    const chain = await crypto.verifyMembershipChain([create, add], async () => senderKey);
    expect(chain).toMatchObject({ ok: true, kind: 'group' });

    const query = found.get('query:open.conversation') as SignedMembershipRecord;
    expect(await crypto.verifyMembershipChain([query], async () => senderKey)).toMatchObject({
      ok: true,
      kind: 'direct',
      basis: { type: 'operational-query' },
    });

    const receipt = (found.get('receipt:send') as { receipt: SignedReceipt }).receipt;
    expect(receipt).toEqual(VECTORS.receipt.signed);
    expect(await crypto.verifyReceipt(receipt, fromBase64url(recipientA.signingPublicKey))).toBe(true);

    const envelope = (found.get('message:send') as { envelope: protocol.Envelope }).envelope;
    expect(envelope).toEqual(VECTORS.envelope.envelope);
    expect(await crypto.verifyEnvelopeSignature(envelope, senderKey)).toBe(true);
    const content = await crypto.openEnvelope({
      envelope,
      recipient: {
        address: recipientA.address as DeviceAddress,
        encryption: {
          publicKey: fromBase64url(recipientA.encryptionPublicKey),
          secretKey: fromBase64url(recipientA.encryptionSecretKey),
        },
      },
      senderSigningKey: senderKey,
    });
    expect(content).toEqual(VECTORS.envelope.content);
  });
});
