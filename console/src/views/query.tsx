import type { Instrument, QueryView, TimelineEntry } from '@ncp-hub/protocol';
import { useEffect, useRef, useState } from 'preact/hooks';
import type { DevIdentity } from '../dev-api.js';
import type { Language, MessageKey, Translate } from '../i18n/index.js';
import {
  awaitsFiling,
  canWithdraw,
  type FollowUpAlert,
  INSTRUMENT_CHOICES,
  type QueryBook,
  refusalKey,
} from '../queries.js';
import { describeError, type Session } from '../session.js';
import { absoluteTime, Deadline, useNow } from './deadline.js';
import { Heading } from './heading.js';
import { refusalText } from './query-action.js';
import { Fact, QueryFacts, who } from './query-facts.js';
import { useDevIdentities } from './sign-in.js';

/** The two tracks of a query: the NCB's acknowledgement and the formal request, with their deadlines. */
export function QueryTracks({ t, language, query }: { t: Translate; language: Language; query: QueryView }) {
  const now = useNow();
  const { ncb, formalRequest } = query;
  const ncbDone = ncb.state === 'ACKNOWLEDGED';
  const formalDone = formalRequest.state === 'CONFIRMED';
  return (
    <dl class="tracks">
      <div data-track="ncb" data-state={ncb.state} class={ncb.state === 'ACK_OVERDUE' ? 'overdue' : undefined}>
        <dt>{t('query.track.ncb', { agency: ncb.agency })}</dt>
        <dd>
          <span class="state">{t(`query.ncb.${ncb.state}`)}</span>
          {ncbDone && ncb.acknowledgedBy ? (
            <span> — {t('query.by', { who: who(ncb.acknowledgedBy) })}</span>
          ) : (
            <span>
              {' '}
              — {t('query.due')} <Deadline t={t} language={language} at={ncb.dueAt} now={now} />
            </span>
          )}
        </dd>
      </div>
      <div
        data-track="formal-request"
        data-state={formalRequest.state}
        class={formalRequest.state === 'OVERDUE' ? 'overdue' : undefined}
      >
        <dt>{t('query.track.formalRequest')}</dt>
        <dd>
          <span class="state">{t(`query.formal.${formalRequest.state}`)}</span>
          {!formalDone && (
            <span>
              {' '}
              — {t('query.due')} <Deadline t={t} language={language} at={formalRequest.deadline} now={now} />
            </span>
          )}
        </dd>
      </div>
    </dl>
  );
}

/** The words of an instrument, or the hub's value when it is not one the console knows. */
export function instrumentText(t: Translate, instrument: unknown): string {
  return (INSTRUMENT_CHOICES as readonly unknown[]).includes(instrument)
    ? t(`followUp.instrument.${instrument as Instrument}`)
    : String(instrument);
}

/** What a timeline entry says, in words of the catalogue (details from PROTOCOL §6.3). */
function entryText(t: Translate, language: Language, entry: TimelineEntry): string {
  const detail = entry.detail ?? {};
  const at = (value: unknown) => (typeof value === 'number' ? absoluteTime(language, value) : String(value ?? ''));
  switch (entry.event) {
    case 'NCB_NOTIFIED':
      return t(detail.channel === 'webhook' ? 'followUp.event.NCB_NOTIFIED.webhook' : 'followUp.event.NCB_NOTIFIED', {
        ncb: String(detail.ncb ?? ''),
      });
    case 'REMINDER':
      return t('followUp.event.REMINDER', { number: Number(detail.index ?? 0) + 1, deadline: at(detail.deadline) });
    case 'ESCALATED':
      if (detail.reason === 'ACK_OVERDUE') return t('followUp.event.ESCALATED.ACK_OVERDUE');
      if (detail.reason === 'WEBHOOK_FAILED')
        return t('followUp.event.ESCALATED.WEBHOOK_FAILED', { ncb: String(detail.ncb ?? '') });
      return t('followUp.event.ESCALATED.FORMAL_REQUEST_OVERDUE', { number: Number(detail.count ?? 0) + 1 });
    case 'FILED':
      return t('followUp.event.FILED', {
        reference: String(detail.reference ?? ''),
        instrument: instrumentText(t, detail.instrument),
        centralAuthority: String(detail.centralAuthority ?? ''),
      });
    case 'WITHDRAWN':
      return t('followUp.event.WITHDRAWN', { reason: String(detail.reason ?? '') });
    default:
      return t(`followUp.event.${entry.event}` as MessageKey);
  }
}

