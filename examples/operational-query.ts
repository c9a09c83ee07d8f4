/**
 * An operational query, its whole life, then the audit trail that proves it.
 *
 * A Ukrainian investigator (UA-NPU) asks a Polish colleague (PL-KGP) directly, before the
 * formal letter of request, on the ground `ABSCONDING_RISK`. The hub tells the Interpol NCB
 * of Ukraine (NCB-UA): its desk reads the statement of the specific grounds and acknowledges.
 * The Polish officer answers; the investigator registers the formal request sent through the
 * Prosecutor General's Office (UA-PGO), which confirms it: both obligations are met and the
 * query is closed. Finally an auditor of UA-NPU exports the audit log over HTTP and verifies
 * it offline against the hub's public key, and finds the opening of the query in it.
 *
 * Run it against a hub in development mode (`npm start` in another terminal):
 *
 * ```sh
 * npm run example:query
 * ```
 */
import { type AuditExportLine, type HubKeySet, issueDevelopmentOfficerToken, verifyAuditExport } from '@ncp-hub/keys';
import {
  collect,
  detail,
  ExampleError,
  HUB_URL,
  openOfficerDevice,
  runExample,
  step,
  waitUntil,
} from './example-support.js';

const OFFICER = { agency: 'UA-NPU', officer: 'ua.officer' } as const;
const COUNTERPART = { agency: 'PL-KGP', officer: 'pl.officer' } as const;
const NCB_DESK = { agency: 'NCB-UA', officer: 'ua.ncb.desk' } as const;
const CENTRAL_AUTHORITY = { agency: 'UA-PGO', officer: 'ua.pgo.clerk' } as const;
const AUDITOR = { agency: 'UA-NPU', officer: 'ua.auditor' } as const;

