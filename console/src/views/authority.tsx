import type { QueryView } from '@ncp-hub/protocol';
import type { Language, Translate } from '../i18n/index.js';
import type { Session } from '../session.js';
import { absoluteTime } from './deadline.js';
import { Heading } from './heading.js';
import { instrumentText, QueryTracks } from './query.js';
import { type QueryItemProps, useQueryAction } from './query-action.js';
import { Fact, QueryFact, QueryFacts, who } from './query-facts.js';

/** One formal request: the query's case, ground and requester, the filing, and Confirm while it waits. */
function FormalRequest({ t, language, session, query }: QueryItemProps) {
  const confirm = useQueryAction(
    t,
    () => session.queries.confirm(query.id),
    (reason) => t('authority.confirmFailed', { reason }),
  );
  const filing = query.formalRequest.filing;
  if (!filing) return null;
  const waiting = query.status === 'OPEN' && query.formalRequest.state === 'FILED';
  const headingId = `request-${query.id}`;
  const { confirmedBy, confirmedAt } = query.formalRequest;
  return (
    <li class="notification" data-query={query.id} aria-labelledby={headingId}>
      <h3 id={headingId}>{t('authority.request', { reference: filing.reference })}</h3>
      <QueryFacts t={t} language={language} query={query}>
        <Fact label={t('authority.case')}>{query.caseReference}</Fact>
        <QueryFact t={t} language={language} query={query} name="ground" />
        <QueryFact t={t} language={language} query={query} name="requester" />
        <Fact label={t('authority.reference')}>{filing.reference}</Fact>
        <Fact label={t('authority.instrument')}>{instrumentText(t, filing.instrument)}</Fact>
        <Fact label={t('authority.date')}>{filing.date}</Fact>
        <Fact label={t('authority.filedAt')}>
          <time dateTime={new Date(filing.filedAt).toISOString()}>{absoluteTime(language, filing.filedAt)}</time>
        </Fact>
        <QueryFact t={t} language={language} query={query} name="status" />
      </QueryFacts>
      <QueryTracks t={t} language={language} query={query} />
      {confirmedBy && confirmedAt !== null && (
        <p>
          {t('authority.confirmedBy', {
            who: who(confirmedBy),
            at: absoluteTime(language, confirmedAt),
          })}
        </p>
      )}
      {waiting && (
        <button type="button" onClick={confirm.run} disabled={confirm.busy}>
          {confirm.busy ? t('authority.confirming') : t('authority.confirm')}
        </button>
      )}
      {confirm.error && (
        <p role="alert" class="error">
          {confirm.error}
        </p>
      )}
    </li>
  );
}

/**
 * The central authority's formal requests: those registered through its agency, the ones
 * waiting for confirmation first (oldest filing first), then those done.
 *
 * Live without polling: once a request is filed through an agency, the hub sends the query's
 * `updated` events (FILED, CONFIRMED, CLOSED, WITHDRAWN) to every connection of that agency's
 * `central-authority` users (PROTOCOL §6.6), and the QueryBook keeps the query each brings; the
 * hub's list at connection (and each reconnection) brings the rest.
 */
export function CentralAuthority({ t, language, session }: { t: Translate; language: Language; session: Session }) {
  const agency = session.identity.agency;
  const mine = [...session.queries.queries.values()].filter(
    (query) => query.formalRequest.filing?.centralAuthority === agency,
  );
  const filedAt = (query: QueryView) => query.formalRequest.filing?.filedAt ?? 0;
  const isWaiting = (query: QueryView) => query.status === 'OPEN' && query.formalRequest.state === 'FILED';
  const waiting = mine.filter(isWaiting).sort((a, b) => filedAt(a) - filedAt(b));
  const done = mine.filter((query) => !isWaiting(query)).sort((a, b) => filedAt(b) - filedAt(a));
  return (
    <section aria-labelledby="view-title" class="view">
      <Heading>{t('authority.title')}</Heading>
      <p class="hint">{t('authority.intro', { agency })}</p>
      <h2>{t('authority.waiting')}</h2>
      <p role="status" aria-live="polite" data-waiting={waiting.length}>
        {waiting.length === 0 ? t('authority.noneWaiting') : t('authority.waitingCount', { count: waiting.length })}
      </p>
      <ul class="notifications" data-list="waiting">
        {waiting.map((query) => (
          <FormalRequest key={query.id} t={t} language={language} session={session} query={query} />
        ))}
      </ul>
      <h2>{t('authority.done')}</h2>
      {done.length === 0 ? (
        <p>{t('authority.noneDone')}</p>
      ) : (
        <ul class="notifications" data-list="done">
          {done.map((query) => (
            <FormalRequest key={query.id} t={t} language={language} session={session} query={query} />
          ))}
        </ul>
      )}
    </section>
  );
}