/** The query's timeline, oldest first; the overdue steps marked in words, not by colour alone. */
function Timeline({ t, language, entries }: { t: Translate; language: Language; entries: TimelineEntry[] }) {
  return (
    <ol class="timeline">
      {entries.map((entry) => {
        const overdue = entry.event === 'ACK_OVERDUE' || entry.event === 'OVERDUE';
        return (
          <li
            key={`${entry.at}-${entry.event}-${JSON.stringify(entry.detail ?? {})}`}
            data-event={entry.event}
            class={overdue || entry.event === 'ESCALATED' ? 'late' : undefined}
          >
            <time dateTime={new Date(entry.at).toISOString()}>{absoluteTime(language, entry.at)}</time>{' '}
            <span>
              {overdue && <strong class="mark">{t('followUp.timeline.overdue')}: </strong>}
              {entryText(t, language, entry)}
            </span>{' '}
            <span class="actor">
              {t('followUp.timeline.by', {
                who: entry.actor === 'hub' ? t('followUp.timeline.hub') : who(entry.actor),
              })}
            </span>
          </li>
        );
      })}
    </ol>
  );
}

/** A reminder or an escalation, as a sentence. */
export function alertText(t: Translate, language: Language, alert: FollowUpAlert, query: QueryView): string {
  if (alert.type === 'reminder') {
    const deadline = alert.entry?.detail?.deadline;
    return t('followUp.alert.reminder', {
      deadline: absoluteTime(language, typeof deadline === 'number' ? deadline : query.formalRequest.deadline),
    });
  }
  const since =
    alert.track === 'ncb'
      ? query.ncb.dueAt
      : alert.track === 'formal'
        ? query.formalRequest.deadline
        : (alert.entry?.at ?? query.openedAt);
  return t(`followUp.alert.escalation.${alert.track ?? 'formal'}`, { since: absoluteTime(language, since) });
}

/** Today as `YYYY-MM-DD`, in the officer's time zone (the filing's `date`). */
function today(): string {
  const now = new Date();
  const pad = (n: number) => String(n).padStart(2, '0');
  return `${now.getFullYear()}-${pad(now.getMonth() + 1)}-${pad(now.getDate())}`;
}

/**
 * The requester registers the formal request: its reference, instrument, the central authority
 * it went through (in development mode a choice of the development central authorities of the
 * officer's state) and the day it was sent.
 */