await runExample('an operational query, from opening to the verified audit trail', async (keysDir) => {
  // Everyone who must be able to read the query has a published device before it is opened:
  // the statement is encrypted to the NCB desks' devices, the question to the counterpart's.
  const desk = await openOfficerDevice({ keysDir, ...NCB_DESK, roles: ['ncb'], device: 'ncb-desk-1' });
  step(`${NCB_DESK.agency} desk ${NCB_DESK.officer} connected (role ncb)`);
  const counterpart = await openOfficerDevice({ keysDir, ...COUNTERPART, roles: ['officer'], device: 'pl-laptop' });
  step(`${COUNTERPART.agency} ${COUNTERPART.officer} connected (the counterpart)`);
  const officer = await openOfficerDevice({ keysDir, ...OFFICER, roles: ['officer'], device: 'ua-laptop' });
  step(`${OFFICER.agency} ${OFFICER.officer} connected (the requesting officer)`);

  // Both may arrive before openQuery resolves with the ids to look for.
  const deskEvents = collect(desk, 'query');
  const counterpartMessages = collect(counterpart, 'message');
  const { query, conversation, receipt } = await officer.openQuery({
    counterpart: COUNTERPART,
    caseReference: '12026100000000042',
    ground: 'ABSCONDING_RISK',
    statement: 'The suspect bought a one-way ticket Warsaw-Dubai for tonight.',
    question: 'Is Ivan Horbenko registered at a hotel in Warsaw?',
  });
  step(`${OFFICER.officer} opened query ${query.id} on ground ${query.ground}, case ${query.caseReference}`);
  detail(
    `status ${query.status}; NCB track ${query.ncb.state} (${query.ncb.agency}); formal request ${query.formalRequest.state}`,
  );
  detail(`deadline for the formal request: ${new Date(query.formalRequest.deadline).toISOString()}`);
  if (receipt) detail(`audit receipt of the opening: entry ${receipt.seq}, hash ${receipt.hash.slice(0, 16)}...`);

  const notification = await waitUntil(
    () => deskEvents.find((event) => event.type === 'notification' && event.query.id === query.id),
    'the NCB desk was not notified of the query',
  );
  const statement = await desk.readStatement(notification.query);
  step(`${NCB_DESK.officer} was notified and decrypted the statement of the specific grounds:`);
  detail(`"${statement.type === 'text' ? statement.text : statement.type}"`);
  const acknowledged = await desk.acknowledgeQuery(query.id);
  step(`${NCB_DESK.officer} acknowledged: NCB track ${acknowledged.ncb.state}`);

  const question = await waitUntil(
    () => counterpartMessages.find((message) => message.conversation === conversation.id),
    'the counterpart got no question',
  );
  step(
    `${COUNTERPART.officer} decrypted the question: "${question.content.type === 'text' ? question.content.text : ''}"`,
  );
  await counterpart.send(conversation.id, 'Yes: Hotel Bristol, room 214, checked in yesterday.');
  step(`${COUNTERPART.officer} answered in the query's conversation`);

  const filed = await officer.registerFormalRequest(query.id, {
    reference: 'MLA/2026/0042',
    instrument: 'MLA_REQUEST',
    centralAuthority: CENTRAL_AUTHORITY.agency,
    date: new Date().toISOString().slice(0, 10),
  });
  step(
    `${OFFICER.officer} registered formal request MLA/2026/0042 via ${CENTRAL_AUTHORITY.agency}: ${filed.formalRequest.state}`,
  );

  const clerk = await openOfficerDevice({
    keysDir,
    ...CENTRAL_AUTHORITY,
    roles: ['central-authority'],
    device: 'pgo-desk-1',
  });
  const confirmed = await clerk.confirmFormalRequest(query.id);
  step(
    `${CENTRAL_AUTHORITY.agency} ${CENTRAL_AUTHORITY.officer} confirmed it: formal request ${confirmed.formalRequest.state}`,
  );
  if (confirmed.status !== 'CLOSED') throw new ExampleError(`the query is ${confirmed.status}, not CLOSED`);
  step(`query ${query.id} is ${confirmed.status}: the NCB acknowledged and the formal request is confirmed`);

  const { timeline } = await officer.getQuery(query.id);
  detail(`timeline: ${timeline.map((entry) => entry.event).join(' -> ')}`);

  // The auditor needs no device: the audit API is HTTP, with the officer token as bearer.
  const auditorToken = await issueDevelopmentOfficerToken({ keysDir, ...AUDITOR, roles: ['auditor'] });
  const exported = await getText('/v1/audit/export', auditorToken);
  const hubKeys = JSON.parse(await getText('/v1/hub-keys')) as HubKeySet;
  step(`${AUDITOR.agency} auditor ${AUDITOR.officer} exported the audit log (GET /v1/audit/export) and the hub key`);
  const verdict = await verifyAuditExport(exported, hubKeys);
  if (!verdict.ok) {
    throw new ExampleError(`audit export: line ${verdict.line}: ${verdict.problem}: ${verdict.message}`);
  }
  step(
    `verified offline: ${verdict.entries} entries (${verdict.redacted} of other agencies redacted), ` +
      `${verdict.checkpoints} signed checkpoints, head seq ${verdict.head?.seq}`,
  );
  if (receipt) {
    const lines = exported
      .split('\n')
      .filter((line) => line.trim() !== '')
      .map((line) => JSON.parse(line) as AuditExportLine);
    const opening = lines.find((line) => line.kind === 'entry' && line.seq === receipt.seq);
    if (!opening || !('hash' in opening) || opening.hash !== receipt.hash) {
      throw new ExampleError(`the opening's receipt (entry ${receipt.seq}) is not in the verified export`);
    }
    detail(`entry ${receipt.seq} of the verified chain is the opening, with the hash of the officer's receipt`);
  }
  console.log(
    'OK: query opened, NCB acknowledged, formal request filed and confirmed, query closed, audit log verified',
  );
});

/** GET a path of the hub, with a bearer token if given; the body as text, or a clear failure. */
async function getText(path: string, token?: string): Promise<string> {
  const response = await fetch(`${HUB_URL}${path}`, {
    headers: token ? { authorization: `Bearer ${token}` } : {},
    signal: AbortSignal.timeout(15_000),
  });
  const text = await response.text();
  if (!response.ok) throw new ExampleError(`GET ${path} answered HTTP ${response.status}: ${text.slice(0, 200)}`);
  return text;
}
