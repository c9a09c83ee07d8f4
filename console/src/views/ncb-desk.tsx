import type { QueryView } from '@ncp-hub/protocol';
import { useEffect, useState } from 'preact/hooks';
import {
  type DeskAlert,
  DeskAlertPlan,
  type DeskAlertWords,
  desktopPermission,
  requestDesktopPermission,
  showDeskAlert,
} from '../desk-alerts.js';
import type { Language, Translate } from '../i18n/index.js';
import {
  ANY,
  type BoardFilter,
  type BoardRow,
  boardRows,
  DEFAULT_FILTER,
  FORMAL_STATES,
  isDefaultFilter,
  NCB_STATES,
  STATUSES,
} from '../ncb-board.js';
import { GROUND_CHOICES } from '../queries.js';
import { describeError, type Session } from '../session.js';
import { Deadline, useNow } from './deadline.js';
import { Heading } from './heading.js';
import { QueryTracks } from './query.js';
import { type QueryItemProps, useQueryAction } from './query-action.js';
import { QueryFacts } from './query-facts.js';

/** One notification: the ground, the two agencies, the case, the decrypted statement, Acknowledge. */
function Notification({ t, language, session, query }: QueryItemProps) {
  const acknowledge = useQueryAction(
    t,
    () => session.queries.acknowledge(query.id),
    (reason) => t('ncb.ackFailed', { reason }),
  );
  const statement = session.queries.statements.get(query.id);
  const toAcknowledge = session.queries.mustAcknowledge(query);
  const headingId = `notification-${query.id}`;
  return (
    <li class="notification" data-query={query.id} aria-labelledby={headingId}>
      <h2 id={headingId}>{t('ncb.notification', { caseReference: query.caseReference })}</h2>
      <QueryFacts t={t} language={language} query={query} facts={['groundLegal', 'from', 'to', 'openedAt']} />
      <h3>{t('ncb.statement')}</h3>
      {statement === undefined ? (
        <p>{t('ncb.decrypting')}</p>
      ) : 'text' in statement ? (
        <blockquote class="statement">{statement.text}</blockquote>
      ) : (
        <p class="error">{t('ncb.undecryptable', { reason: statement.error })}</p>
      )}
      <QueryTracks t={t} language={language} query={query} />
      {toAcknowledge && (
        <button type="button" onClick={acknowledge.run} disabled={acknowledge.busy}>
          {t('ncb.acknowledge')}
        </button>
      )}
      {acknowledge.error && (
        <p role="alert" class="error">
          {acknowledge.error}
        </p>
      )}
    </li>
  );
}

/**
 * The desk's desktop notifications, one per session: it follows the session itself rather than
 * the view, so that a notification arriving while the desk looks at a query's page is raised too.
 */
class DeskNotifier {
  readonly #session: Session;
  readonly #plan: DeskAlertPlan;
  #words: (alert: DeskAlert) => DeskAlertWords = () => ({ lang: 'en', title: '', body: '' });

  constructor(session: Session) {
    this.#session = session;
    // What is known now is what was pending at sign-in (the session lists it before the first view).
    this.#plan = new DeskAlertPlan(session.queries);
    session.subscribe(() => this.check());
  }

  /** The words of the next notifications, in the language the desk shows now. */
  speak(t: Translate, language: Language): void {
    this.#words = (alert) =>
      alert.kind === 'summary'
        ? {
            lang: language,
            title: t('ncbBoard.desktop.summary'),
            body: t('ncbBoard.desktop.summaryBody', { count: alert.count }),
          }
        : {
            lang: language,
            title: t('ncbBoard.desktop.query', { caseReference: alert.query.caseReference }),
            body: t('ncbBoard.desktop.queryBody', { ground: t(`ground.${alert.query.ground}`) }),
          };
  }