function FilingForm({ t, book, query }: { t: Translate; book: QueryBook; query: QueryView }) {
  const identities = useDevIdentities();
  const own = Array.isArray(identities) ? identities.find((x) => x.agency === query.requester.agency) : undefined;
  const authorities: DevIdentity[] | undefined =
    identities === 'loading'
      ? []
      : identities?.filter((x) => x.roles.includes('central-authority') && x.country === own?.country);
  const [reference, setReference] = useState('');
  const [instrument, setInstrument] = useState<Instrument | ''>('');
  const [centralAuthority, setCentralAuthority] = useState('');
  const [date, setDate] = useState(today);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | undefined>();

  const submit = async (event: Event) => {
    event.preventDefault();
    if (!instrument) return;
    setBusy(true);
    setError(undefined);
    try {
      await book.file(query.id, {
        reference: reference.trim(),
        instrument,
        centralAuthority: centralAuthority.trim(),
        date,
      });
    } catch (failure) {
      const code = failure && typeof failure === 'object' && 'code' in failure ? failure.code : undefined;
      const key = code === 'AGENCY_UNKNOWN' ? 'followUp.file.refused.AGENCY_UNKNOWN' : refusalKey(failure);
      setError(t('followUp.file.refused', { reason: key ? t(key) : describeError(failure) }));
    }
    setBusy(false);
  };

  return (
    <section aria-labelledby="filing-title" class="panel">
      <h2 id="filing-title">{t('followUp.file.title')}</h2>
      <p class="hint">{t('followUp.file.intro')}</p>
      <form class="stack" onSubmit={submit} data-form="filing">
        <label>
          {t('followUp.file.reference')}
          <input
            required
            maxLength={200}
            value={reference}
            onInput={(e) => setReference(e.currentTarget.value)}
            name="reference"
            autocomplete="off"
          />
        </label>
        <label>
          {t('followUp.file.instrument')}
          <select required value={instrument} onChange={(e) => setInstrument(e.currentTarget.value as Instrument)}>
            <option value="">{t('followUp.file.chooseInstrument')}</option>
            {INSTRUMENT_CHOICES.map((choice) => (
              <option key={choice} value={choice}>
                {t(`followUp.instrument.${choice}`)}
              </option>
            ))}
          </select>
        </label>
        {authorities !== undefined ? (
          <label>
            {t('followUp.file.centralAuthority')}
            <select required value={centralAuthority} onChange={(e) => setCentralAuthority(e.currentTarget.value)}>
              <option value="">{t('followUp.file.choose')}</option>
              {authorities.map((x) => (
                <option key={x.agency} value={x.agency}>
                  {x.agency} — {x.agencyName}
                </option>
              ))}
            </select>
          </label>
        ) : (
          <label>
            {t('followUp.file.centralAuthorityId')}
            <input
              required
              value={centralAuthority}
              onInput={(e) => setCentralAuthority(e.currentTarget.value)}
              name="centralAuthority"
              autocomplete="off"
            />
          </label>
        )}
        <label>
          {t('followUp.file.date')}
          <input type="date" required value={date} onInput={(e) => setDate(e.currentTarget.value)} name="date" />
        </label>
        <div class="actions">
          <button type="submit" disabled={busy}>
            {busy ? t('followUp.file.working') : t('followUp.file.submit')}
          </button>
        </div>
        {error && (
          <p role="alert" class="error">
            {error}
          </p>
        )}
      </form>
    </section>
  );
}

/**
 * The requester withdraws the query: a first button opens the confirmation step (the reason,
 * required, and what the withdrawal does). A step already open stays open when the query changes
 * (the counterpart answers meanwhile): the hub's refusal is then said in words.
 */
function WithdrawPanel({ t, book, query }: { t: Translate; book: QueryBook; query: QueryView }) {
  const [confirming, setConfirming] = useState(false);
  const [reason, setReason] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | undefined>();
  const reasonRef = useRef<HTMLTextAreaElement>(null);
  useEffect(() => {
    if (confirming) reasonRef.current?.focus();
  }, [confirming]);
  if (!canWithdraw(query) && !confirming && !error) return null;

  const withdraw = async (event: Event) => {
    event.preventDefault();
    const text = reason.trim();
    if (!text) {
      setError(t('followUp.withdraw.reasonRequired'));
      reasonRef.current?.focus();
      return;
    }
    setBusy(true);
    setError(undefined);
    try {
      await book.withdraw(query.id, text);
      setConfirming(false);
    } catch (failure) {
      let key = refusalKey(failure);
      if (key === 'query.refused.QUERY_TRANSITION_INVALID') {
        // Why the state no longer allows it: most often, the counterpart answered meanwhile.
        const now = await book.fetch(query.id).catch(() => query);
        if (now.answeredAt !== null) key = 'followUp.withdraw.refused.answered';
      }
      setError(t('followUp.withdraw.refused', { reason: key ? t(key) : describeError(failure) }));
      setConfirming(false);
    }
    setBusy(false);
  };

  return (
    <section aria-labelledby="withdraw-title" class="panel">
      <h2 id="withdraw-title">{t('followUp.withdraw.title')}</h2>
      <p class="hint">{t('followUp.withdraw.intro')}</p>
      {!confirming && canWithdraw(query) && (
        <button
          type="button"
          class="secondary"
          onClick={() => {
            setError(undefined);
            setConfirming(true);
          }}
        >
          {t('followUp.withdraw.start')}
        </button>
      )}
      {confirming && (
        <form class="stack" onSubmit={withdraw} data-form="withdraw">
          {/* Not `required`: an empty reason is refused here, in words of the catalogue. */}
          <label>
            {t('followUp.withdraw.reason')}
            <textarea
              ref={reasonRef}
              aria-required="true"
              rows={3}
              maxLength={200}
              value={reason}
              onInput={(e) => setReason(e.currentTarget.value)}
              name="reason"
            />
          </label>
          <p class="hint">{t('followUp.withdraw.confirmHelp')}</p>
          <div class="actions">
            <button type="submit" disabled={busy}>
              {busy ? t('followUp.withdraw.working') : t('followUp.withdraw.confirm')}
            </button>
            <button
              type="button"
              class="secondary"
              onClick={() => {
                setConfirming(false);
                setError(undefined);
              }}
            >
              {t('followUp.withdraw.cancel')}
            </button>
          </div>
        </form>
      )}
      {error && (
        <p role="alert" class="error">
          {error}
        </p>
      )}
    </section>
  );
}

