import {
  AUDIT_EVENT_TYPES,
  AuditClient,
  type AuditEntry,
  type AuditEntryFilter,
  type AuditVerification,
  verifyAuditExport,
} from '@ncp-hub/client-sdk/audit';
import { GROUNDS, type Ground } from '@ncp-hub/protocol';
import { useEffect, useMemo, useRef, useState } from 'preact/hooks';
import type { Language, Translate } from '../i18n/index.js';
import { describeError, type Session } from '../session.js';
import { Deadline, useNow } from './deadline.js';
import { Heading } from './heading.js';

/** Entries asked of the hub per page. */
const PAGE_SIZE = 100;

/** What the filter form holds: text as typed, dates as `YYYY-MM-DD` in the auditor's time zone. */
interface FilterForm {
  query: string;
  officer: string;
  from: string;
  to: string;
}
const NO_FILTER: FilterForm = { query: '', officer: '', from: '', to: '' };

/** Local midnight of a `YYYY-MM-DD` date (the start of that day where the auditor is), in ms. */
function startOfDay(date: string): number | undefined {
  const [year, month, day] = date.split('-').map(Number);
  if (!year || !month || !day) return undefined;
  return new Date(year, month - 1, day).getTime();
}

/** The hub's filter for the form: the `to` date includes its whole day. */
function hubFilter(form: FilterForm): AuditEntryFilter {
  const from = startOfDay(form.from);
  const toDay = startOfDay(form.to);
  return {
    ...(form.query.trim() ? { query: form.query.trim() } : {}),
    ...(form.officer.trim() ? { officer: form.officer.trim() } : {}),
    ...(from === undefined ? {} : { from }),
    ...(toDay === undefined ? {} : { to: new Date(toDay).setDate(new Date(toDay).getDate() + 1) - 1 }),
  };
}

/** Entries loaded so far for one filter, and where the next page starts (`null`: the end). */
interface Listing {
  entries: AuditEntry[];
  next: number | null;
}

/** One entry as a row: seq, time, type, actor, ids, ground and case. */
function EntryRow({ t, language, now, entry }: { t: Translate; language: Language; now: number; entry: AuditEntry }) {
  const ground = entry.data.ground;
  const caseReference = entry.data.caseReference;
  return (
    <tr data-seq={entry.seq} data-type={entry.type}>
      <td>{entry.seq}</td>
      <td>
        <Deadline t={t} language={language} at={entry.at} now={now} />
      </td>
      <td>
        <code>{entry.type}</code>
      </td>
      <td>
        {entry.actor === 'hub'
          ? t('auditor.actor.hub')
          : `${entry.actor.officer} (${entry.actor.agency}${entry.actor.device ? `, ${entry.actor.device}` : ''})`}
      </td>
      <td class="audit-ids">
        {entry.query && <span>{t('auditor.query', { id: entry.query })}</span>}
        {entry.conversation && <span>{t('auditor.conversation', { id: entry.conversation })}</span>}
      </td>
      <td>
        {typeof ground === 'string' && (GROUNDS as readonly string[]).includes(ground) && (
          <span data-ground={ground}>{t(`ground.${ground as Ground}`)}</span>
        )}
        {typeof caseReference === 'string' && <span>{t('auditor.case', { caseReference })}</span>}
      </td>
    </tr>
  );
}

/** What a verification said, of which export. */
interface Verdict {
  source: string;
  result: AuditVerification;
}

/** The verifier's answer in words: the counts, or the first bad line and its problem. */
function VerdictText({ t, verdict }: { t: Translate; verdict: Verdict }) {
  const { result } = verdict;
  if (result.ok) {
    return (
      <div class="audit-verdict ok" data-ok="true">
        <p>{verdict.source}</p>
        <p class="audit-verdict-line">
          <span aria-hidden="true">✓ </span>
          {t('auditor.verify.ok', {
            entries: result.entries,
            redacted: result.redacted,
            checkpoints: result.checkpoints,
          })}
        </p>
        <p>
          {result.head
            ? t('auditor.verify.head', { seq: result.head.seq, hash: result.head.hash })
            : t('auditor.verify.empty')}
        </p>
      </div>
    );
  }
  const problem = t(`auditor.problem.${result.problem}`);
  return (
    <div class="audit-verdict bad" data-ok="false" data-problem={result.problem} data-line={result.line}>
      <p>{verdict.source}</p>
      <p class="audit-verdict-line">
        <span aria-hidden="true">✗ </span>
        {result.seq === undefined
          ? t('auditor.verify.bad', { line: result.line, problem })
          : t('auditor.verify.badEntry', { line: result.line, seq: result.seq, problem })}
      </p>
      <p class="hint">{t('auditor.verify.detail', { message: result.message })}</p>
    </div>
  );
}