  /** Raises what arrived since the last check, if the browser permits it. */
  check(): void {
    for (const alert of this.#plan.next(this.#session.queries, desktopPermission() === 'granted')) {
      try {
        showDeskAlert(alert, this.#words(alert));
      } catch {
        // A browser that offers the API but refuses page notifications (Chrome on Android wants a
        // service worker): the notification is in the page all the same, and the session's other
        // listeners (the re-render) must still run.
      }
    }
  }
}

const notifiers = new WeakMap<Session, DeskNotifier>();

/** The session's {@link DeskNotifier}, made on the desk's first view, speaking the desk's language. */
function useDeskNotifier(session: Session, t: Translate, language: Language): DeskNotifier {
  let notifier = notifiers.get(session);
  if (!notifier) {
    notifier = new DeskNotifier(session);
    notifiers.set(session, notifier);
  }
  notifier.speak(t, language);
  // Once shown: the summary of what was pending at sign-in, when already permitted.
  useEffect(() => notifier.check(), [notifier]);
  return notifier;
}

/** Desktop notifications: the button that asks the browser (from the click, as browsers require), or why not. */
function DesktopNotifications({ t, notifier }: { t: Translate; notifier: DeskNotifier }) {
  const [, setAnswered] = useState(0);
  const [error, setError] = useState<string | undefined>();
  const permission = desktopPermission();
  const enable = () => {
    setError(undefined);
    requestDesktopPermission().then(
      () => {
        setAnswered((n) => n + 1);
        // The summary of what was pending at sign-in, now that it may be shown.
        notifier.check();
      },
      (failure: unknown) => setError(t('ncbBoard.desktop.failed', { reason: describeError(failure) })),
    );
  };
  return (
    <div class="desktop-alerts" data-permission={permission}>
      {permission === 'default' && (
        <>
          <button type="button" class="secondary" onClick={enable}>
            {t('ncbBoard.desktop.enable')}
          </button>
          <p class="help">{t('ncbBoard.desktop.help')}</p>
        </>
      )}
      {permission === 'granted' && <p>{t('ncbBoard.desktop.on')}</p>}
      {permission === 'denied' && <p>{t('ncbBoard.desktop.denied')}</p>}
      {permission === 'unsupported' && <p>{t('ncbBoard.desktop.unsupported')}</p>}
      {error && (
        <p role="alert" class="error">
          {error}
        </p>
      )}
    </div>
  );
}

/** One filter of the board: a labelled choice of `values`, or any. */
function FilterChoice<V extends string>({
  t,
  name,
  label,
  value,
  values,
  word,
  onChange,
}: {
  t: Translate;
  name: string;
  label: string;
  value: V | typeof ANY;
  values: readonly V[];
  word: (value: V) => string;
  onChange: (value: V | typeof ANY) => void;
}) {
  // Labelled by `for`, not by wrapping: a wrapping label's name would take in the chosen option.
  const id = `board-filter-${name}`;
  return (
    <div class="board-filter">
      <label for={id}>{label}</label>
      <select
        id={id}
        name={name}
        value={value}
        onChange={(event) => onChange(event.currentTarget.value as V | typeof ANY)}
      >
        <option value={ANY}>{t('ncbBoard.filter.any')}</option>
        {values.map((v) => (
          <option key={v} value={v}>
            {word(v)}
          </option>
        ))}
      </select>
    </div>
  );
}

/** One query on the board: its case (the link to its page), its next deadline, its tracks. */
function BoardItem({ t, language, row, now }: { t: Translate; language: Language; row: BoardRow; now: number }) {
  const { query, next } = row;
  return (
    <li
      class={next?.overdue ? 'board-row overdue' : 'board-row'}
      data-query={query.id}
      data-ground={query.ground}
      data-status={query.status}
      data-ncb={query.ncb.state}
      data-formal={query.formalRequest.state}
    >
      <a href={`#/q/${query.id}`} class="board-case">
        {t('ncbBoard.case', { caseReference: query.caseReference })}
      </a>
      <p class="board-next" data-track={next?.track ?? 'none'} data-overdue={next?.overdue ? 'true' : 'false'}>
        {next?.overdue && (
          // Said in words, with an icon; the red bar only repeats it.
          <strong class="overdue-mark">
            <span aria-hidden="true">⚠ </span>
            {t('ncbBoard.overdue')}:{' '}
          </strong>
        )}
        {next ? (
          <>
            {t(`ncbBoard.next.${next.track}`)} <Deadline t={t} language={language} at={next.at} now={now} />
          </>
        ) : (
          t('ncbBoard.next.none')
        )}
      </p>
      <dl class="board-facts">
        <div>
          <dt>{t('query.ground')}</dt>
          <dd>{t(`ground.${query.ground}`)}</dd>
        </div>
        <div>
          <dt>{t('query.track.ncb', { agency: query.ncb.agency })}</dt>
          <dd>{t(`query.ncb.${query.ncb.state}`)}</dd>
        </div>
        <div>
          <dt>{t('query.track.formalRequest')}</dt>
          <dd>{t(`query.formal.${query.formalRequest.state}`)}</dd>
        </div>
        <div>
          <dt>{t('query.status')}</dt>
          <dd>{t(`query.status.${query.status}`)}</dd>
        </div>
      </dl>
    </li>
  );
}

/** The board of follow-ups: every query the desk sees, filtered, the next deadline first. */
function Board({ t, language, session }: { t: Translate; language: Language; session: Session }) {
  // The tick re-renders the countdowns; each render (a query changed, a filter) reads the clock afresh.
  useNow();
  const now = Date.now();
  const [filter, setFilter] = useState<BoardFilter>({ ...DEFAULT_FILTER });
  const all = [...session.queries.queries.values()];
  const rows = boardRows(all, filter, now);
  const choose =
    <K extends keyof BoardFilter>(key: K) =>
    (value: BoardFilter[K]) =>
      setFilter({ ...filter, [key]: value });
  return (
    <section aria-labelledby="board-title" class="board">
      <h2 id="board-title">{t('ncbBoard.title')}</h2>
      <p>{t('ncbBoard.intro')}</p>
      <fieldset class="board-filters">
        <legend>{t('ncbBoard.filters')}</legend>
        <FilterChoice
          t={t}
          name="status"
          label={t('ncbBoard.filter.status')}
          value={filter.status}
          values={STATUSES}
          word={(v) => t(`query.status.${v}`)}
          onChange={choose('status')}
        />
        <FilterChoice
          t={t}
          name="ground"
          label={t('ncbBoard.filter.ground')}
          value={filter.ground}
          values={GROUND_CHOICES}
          word={(v) => t(`ground.${v}`)}
          onChange={choose('ground')}
        />
        <FilterChoice
          t={t}
          name="ncb"
          label={t('ncbBoard.filter.ncb')}
          value={filter.ncb}
          values={NCB_STATES}
          word={(v) => t(`query.ncb.${v}`)}
          onChange={choose('ncb')}
        />
        <FilterChoice
          t={t}
          name="formal"
          label={t('ncbBoard.filter.formal')}
          value={filter.formal}
          values={FORMAL_STATES}
          word={(v) => t(`query.formal.${v}`)}
          onChange={choose('formal')}
        />
      </fieldset>
      {!isDefaultFilter(filter) && (
        <button type="button" class="secondary" onClick={() => setFilter({ ...DEFAULT_FILTER })}>
          {t('ncbBoard.filter.reset')}
        </button>
      )}
      <p role="status" aria-live="polite" data-shown={rows.length}>
        {t('ncbBoard.count', { count: rows.length, total: all.length })}
      </p>
      {rows.length === 0 ? (
        <p>{t('ncbBoard.empty')}</p>
      ) : (
        <ol class="board-rows">
          {rows.map((row) => (
            <BoardItem key={row.query.id} t={t} language={language} row={row} now={now} />
          ))}
        </ol>
      )}
    </section>
  );
}

/**
 * The NCB desk: the board of follow-ups, then the notifications arriving live (and those pending
 * since sign-in), each to acknowledge, each also raised as a desktop notification when permitted.
 */
export function NcbDesk({ t, language, session }: { t: Translate; language: Language; session: Session }) {
  const book = session.queries;
  const notifier = useDeskNotifier(session, t, language);
  const notified = book.notified.map((id) => book.queries.get(id)).filter((q): q is QueryView => q !== undefined);
  const pending = book.pending.length;
  const newestFirst = [...notified].reverse();
  const waiting = newestFirst.filter((query) => book.mustAcknowledge(query));
  const done = newestFirst.filter((query) => !book.mustAcknowledge(query));
  return (
    <section aria-labelledby="view-title" class="view">
      <Heading>{t('ncb.title')}</Heading>
      <p role="status" aria-live="polite" data-pending={pending}>
        {pending === 0 ? t('ncb.nonePending') : t('ncb.pending', { count: pending })}
      </p>
      <DesktopNotifications t={t} notifier={notifier} />
      {/* What waits for the desk first, newest on top; then the board; then what it acknowledged. */}
      {waiting.length > 0 && (
        <ul class="notifications">
          {waiting.map((query) => (
            <Notification key={query.id} t={t} language={language} session={session} query={query} />
          ))}
        </ul>
      )}
      <Board t={t} language={language} session={session} />
      {done.length > 0 && (
        <section aria-labelledby="acknowledged-title">
          <h2 id="acknowledged-title">{t('ncbBoard.acknowledgedNotifications')}</h2>
          <ul class="notifications">
            {done.map((query) => (
              <Notification key={query.id} t={t} language={language} session={session} query={query} />
            ))}
          </ul>
        </section>
      )}
    </section>
  );
}