/**
 * A query's follow-up, updated live by the SDK's `query` events: the facts, the two tracks, the
 * reminders and escalations standing, the timeline (fetched again on each event of the query),
 * and for the requester the formal request to register and the withdrawal.
 */
export function QueryFollowUp({
  t,
  language,
  session,
  id,
}: {
  t: Translate;
  language: Language;
  session: Session;
  id: string;
}) {
  const book = session.queries;
  const query = book.queries.get(id);
  const timeline = book.timelines.get(id);
  const [error, setError] = useState<string | undefined>();
  useEffect(() => {
    book.fetch(id).catch((failure) => setError(refusalText(t, failure)));
  }, [session, id]);
  const requester =
    query !== undefined &&
    query.requester.agency === session.identity.agency &&
    query.requester.officer === session.identity.officer;
  const alerts = query ? book.standing(query.id) : [];
  const filing = query?.formalRequest.filing;

  return (
    <section aria-labelledby="view-title" class="view">
      <p>
        <a href="#/">{t('conversation.back')}</a>
      </p>
      <Heading>{query ? t('query.title', { caseReference: query.caseReference }) : t('query.loading')}</Heading>
      {error && (
        <p role="alert" class="error">
          {error}
        </p>
      )}
      {query && (
        <>
          <QueryFacts t={t} language={language} query={query} facts={['status', 'ground', 'counterpart', 'requester']}>
            {query.answeredAt !== null && (
              <Fact label={t('followUp.facts.answered')} data-answered={query.answeredAt}>
                {absoluteTime(language, query.answeredAt)}
              </Fact>
            )}
            {filing && (
              <Fact label={t('followUp.facts.filing')} data-filing={filing.reference}>
                {t('followUp.facts.filingValue', {
                  reference: filing.reference,
                  instrument: instrumentText(t, filing.instrument),
                  centralAuthority: filing.centralAuthority,
                  date: filing.date,
                })}
              </Fact>
            )}
            {query.withdrawal && (
              <Fact label={t('followUp.facts.withdrawal')} data-withdrawal>
                {t('followUp.facts.withdrawalValue', {
                  reason: query.withdrawal.reason,
                  who: who(query.withdrawal.by),
                  at: absoluteTime(language, query.withdrawal.at),
                })}
              </Fact>
            )}
          </QueryFacts>
          <h2>{t('query.tracks')}</h2>
          <div role="status" aria-live="polite">
            <QueryTracks t={t} language={language} query={query} />
          </div>
          {/* Always in the page, so that an alert arriving live is announced. */}
          <div role="status" aria-live="polite" class="alerts" data-alerts={alerts.length}>
            {alerts.length > 0 && (
              <>
                <h2>{t('followUp.alerts')}</h2>
                <ul>
                  {alerts.map((alert) => (
                    <li key={alert.id} data-alert={alert.type} data-track={alert.track}>
                      <strong class="mark">⚠</strong> {alertText(t, language, alert, query)}
                    </li>
                  ))}
                </ul>
              </>
            )}
          </div>
          {requester && awaitsFiling(query) && <FilingForm t={t} book={book} query={query} />}
          {requester && <WithdrawPanel t={t} book={book} query={query} />}
          <h2>{t('followUp.timeline')}</h2>
          {timeline ? (
            <Timeline t={t} language={language} entries={timeline} />
          ) : (
            <p>{t('followUp.timeline.loading')}</p>
          )}
          <p>
            <a href={`#/c/${query.conversation}`}>{t('query.openConversation')}</a>
          </p>
        </>
      )}
    </section>
  );
}