/** The export as a file: a Blob URL on an `<a download>` (revoked when replaced or left). */
function useExportFile(): [{ url: string; lines: number } | undefined, (text: string | undefined) => void] {
  const [file, setFile] = useState<{ url: string; lines: number } | undefined>();
  const current = useRef<string | undefined>(undefined);
  useEffect(() => () => current.current && URL.revokeObjectURL(current.current), []);
  const set = (text: string | undefined) => {
    if (current.current) URL.revokeObjectURL(current.current);
    current.current = undefined;
    if (text === undefined) return setFile(undefined);
    const url = URL.createObjectURL(new Blob([text], { type: 'application/x-ndjson' }));
    current.current = url;
    setFile({ url, lines: text.split('\n').filter((line) => line.trim() !== '').length });
  };
  return [file, set];
}

/**
 * The auditor's view: the audit entries that involve their agency, filtered (query, officer,
 * dates at the hub; type among the loaded entries) and paged; the export as a file; and its
 * verification in this browser against the hub's keys, with the same verifier as
 * `ncp-keys audit verify`, of the hub's export or of a file the auditor chooses.
 */
export function Auditor({ t, language, session }: { t: Translate; language: Language; session: Session }) {
  const audit = useMemo(() => new AuditClient({ url: location.origin, token: session.token }), [session]);
  const agency = session.identity.agency;
  const now = useNow();
  const [form, setForm] = useState<FilterForm>(NO_FILTER);
  const [applied, setApplied] = useState<AuditEntryFilter>({});
  const [type, setType] = useState('');
  const [listing, setListing] = useState<Listing | undefined>();
  const [loading, setLoading] = useState(false);
  const [loadError, setLoadError] = useState<string | undefined>();
  const [exportFile, setExportFile] = useExportFile();
  const [exporting, setExporting] = useState(false);
  const [verifying, setVerifying] = useState(false);
  const [verdict, setVerdict] = useState<Verdict | undefined>();
  const [actionError, setActionError] = useState<string | undefined>();
  // A page asked for an older filter must not land in the newer listing.
  const generation = useRef(0);

  const load = async (filter: AuditEntryFilter, after: number, previous: AuditEntry[]) => {
    const mine = ++generation.current;
    setLoading(true);
    setLoadError(undefined);
    try {
      const page = await audit.entries({ ...filter, after, limit: PAGE_SIZE });
      if (mine === generation.current) setListing({ entries: [...previous, ...page.entries], next: page.next });
    } catch (error) {
      if (mine === generation.current) setLoadError(t('auditor.loadFailed', { reason: describeError(error) }));
    }
    if (mine === generation.current) setLoading(false);
  };

  // The first page, once per client.
  useEffect(() => {
    load({}, 0, []);
  }, [audit]);

  const apply = (event: Event) => {
    event.preventDefault();
    const filter = hubFilter(form);
    setApplied(filter);
    setListing(undefined);
    load(filter, 0, []);
  };
  const clear = () => {
    setForm(NO_FILTER);
    setType('');
    setApplied({});
    setListing(undefined);
    load({}, 0, []);
  };

  const runVerification = async (source: string, text: Promise<string>) => {
    setVerifying(true);
    setActionError(undefined);
    setVerdict(undefined);
    try {
      const [exported, keys] = await Promise.all([text, audit.hubKeys()]);
      setVerdict({ source, result: await verifyAuditExport(exported, keys) });
    } catch (error) {
      setActionError(t('auditor.verify.failed', { reason: describeError(error) }));
    }
    setVerifying(false);
  };

  const exportNow = async () => {
    setExporting(true);
    setActionError(undefined);
    setExportFile(undefined);
    try {
      setExportFile(await audit.export());
    } catch (error) {
      setActionError(t('auditor.export.failed', { reason: describeError(error) }));
    }
    setExporting(false);
  };

  const chooseFile = (event: Event) => {
    const input = event.currentTarget as HTMLInputElement;
    const file = input.files?.[0];
    if (!file) return;
    runVerification(t('auditor.verify.ofFile', { file: file.name }), file.text());
    // The same file chosen again (edited meanwhile) is verified again.
    input.value = '';
  };

  const entries = listing?.entries ?? [];
  const shown = type ? entries.filter((entry) => entry.type === type) : entries;
  const fileName = `ncp-hub-audit-${agency}.jsonl`;
  const field = (name: keyof FilterForm) => ({
    name,
    value: form[name],
    onInput: (e: Event) => setForm({ ...form, [name]: (e.currentTarget as HTMLInputElement).value }),
  });

  return (
    <section aria-labelledby="view-title" class="view">
      <Heading>{t('auditor.title')}</Heading>
      <p class="hint">{t('auditor.intro', { agency })}</p>

      <section aria-labelledby="audit-export-title" class="audit-export">
        <h2 id="audit-export-title">{t('auditor.export.title')}</h2>
        <p class="hint">{t('auditor.export.intro', { agency })}</p>
        <div class="actions">
          <button type="button" onClick={exportNow} disabled={exporting}>
            {exporting ? t('auditor.export.working') : t('auditor.export')}
          </button>
          <button
            type="button"
            class="secondary"
            onClick={() => runVerification(t('auditor.verify.ofHub'), audit.export())}
            disabled={verifying}
          >
            {verifying ? t('auditor.verify.working') : t('auditor.verify')}
          </button>
        </div>
        {exportFile && (
          <p>
            {t('auditor.export.ready', { lines: exportFile.lines })}{' '}
            <a href={exportFile.url} download={fileName} data-export="file">
              {t('auditor.export.download', { file: fileName })}
            </a>
          </p>
        )}
        <label>
          {t('auditor.verify.file')}
          <input type="file" accept=".jsonl,.ndjson,.txt,application/x-ndjson,text/plain" onChange={chooseFile} />
        </label>
        <div role="status" aria-live="polite" class="audit-verdict-region">
          {verifying && <p>{t('auditor.verify.working')}</p>}
          {verdict && <VerdictText t={t} verdict={verdict} />}
          {verdict && <p class="hint">{t('auditor.verify.keys')}</p>}
        </div>
        {actionError && (
          <p role="alert" class="error">
            {actionError}
          </p>
        )}
      </section>

      <section aria-labelledby="audit-entries-title">
        <h2 id="audit-entries-title">{t('auditor.entries')}</h2>
        <form class="audit-filters" onSubmit={apply}>
          <fieldset>
            <legend>{t('auditor.filters')}</legend>
            <label>
              {t('auditor.filter.query')}
              <input {...field('query')} maxLength={64} autoComplete="off" />
            </label>
            <label>
              {t('auditor.filter.officer')}
              <input {...field('officer')} maxLength={128} autoComplete="off" />
            </label>
            <label>
              {t('auditor.filter.from')}
              <input type="date" {...field('from')} />
            </label>
            <label>
              {t('auditor.filter.to')}
              <input type="date" {...field('to')} />
            </label>
            <label>
              {t('auditor.filter.type')}
              <select name="type" value={type} onChange={(e) => setType(e.currentTarget.value)}>
                <option value="">{t('auditor.filter.anyType')}</option>
                {AUDIT_EVENT_TYPES.map((choice) => (
                  <option key={choice} value={choice}>
                    {choice}
                  </option>
                ))}
              </select>
            </label>
            <div class="actions">
              <button type="submit" disabled={loading}>
                {t('auditor.filter.apply')}
              </button>
              <button type="button" class="secondary" onClick={clear}>
                {t('auditor.filter.clear')}
              </button>
            </div>
          </fieldset>
        </form>

        <p role="status" aria-live="polite" data-loaded={entries.length} data-shown={shown.length}>
          {loading
            ? t('auditor.loading')
            : listing && (
                <>
                  {shown.length === 0
                    ? t('auditor.none')
                    : t('auditor.shown', { shown: shown.length, loaded: entries.length })}{' '}
                  {listing.next === null ? t('auditor.end') : t('auditor.more')}
                </>
              )}
        </p>
        {loadError && (
          <p role="alert" class="error">
            {loadError}
          </p>
        )}
        {shown.length > 0 && (
          // Wide on a phone: the table scrolls sideways, and can be scrolled from the keyboard.
          // biome-ignore lint/a11y/noNoninteractiveTabindex: a scrollable region must take the focus to scroll by keys.
          <section class="audit-table" aria-labelledby="audit-table-caption" tabIndex={0}>
            <table>
              <caption id="audit-table-caption">{t('auditor.table')}</caption>
              <thead>
                <tr>
                  <th scope="col">{t('auditor.col.seq')}</th>
                  <th scope="col">{t('auditor.col.time')}</th>
                  <th scope="col">{t('auditor.col.type')}</th>
                  <th scope="col">{t('auditor.col.actor')}</th>
                  <th scope="col">{t('auditor.col.ids')}</th>
                  <th scope="col">{t('auditor.col.ground')}</th>
                </tr>
              </thead>
              <tbody>
                {shown.map((entry) => (
                  <EntryRow key={entry.seq} t={t} language={language} now={now} entry={entry} />
                ))}
              </tbody>
            </table>
          </section>
        )}
        {listing && listing.next !== null && (
          <button
            type="button"
            class="secondary"
            disabled={loading}
            onClick={() => load(applied, listing.next ?? 0, listing.entries)}
          >
            {t('auditor.loadMore')}
          </button>
        )}
      </section>
    </section>
  );
}
